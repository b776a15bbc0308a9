// ONNX graphs for the fused kernels: GELU and layer normalization, forward
// and backward, each one native call. tfjs builds GELU from five ops and
// layer normalization from nine, and their gradients add a dozen more; every
// one of them streams the whole activation through memory and costs tfjs's
// per-op bookkeeping. One graph runs them on onnxruntime's threads without
// coming back to JavaScript. Shapes are symbolic, so one session serves every
// size; the math is the one the tfjs ops compute (tests hold them together).
import { attr, DataType, encodeModel, type NodeDef, type TensorDef, type ValueInfoDef } from "../../export/onnx/onnx_messages";

/** Nodes and constants of one graph, each intermediate named by the builder. */
class Graph {
  readonly nodes: NodeDef[] = [];
  readonly constants: TensorDef[] = [];
  private count = 0;

  op(opType: string, inputs: string[], attributes: NodeDef["attributes"] = {}, output = `t${this.count++}`, domain?: string): string {
    this.nodes.push({ opType, domain, name: output, inputs, outputs: [output], attributes });
    return output;
  }

  float(value: number): string {
    const name = `c${this.constants.length}`;
    this.constants.push({ name, dataType: DataType.FLOAT, dims: [], raw: new Uint8Array(new Float32Array([value]).buffer) });
    return name;
  }

  int64s(values: number[]): string {
    const name = `c${this.constants.length}`;
    this.constants.push({ name, dataType: DataType.INT64, dims: [values.length], raw: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) });
    return name;
  }

  encode(name: string, inputs: ValueInfoDef[], outputs: ValueInfoDef[]): Uint8Array {
    const contrib = this.nodes.some((n) => n.domain === "com.microsoft");
    return encodeModel({
      irVersion: 8,
      opsetVersion: 17,
      producerName: "tscolab-native-kernels",
      producerVersion: "1",
      graphName: name,
      nodes: this.nodes,
      initializers: this.constants,
      inputs,
      outputs,
      metadata: {},
      extraOpsets: contrib ? { "com.microsoft": 1 } : undefined,
    });
  }
}

const f32 = (name: string, shape: (string | number)[]): ValueInfoDef => ({ name, elemType: DataType.FLOAT, shape });

/** Y = x·Φ(x) = x·(1 + erf(x/√2))/2, onnxruntime's one-pass Gelu. */
export function geluModel(): Uint8Array {
  const g = new Graph();
  g.op("Gelu", ["X"], {}, "Y", "com.microsoft");
  return g.encode("gelu", [f32("X", ["n"])], [f32("Y", ["n"])]);
}

/** DX = DY·(Φ(x) + x·φ(x)): GELU's derivative, with φ(x) = exp(-x²/2)/√(2π). */
export function geluGradModel(): Uint8Array {
  const g = new Graph();
  const half = g.float(0.5);
  const cdf = g.op("Add", [g.op("Mul", [g.op("Erf", [g.op("Mul", ["X", g.float(Math.SQRT1_2)])]), half]), half]);
  const density = g.op("Mul", [g.op("Exp", [g.op("Mul", [g.op("Mul", ["X", "X"]), g.float(-0.5)])]), g.float(1 / Math.sqrt(2 * Math.PI))]);
  g.op("Mul", ["DY", g.op("Add", [cdf, g.op("Mul", ["X", density])])], {}, "DX");
  return g.encode("gelu_grad", [f32("DY", ["n"]), f32("X", ["n"])], [f32("DX", ["n"])]);
}

/** Y = (x - mean)/√(var + ε)·γ + β over the last axis of X [rows, d]. */
export function layerNormModel(epsilon: number): Uint8Array {
  const g = new Graph();
  g.op("LayerNormalization", ["X", "G", "B"], { axis: attr.int(-1), epsilon: attr.float(epsilon) }, "Y");
  return g.encode("layer_norm", [f32("X", ["rows", "d"]), f32("G", ["d"]), f32("B", ["d"])], [f32("Y", ["rows", "d"])]);
}

/**
 * The three gradients of layer normalization from DY, X and γ (the statistics
 * are recomputed from X instead of kept from the forward pass):
 *   x̂ = (x - mean)·r, r = 1/√(var + ε), g = DY·γ
 *   DX = r·(g - mean(g) - x̂·mean(g·x̂)),  DG = Σrows DY·x̂,  DB = Σrows DY
 * x̂ and r come from LayerNormalization itself (γ = 1, β = 0), which sums each
 * row in order. The row means below read only tensors onnxruntime allocated:
 * its vectorised row sums split a row where the data is aligned, so on a
 * graph input (anywhere on the wasm heap) the rounding would follow the
 * address and a resumed run would not match an uninterrupted one.
 */
export function layerNormGradModel(epsilon: number): Uint8Array {
  const g = new Graph();
  const lastAxis = { axes: attr.ints([-1]), keepdims: attr.int(1) };
  // β = 0 and γ = 1 shaped like γ (Mul by 0, then Add 1: neither is an identity the optimizer removes).
  const zeros = g.op("Mul", ["G", g.float(0)]);
  const ones = g.op("Add", [zeros, g.float(1)]);
  g.nodes.push({
    opType: "LayerNormalization",
    name: "normalize",
    inputs: ["X", ones, zeros],
    outputs: ["xhat", "", "r"],
    attributes: { axis: attr.int(-1), epsilon: attr.float(epsilon) },
  });
  const scaled = g.op("Mul", ["DY", "G"]);
  const meanScaled = g.op("ReduceMean", [scaled], lastAxis);
  const meanScaledXhat = g.op("ReduceMean", [g.op("Mul", [scaled, "xhat"])], lastAxis);
  g.op("Mul", ["r", g.op("Sub", [g.op("Sub", [scaled, meanScaled]), g.op("Mul", ["xhat", meanScaledXhat])])], {}, "DX");
  // Sums over rows add whole rows elementwise, in row order: no alignment enters.
  const rows = g.int64s([0]);
  g.op("ReduceSum", [g.op("Mul", ["DY", "xhat"]), rows], { keepdims: attr.int(0) }, "DG");
  g.op("ReduceSum", ["DY", rows], { keepdims: attr.int(0) }, "DB");
  return g.encode("layer_norm_grad", [f32("DY", ["rows", "d"]), f32("X", ["rows", "d"]), f32("G", ["d"])], [f32("DX", ["rows", "d"]), f32("DG", ["d"]), f32("DB", ["d"])]);
}
