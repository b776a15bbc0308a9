// Slice and SplitV for wasm as runs of whole rows copied inside the heap.
// Stock wasm slices rank ≤ 4 in JavaScript, element by element, after
// copying the entire input out of the heap (readSync) once per piece: the
// split of a transformer's packed q/k/v projection took ~50 ms a call.
// Here the innermost axes a slice keeps whole merge into one contiguous run,
// and each run is one copyWithin (a memmove) from input to output.
import { backend_util, Slice, slice_util, SplitV, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock, stockKernel } from "./stock";
import { offsetOf, type WasmBackendLike } from "./wasm_heap";

const FOUR_BYTE = new Set(["float32", "int32"]);

/** x[begin : begin+size] into a new tensor, by contiguous runs; null for dtypes this does not copy. */
function copySlice(backend: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo | null {
  if (!FOUR_BYTE.has(x.dtype)) return null;
  const rank = x.shape.length;
  const out = backend.makeOutput(size, x.dtype);
  const total = util.sizeFromShape(size);
  if (total === 0) return out;
  const strides = [...util.computeStrides(x.shape), 1];
  // The outermost axis from which the slice takes every row is where runs start.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === x.shape[inner]) inner--;
  const run = size[inner] * strides[inner];
  const heap = backend.wasm.HEAPF32; // read after makeOutput: an allocation may grow the heap
  const src0 = (offsetOf(backend, x) >>> 2) + begin.reduce((s, b, a) => s + b * strides[a], 0);
  let dst = offsetOf(backend, out) >>> 2;
  const counter = new Array<number>(inner).fill(0);
  for (let done = 0; done < total; done += run) {
    let src = src0;
    for (let a = 0; a < inner; a++) src += counter[a] * strides[a];
    heap.copyWithin(dst, src, src + run);
    dst += run;
    for (let a = inner - 1; a >= 0; a--) {
      if (++counter[a] < size[a]) break;
      counter[a] = 0;
    }
  }
  return out;
}

const slice: KernelFunc = (args) => {
  const x = args.inputs.x as TensorInfo;
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  const [begin_, size_] = slice_util.parseSliceParams(x as never, begin, size);
  slice_util.assertParamsValid(x as never, begin_, size_);
  return copySlice(args.backend as unknown as WasmBackendLike, x, begin_, size_) ?? callStock(Slice, "wasm", args.inputs, args.backend, args.attrs);
};

const splitV: KernelFunc = (args) => {
  const x = args.inputs.x as TensorInfo;
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const backend = args.backend as unknown as WasmBackendLike;
  if (!FOUR_BYTE.has(x.dtype)) return stockKernel(SplitV, "wasm")!.kernelFunc(args);
  const $axis = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[$axis] = s;
    const piece = copySlice(backend, x, begin, size)!;
    begin[$axis] += s;
    return piece;
  });
};

export function wasmSliceConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Slice, backendName: "wasm", kernelFunc: slice, setupFunc };
}

export function wasmSplitVConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: SplitV, backendName: "wasm", kernelFunc: splitV, setupFunc };
}
