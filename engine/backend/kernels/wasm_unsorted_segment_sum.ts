// UnsortedSegmentSum for wasm, which stock tfjs-backend-wasm lacks. It is
// the gradient of gather, so without it an Embedding layer cannot train on
// wasm. out[id] += x[i] for every i whose id is in [0, numSegments); other
// ids are dropped (as on cpu). Float32 rows are added with SIMD.
import { UnsortedSegmentSum, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { simdKernelsFor } from "./simd";
import { callStock } from "./stock";
import { offsetOf, type WasmBackendLike } from "./wasm_heap";

export function segmentSum(x: Float32Array | Int32Array, ids: Int32Array, out: Float32Array | Int32Array, inner: number, numSegments: number): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) continue;
    let src = i * inner;
    let dst = id * inner;
    for (let k = 0; k < inner; k++) out[dst++] += x[src++];
  }
}

const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as { numSegments: number };
  if ((x.dtype !== "float32" && x.dtype !== "int32") || segmentIds.dtype !== "int32") {
    return callStock(UnsortedSegmentSum, "wasm", inputs, backend, attrs); // throws tfjs's own "not registered"
  }
  const idCount = util.sizeFromShape(segmentIds.shape);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = util.sizeFromShape(innerShape);
  const out = b.makeOutput([numSegments, ...innerShape], x.dtype);
  const simd = x.dtype === "float32" ? simdKernelsFor(backend) : null;
  if (simd) {
    // The same additions in the same order as segmentSum below (a float32 sum done in float64 and rounded is the float32 sum).
    simd.segmentSum(offsetOf(b, x), offsetOf(b, segmentIds), offsetOf(b, out), idCount, inner, numSegments);
    return out;
  }
  // Views after the allocation (it may grow the heap).
  const view = (t: TensorInfo, n: number) => b.typedArrayFromHeap({ ...t, shape: [n] }) as Float32Array | Int32Array;
  segmentSum(view(x, idCount * inner), view(segmentIds, idCount) as Int32Array, view(out, numSegments * inner), inner, numSegments);
  return out;
};

export function wasmUnsortedSegmentSumConfig(): KernelConfig {
  return { kernelName: UnsortedSegmentSum, backendName: "wasm", kernelFunc: unsortedSegmentSum };
}
