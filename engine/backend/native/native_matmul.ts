// matMuls on the wasm heap computed by MLAS, in place (run_graph.ts): the
// operands are read through views of the heap and the product is written
// into a tensor the wasm backend allocated.
// A call costs ~10-15 µs, so small products stay on the wasm kernels; the
// choice depends on the shape alone, never on timing, so a run and its resume
// take the same path at every step.
import { broadcast_util, util, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackendLike } from "../kernels/wasm_heap";
import { matMulModel, NATIVE_ACTIVATIONS, variantKey, type MatMulVariant, type NativeActivation } from "./matmul_models";
import { runGraph, type GraphFeed } from "./run_graph";
import { nativeRuntime } from "./sessions";

/** Fewer multiply-adds than this and the wasm kernels win (measured: bench/step_profile.ts shapes; a one-node Gemm here costs ~10-15 µs a call). */
export const NATIVE_MIN_MACS = 1 << 18;

export const nativeMatMulOn = (): boolean => nativeRuntime() !== null;

export interface NativeMatMulArgs {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: TensorInfo;
  activation?: string;
  leakyAlpha?: number;
}

/**
 * act(op(a)·op(b) + bias) natively, or null when this call should stay on
 * wasm (native off, not float32, too small, a broadcast or activation MLAS
 * has no single op for). Operands have rank 2 or more, as tfjs kernels get them.
 */
export function nativeMatMul(backend: WasmBackendLike, args: NativeMatMulArgs): TensorInfo | null {
  if (!nativeRuntime()) return null;
  const { a, b, transposeA, transposeB, bias } = args;
  if (a.dtype !== "float32" || b.dtype !== "float32" || (bias && bias.dtype !== "float32")) return null;
  const activation = (args.activation ?? "linear") as NativeActivation;
  if (!NATIVE_ACTIVATIONS.includes(activation)) return null;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  if (k !== (transposeB ? bCols : bRows)) return null; // let the wasm kernel raise tfjs's own error
  // Leading dimensions (attention's [batch, heads]) flatten to one batch: equal on both sides, or one side shared by all.
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  if (batch * m * k * n < NATIVE_MIN_MACS || m === 0 || n === 0 || k === 0) return null;
  // A bias must be one value per output column (a Dense layer's): other broadcasts stay on wasm.
  if (bias && (util.sizeFromShape(bias.shape) !== n || bias.shape.slice(0, -1).some((d) => d !== 1))) return null;
  let outerDims: number[];
  try {
    outerDims = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  if (util.sizeFromShape(outerDims) !== batch) return null;
  const outShape = [...outerDims, m, n];
  const variant: MatMulVariant = {
    transposeA,
    transposeB,
    batched: batch > 1,
    bias: !!bias,
    activation,
    leakyAlpha: activation === "leakyrelu" ? (args.leakyAlpha ?? 0.2) : undefined,
  };
  const feeds: GraphFeed[] = [
    { name: "A", tensor: a, dims: variant.batched ? [batchA, aRows, aCols] : [aRows, aCols] },
    { name: "B", tensor: b, dims: variant.batched ? [batchB, bRows, bCols] : [bRows, bCols] },
  ];
  if (bias) feeds.push({ name: "C", tensor: bias, dims: [n] });
  return runGraph(backend, variantKey(variant), () => matMulModel(variant), feeds, [{ name: "Y", shape: outShape, dims: variant.batched ? [batch, m, n] : [m, n] }])[0];
}
