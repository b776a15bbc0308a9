// A small builder for the native kernels' multi-node graphs: nodes named as
// they are added, constants kept beside them, encoded by nativeModel.
import { DataType, type NodeDef, type TensorDef, type ValueInfoDef } from "../../export/onnx/onnx_messages";
import { floatScalar, nativeModel } from "./model";

/** Nodes and constants of one graph, each intermediate named by the builder. */
export class Graph {
  readonly nodes: NodeDef[] = [];
  readonly constants: TensorDef[] = [];
  private count = 0;

  op(opType: string, inputs: string[], attributes: NodeDef["attributes"] = {}, output = `t${this.count++}`, domain?: string): string {
    this.nodes.push({ opType, domain, name: output, inputs, outputs: [output], attributes });
    return output;
  }

  private constant(make: (name: string) => TensorDef): string {
    const name = `c${this.constants.length}`;
    this.constants.push(make(name));
    return name;
  }

  float(value: number): string {
    return this.constant((name) => floatScalar(name, value));
  }

  /** An int64 constant: a vector by default, a scalar with dims []. */
  int64s(values: number[], dims = [values.length]): string {
    return this.constant((name) => ({ name, dataType: DataType.INT64, dims, raw: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) }));
  }

  encode(name: string, inputs: ValueInfoDef[], outputs: ValueInfoDef[], opset?: number): Uint8Array {
    return nativeModel(name, { nodes: this.nodes, initializers: this.constants, inputs, outputs }, opset);
  }
}
