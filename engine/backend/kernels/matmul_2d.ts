// One 2-D matMul for the kernels built on a product (convolution gradients):
// MLAS when the native kernels are on and the shape is large enough, else
// the wasm XNNPACK path.
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { nativeMatMul } from "../native/native_matmul";
import type { WasmBackendLike } from "./wasm_heap";
import { wasmMatMul2d } from "./wasm_matmul_2d";

/** op(a)·op(b) for 2-D float32 operands on the wasm heap; a new [M,N] tensor owned by the caller. */
export function matMul2d(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo {
  return nativeMatMul(backend, { a, b, transposeA, transposeB }) ?? wasmMatMul2d(backend, a, b, transposeA, transposeB);
}
