// The graph of a Dense layer's backward pass: one call gives the kernel's
// and the bias's gradients and, when the layer's input needs one, the
// input's, where tfjs runs a ReLU gradient, two or three products and a
// column sum, each crossing into native code and back. The forward pass is
// matmul_models.ts' Gemm with bias and activation.
import { attr } from "../../export/onnx/onnx_messages";
import { Graph } from "./graph";
import { f32 } from "./model";

/** The activations a Dense layer's fused kernels take: the ones whose gradient reads the layer's output alone. */
export const DENSE_ACTIVATIONS = ["linear", "relu"] as const;
export type DenseActivation = (typeof DENSE_ACTIVATIONS)[number];

export interface DenseVariant {
  activation: DenseActivation;
  bias: boolean;
  /** Also DX: something upstream trains, so the input's gradient will be asked for. */
  inputGrad: boolean;
}

export const denseGradKey = (v: DenseVariant): string => `dense-grad:${v.activation}:${v.bias ? "bias" : "nobias"}${v.inputGrad ? ":dx" : ""}`;

/**
 * From DY [rows, out], X [rows, in], W [in, out] (for DX) and Y [rows, out] (after a ReLU):
 *   DZ = DY where Y > 0, else 0 (ReLU; a linear layer's DZ is DY itself)
 *   DW = Xᵀ·DZ [in, out],  DB = Σrows DZ [out],  DX = DZ·Wᵀ [rows, in]
 * The column sum adds whole rows in row order, so where the operands sit on
 * the heap changes no bit (tested).
 */
export function denseGradModel(v: DenseVariant): Uint8Array {
  const g = new Graph();
  const relu = v.activation === "relu";
  const dz = relu ? g.op("Where", [g.op("Greater", ["Y", g.float(0)]), "DY", g.float(0)]) : "DY";
  g.op("Gemm", ["X", dz], { transA: attr.int(1) }, "DW");
  if (v.bias) g.op("ReduceSum", [dz, g.int64s([0])], { keepdims: attr.int(0) }, "DB");
  if (v.inputGrad) g.op("Gemm", [dz, "W"], { transB: attr.int(1) }, "DX");
  const inputs = [f32("DY", ["rows", "out"]), f32("X", ["rows", "in"]), ...(v.inputGrad ? [f32("W", ["in", "out"])] : []), ...(relu ? [f32("Y", ["rows", "out"])] : [])];
  const outputs = [f32("DW", ["in", "out"]), ...(v.bias ? [f32("DB", ["out"])] : []), ...(v.inputGrad ? [f32("DX", ["rows", "in"])] : [])];
  return g.encode(denseGradKey(v), inputs, outputs);
}
