// The graph of a Dense layer's backward pass for the weights: one call gives
// the kernel's and the bias's gradients (and, after a ReLU, the gradient of
// the product, which the input's gradient starts from), where tfjs runs a
// ReLU gradient, two products' worth of bookkeeping and a column sum.
// The forward pass is matmul_models.ts' Gemm with bias and activation.
import { attr } from "../../export/onnx/onnx_messages";
import { Graph } from "./graph";
import { f32 } from "./model";

/** The activations a Dense layer's fused kernels take: the ones whose gradient reads the layer's output alone. */
export const DENSE_ACTIVATIONS = ["linear", "relu"] as const;
export type DenseActivation = (typeof DENSE_ACTIVATIONS)[number];

export interface DenseVariant {
  activation: DenseActivation;
  bias: boolean;
}

export const denseGradKey = (v: DenseVariant): string => `dense-grad:${v.activation}:${v.bias ? "bias" : "nobias"}`;

/**
 * From DY [rows, out], X [rows, in] (and Y [rows, out] after a ReLU):
 *   DZ = DY where Y > 0, else 0 (ReLU; a linear layer's DZ is DY itself)
 *   DW = Xᵀ·DZ [in, out],  DB = Σrows DZ [out]
 * The column sum adds whole rows in row order, so where the operands sit on
 * the heap changes no bit (tested).
 */
export function denseGradModel(v: DenseVariant): Uint8Array {
  const g = new Graph();
  const relu = v.activation === "relu";
  const dz = relu ? g.op("Where", [g.op("Greater", ["Y", g.float(0)]), "DY", g.float(0)], {}, "DZ") : "DY";
  g.op("Gemm", ["X", dz], { transA: attr.int(1) }, "DW");
  if (v.bias) g.op("ReduceSum", [dz, g.int64s([0])], { keepdims: attr.int(0) }, "DB");
  const inputs = [f32("DY", ["rows", "out"]), f32("X", ["rows", "in"]), ...(relu ? [f32("Y", ["rows", "out"])] : [])];
  const outputs = [f32("DW", ["in", "out"]), ...(v.bias ? [f32("DB", ["out"])] : []), ...(relu ? [f32("DZ", ["rows", "out"])] : [])];
  return g.encode(denseGradKey(v), inputs, outputs);
}
