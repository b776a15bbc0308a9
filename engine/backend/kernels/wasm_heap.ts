// The slice of tfjs-backend-wasm's BackendWasm our kernels touch. We keep to
// the members its own kernels use (makeOutput, dataIdMap, disposeData,
// typedArrayFromHeap), so a stock @tensorflow/tfjs-backend-wasm is enough.
import type { DataId, TensorInfo } from "@tensorflow/tfjs-core";

export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

export interface WasmBackendLike {
  wasm: {
    HEAPU8: Uint8Array;
    HEAPF32: Float32Array;
    tfjs: { disposeData(id: number): void };
  };
  dataIdMap: {
    get(dataId: DataId): WasmTensorData;
    delete(dataId: DataId): boolean;
  };
  makeOutput(shape: number[], dtype: string, memoryOffset?: number): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Float32 view of a tensor's bytes on the wasm heap (re-fetch after any allocation: the heap may grow). */
export function f32(backend: WasmBackendLike, info: TensorInfo, size?: number): Float32Array {
  const { memoryOffset } = backend.dataIdMap.get(info.dataId);
  const n = size ?? info.shape.reduce((p, d) => p * d, 1);
  return new Float32Array(backend.wasm.HEAPU8.buffer, memoryOffset, n);
}

/** Byte offset of a tensor on the wasm heap. */
export function offsetOf(backend: WasmBackendLike, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset;
}

/**
 * A tensor that aliases bytes owned by another tensor (for example batch slice
 * i of a rank-3 tensor), so the stock matMul can read it without a copy.
 * Must be released with `releaseView`, never `disposeData` (that would free an
 * interior pointer).
 */
export function makeView(backend: WasmBackendLike, byteOffset: number, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, "float32", byteOffset);
}

/** Unregisters a view; the C++ side drops anything cached on its id (XNNPACK operators). */
export function releaseView(backend: WasmBackendLike, view: TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId);
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(view.dataId);
}

/** Same tensor bytes seen with another shape (no copy, no new id). */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, dtype: info.dtype, shape };
}
