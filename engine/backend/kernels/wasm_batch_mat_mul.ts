// BatchMatMul for wasm: large products go to native MLAS when it is on;
// transposed and batched matMuls go to XNNPACK too.
// Batched operands are split into per-slice views of the same heap bytes (no
// copy), each slice runs the 2-D fast path, and results are copied into place.
import { BatchMatMul, broadcast_util, util, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { nativeMatMul } from "../native/native_matmul";
import { callStock } from "./stock";
import { makeView, offsetOf, releaseView, withShape, type WasmBackendLike } from "./wasm_heap";
import { wasmMatMul2d } from "./wasm_matmul_2d";

// Below this many multiply-adds per slice, per-slice call overhead beats the
// stock scalar loop's slowness (measured: bench/kernel_speed.ts).
const MIN_SLICE_MACS = 32 * 32 * 32;

function stock(args: Parameters<KernelFunc>[0]): TensorInfo {
  return callStock(BatchMatMul, "wasm", args.inputs, args.backend, args.attrs);
}

const batchMatMul: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
  if (a.dtype !== "float32" || b.dtype !== "float32") return stock(args);
  const native = nativeMatMul(backend, { a, b, transposeA, transposeB });
  if (native) return native;

  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const aRows = a.shape[aRank - 2];
  const aCols = a.shape[aRank - 1];
  const bRows = b.shape[bRank - 2];
  const bCols = b.shape[bRank - 1];
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const kB = transposeB ? bCols : bRows;
  const n = transposeB ? bRows : bCols;
  util.assert(
    k === kB,
    () => `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const outerDims = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...outerDims, m, n];
  const batch = Math.max(batchA, batchB);

  if (batch === 1) {
    const out = wasmMatMul2d(backend, withShape(a, [aRows, aCols]), withShape(b, [bRows, bCols]), transposeA, transposeB);
    return withShape(out, outShape);
  }
  // Only plain batching (equal batches, or one side shared by all) is split;
  // anything else, and tiny slices, stay on the stock kernel.
  const simpleBroadcast = util.sizeFromShape(outerDims) === batch && (batchA === batchB || batchA === 1 || batchB === 1);
  if (!simpleBroadcast || m * k * n < MIN_SLICE_MACS) return stock(args);

  const out = backend.makeOutput([batch, m, n], "float32");
  const aBase = offsetOf(backend, a);
  const bBase = offsetOf(backend, b);
  const outBase = offsetOf(backend, out);
  for (let i = 0; i < batch; i++) {
    const aView = makeView(backend, aBase + (batchA === 1 ? 0 : i * aRows * aCols * 4), [aRows, aCols]);
    const bView = makeView(backend, bBase + (batchB === 1 ? 0 : i * bRows * bCols * 4), [bRows, bCols]);
    try {
      const slice = wasmMatMul2d(backend, aView, bView, transposeA, transposeB);
      // Read the heap only now: the matMul may have grown (and moved) it.
      const heap = backend.wasm.HEAPF32;
      const src = offsetOf(backend, slice) >>> 2;
      heap.copyWithin((outBase >>> 2) + i * m * n, src, src + m * n);
      backend.disposeData(slice.dataId);
    } finally {
      releaseView(backend, aView);
      releaseView(backend, bView);
    }
  }
  return withShape(out, outShape);
};

export function wasmBatchMatMulConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: BatchMatMul, backendName: "wasm", kernelFunc: batchMatMul, setupFunc };
}
