// One native call on wasm tensors: the outputs are allocated on the wasm
// heap first (allocating may grow the heap and replace its buffer), then
// every operand is a Float32Array view of the heap, so nothing is copied on
// our side (through the C API onnxruntime writes the outputs there itself);
// a failed run frees the outputs and rethrows.
import { util, type TensorInfo } from "@tensorflow/tfjs-core";
import { f32, type WasmBackendLike } from "../kernels/wasm_heap";
import { countCall, nativeRuntime, sessionFor } from "./sessions";

/** [rows, features] of a tensor whose last axis is the features (what a row-wise graph sees). */
export const rowsOf = (t: TensorInfo): [number, number] => {
  const d = t.shape[t.shape.length - 1] ?? 1;
  return [d === 0 ? 0 : util.sizeFromShape(t.shape) / d, d];
};

export interface GraphFeed {
  name: string;
  /** A tensor on the wasm heap, or plain values (a constant such as the causal mask). */
  tensor: TensorInfo | Float32Array;
  /** The dimensions the graph sees (the same bytes may be seen with another rank than tfjs's shape). */
  dims: number[];
}

export interface GraphFetch {
  name: string;
  /** The tfjs shape of the output tensor. */
  shape: number[];
  dims: number[];
}

/** Runs the model cached under `key` (built by `model()` on first use); throws when native is off. */
export function runGraph(backend: WasmBackendLike, key: string, model: () => Uint8Array, feeds: GraphFeed[], fetches: GraphFetch[]): TensorInfo[] {
  const rt = nativeRuntime();
  if (!rt) throw new Error(`${key} needs the native kernels, which are off in this process`);
  for (const f of feeds) if (!(f.tensor instanceof Float32Array) && f.tensor.dtype !== "float32") throw new Error(`${key} takes float32 tensors; ${f.name} is ${f.tensor.dtype}`);
  const session = sessionFor(rt, key, model);
  const outs = fetches.map((f) => backend.makeOutput(f.shape, "float32"));
  const view = (t: TensorInfo | Float32Array, dims: number[]) => (t instanceof Float32Array ? t : f32(backend, t, util.sizeFromShape(dims)));
  try {
    session.run(
      feeds.map((f) => ({ name: f.name, data: view(f.tensor, f.dims), dims: f.dims })),
      fetches.map((f, i) => ({ name: f.name, data: view(outs[i], f.dims), dims: f.dims })),
    );
  } catch (e) {
    for (const o of outs) backend.disposeData(o.dataId);
    throw e;
  }
  countCall(key);
  return outs;
}
