// ONNX graphs for the fused kernels: GELU, layer normalization and
// multi-head self-attention, forward and backward, each one native call. tfjs builds GELU from five ops and
// layer normalization from nine, and their gradients add a dozen more; every
// one of them streams the whole activation through memory and costs tfjs's
// per-op bookkeeping. One graph runs them on onnxruntime's threads without
// coming back to JavaScript. Shapes are symbolic, so one session serves every
// size; the math is the one the tfjs ops compute (tests hold them together).
import { attr, type ValueInfoDef } from "../../export/onnx/onnx_messages";
import { Graph } from "./graph";
import { f32 } from "./model";

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

/** Shape of multi-head self-attention over a packed [q | k | v] input [batch, T, 3·heads·headSize]. */
export interface AttentionShape {
  heads: number;
  headSize: number;
  /** Position i attends to positions ≤ i: the graph takes the additive mask [T, T] as input MASK. */
  causal: boolean;
}

/** q, k, v [batch, heads, T, headSize] and the attention weights P = softmax(q·kᵀ/√headSize + mask) from QKV. */
function attentionWeights(g: Graph, s: AttentionShape): { q: string; k: string; v: string; p: string } {
  // QKV comes in as [b, T, 3, h, dh] (the packed [b, T, 3·h·dh] bytes seen 5-D: a Reshape node would
  // copy a graph input) → [3, b, h, T, dh]: one transpose, then q, k, v are slices of the first axis.
  const parts = g.op("Transpose", ["QKV"], { perm: attr.ints([2, 0, 3, 1, 4]) });
  const [q, k, v] = [0, 1, 2].map((i) => g.op("Gather", [parts, g.int64s([i], [])], { axis: attr.int(0) }));
  const scores = g.op("FusedMatMul", [q, k], { transA: attr.int(0), transB: attr.int(1), alpha: attr.float(1 / Math.sqrt(s.headSize)) }, undefined, "com.microsoft");
  const p = g.op("Softmax", [s.causal ? g.op("Add", [scores, "MASK"]) : scores], { axis: attr.int(-1) });
  return { q, k, v, p };
}

const attentionInputs = (s: AttentionShape, first: ValueInfoDef[]): ValueInfoDef[] => [...first, ...(s.causal ? [f32("MASK", ["t", "t"])] : [])];
/** The packed input [b, T, 3·h·dh] and its gradient, seen 5-D. */
const packedQkv = (name: string, s: AttentionShape) => f32(name, ["b", "t", 3, s.heads, s.headSize]);
/** The output [b, T, h·dh] and its gradient, seen 4-D: the last transpose writes them directly. */
const perHead = (name: string, s: AttentionShape) => f32(name, ["b", "t", s.heads, s.headSize]);

/** O [batch, T, heads·headSize] = P·v with the heads side by side again. */
export function attentionModel(s: AttentionShape): Uint8Array {
  const g = new Graph();
  const { v, p } = attentionWeights(g, s);
  const heads = g.op("MatMul", [p, v]);
  g.op("Transpose", [heads], { perm: attr.ints([0, 2, 1, 3]) }, "O");
  return g.encode("attention", attentionInputs(s, [packedQkv("QKV", s)]), [perHead("O", s)]);
}

/**
 * dQKV from DO [batch, T, heads·headSize] and QKV (P is recomputed):
 *   dV = Pᵀ·dO, dP = dO·vᵀ, dS = P·(dP - Σrow dP·P), dQ = dS·k/√dh, dK = dSᵀ·q/√dh.
 */
export function attentionGradModel(s: AttentionShape): Uint8Array {
  const g = new Graph();
  const { q, k, v, p } = attentionWeights(g, s);
  const scale = attr.float(1 / Math.sqrt(s.headSize));
  const mm = (a: string, b: string, transA: number, transB: number, alpha = attr.float(1)) =>
    g.op("FusedMatMul", [a, b], { transA: attr.int(transA), transB: attr.int(transB), alpha }, undefined, "com.microsoft");
  const dOut = g.op("Transpose", ["DO"], { perm: attr.ints([0, 2, 1, 3]) });
  const dV = mm(p, dOut, 1, 0);
  const dP = mm(dOut, v, 0, 1);
  const rowDot = g.op("ReduceSum", [g.op("Mul", [dP, p]), g.int64s([-1])], { keepdims: attr.int(1) });
  const dS = g.op("Mul", [p, g.op("Sub", [dP, rowDot])]);
  const dQ = mm(dS, k, 0, 0, scale);
  const dK = mm(dS, q, 1, 0, scale);
  const stacked = g.op(
    "Concat",
    [dQ, dK, dV].map((t) => g.op("Unsqueeze", [t, g.int64s([0])])),
    { axis: attr.int(0) },
  );
  g.op("Transpose", [stacked], { perm: attr.ints([1, 3, 0, 2, 4]) }, "DQKV");
  return g.encode("attention_grad", attentionInputs(s, [perHead("DO", s), packedQkv("QKV", s)]), [packedQkv("DQKV", s)]);
}
