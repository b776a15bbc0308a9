// Every 2-D matMul on wasm, routed to the one path that is fast there.
//
// Stock tfjs-backend-wasm sends a matMul to XNNPACK only when neither operand
// is transposed and the batch is 1; anything else (the whole backward pass of
// a Dense layer: dy·Wᵀ and xᵀ·dy) runs a scalar triple loop ~10-30× slower.
// Transposing costs one memory pass, so we transpose first and then call the
// stock XNNPACK path. Two equivalent plans exist:
//   normal:  C  = op(A) · op(B)                 (materialise op(A), op(B))
//   swapped: Cᵀ = op(B)ᵀ · op(A)ᵀ, then C = (Cᵀ)ᵀ (op(B)ᵀ is B itself when B was
//            transposed, so a big weight matrix is read in place)
// XNNPACK also packs its right operand on every call (weights change every
// step), so we count that pass too and pick the plan that moves fewer floats.
import { BatchMatMul, Transpose, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock } from "./stock";
import { simdKernelsFor } from "./simd";
import { offsetOf, withShape, type WasmBackendLike } from "./wasm_heap";

const WASM = "wasm";

/** [r,c] → [c,r]: our 4×4-blocked SIMD transpose (stock's is a scalar strided loop), else stock's. */
export function transpose2d(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const simd = simdKernelsFor(backend);
  if (!simd || x.dtype !== "float32") return callStock(Transpose, WASM, { x }, backend, { perm: [1, 0] });
  const [rows, cols] = x.shape;
  const out = backend.makeOutput([cols, rows], "float32");
  simd.transpose2d(offsetOf(backend, x), offsetOf(backend, out), rows, cols);
  return out;
}

/** The stock XNNPACK path: left [M,K] · right [K,N] → [M,N]. */
function xnnMatMul(backend: WasmBackendLike, left: TensorInfo, right: TensorInfo): TensorInfo {
  const [m, k] = left.shape;
  const n = right.shape[1];
  const out = callStock(BatchMatMul, WASM, { a: withShape(left, [1, m, k]), b: withShape(right, [1, k, n]) }, backend, { transposeA: false, transposeB: false });
  return withShape(out, [m, n]);
}

export type MatMulPlan = "direct" | "normal" | "swapped";

/** Right operands (by data id) of earlier non-transposed matMuls; weak, so disposed tensors drop out. */
const seenRight = new WeakSet<object>();

// XNNPACK packs its right operand [K,N] reading it with stride N (tfjs asks
// it to transpose the weights while packing), which costs about two plain
// transposes per float (measured: bench/kernel_speed.ts). Cost unit: one
// float moved by the stock Transpose kernel.
const PACK_COST = 2;

/** Floats moved by each plan (transposes + packing of the right operand). Plans give bit-identical results. */
export function choosePlan(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): MatMulPlan {
  const normal = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACK_COST * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + PACK_COST * k * m + m * n;
  if (normal <= swapped) return transposeA || transposeB ? "normal" : "direct";
  return "swapped";
}

/**
 * op(a) · op(b) for 2-D float32 operands on wasm, always through XNNPACK.
 * `a` is [M,K] (or [K,M] when transposeA), `b` is [K,N] (or [N,K] when
 * transposeB). Returns a new [M,N] tensor owned by the caller.
 */
export function wasmMatMul2d(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, plan?: MatMulPlan): TensorInfo {
  const m = transposeA ? a.shape[1] : a.shape[0];
  const k = transposeA ? a.shape[0] : a.shape[1];
  const n = transposeB ? b.shape[0] : b.shape[1];
  if (!plan) {
    // A right operand seen before (inference with fixed weights) already has
    // its packed XNNPACK operator cached on its id: direct costs no packing.
    const plain = !transposeA && !transposeB;
    plan = plain && seenRight.has(b.dataId) ? "direct" : choosePlan(m, k, n, transposeA, transposeB);
    if (plain) seenRight.add(b.dataId);
  }
  if (plan === "direct" || (plan === "normal" && !transposeA && !transposeB)) return xnnMatMul(backend, a, b);

  const temps: TensorInfo[] = [];
  const materialise = (x: TensorInfo, needed: boolean) => {
    if (!needed) return x;
    const t = transpose2d(backend, x);
    temps.push(t);
    return t;
  };
  try {
    if (plan === "normal") {
      return xnnMatMul(backend, materialise(a, transposeA), materialise(b, transposeB));
    }
    const outT = xnnMatMul(backend, materialise(b, !transposeB), materialise(a, !transposeA));
    temps.push(outT);
    return transpose2d(backend, outT);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}
