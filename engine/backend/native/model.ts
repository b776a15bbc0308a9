// The one way the native kernels encode their ONNX models: opset 17 or newer (plus
// onnxruntime's com.microsoft ops when a node uses them), float32 values
// with symbolic dimensions so one session serves every size.
import { DataType, encodeModel, type NodeDef, type TensorDef, type ValueInfoDef } from "../../export/onnx/onnx_messages";

/** A float32 graph input or output; strings are symbolic dimensions. */
export const f32 = (name: string, shape: (string | number)[]): ValueInfoDef => ({ name, elemType: DataType.FLOAT, shape });

/** A float32 scalar constant. */
export const floatScalar = (name: string, value: number): TensorDef => ({ name, dataType: DataType.FLOAT, dims: [], raw: new Uint8Array(new Float32Array([value]).buffer) });

/** `opset` is 17 unless a graph needs a newer op (Col2Im: 18). */
export function nativeModel(graphName: string, g: { nodes: NodeDef[]; inputs: ValueInfoDef[]; outputs: ValueInfoDef[]; initializers?: TensorDef[] }, opset = 17): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetVersion: opset,
    producerName: "tscolab-native-kernels",
    producerVersion: "1",
    graphName,
    nodes: g.nodes,
    initializers: g.initializers ?? [],
    inputs: g.inputs,
    outputs: g.outputs,
    metadata: {},
    extraOpsets: g.nodes.some((n) => n.domain === "com.microsoft") ? { "com.microsoft": 1 } : undefined,
  });
}
