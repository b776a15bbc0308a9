// Sum over leading axes on wasm (a conv layer's bias gradient: sum of dy over
// batch, height and width). Stock tfjs first transposes the reduced axes
// innermost, a scalar strided copy of the whole tensor; summing whole rows
// with SIMD needs no copy (each output adds its inputs in row order, so the
// result is within float rounding of stock's). Other reductions stay stock.
import { Sum, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { simdKernelsFor } from "./simd";
import { callStock } from "./stock";
import { offsetOf, type WasmBackendLike } from "./wasm_heap";

/** Number of leading axes `axis` names, when it names exactly axes 0..j-1 (and not all of them); else 0. */
export function leadingAxes(axis: number | number[], rank: number): number {
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

const sum: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const x = args.inputs.x as TensorInfo;
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const j = x.dtype === "float32" ? leadingAxes(axis, x.shape.length) : 0;
  const simd = j > 0 ? simdKernelsFor(backend) : null;
  const rows = util.sizeFromShape(x.shape.slice(0, j));
  const cols = util.sizeFromShape(x.shape.slice(j));
  if (!simd || rows === 0 || cols === 0) return callStock(Sum, "wasm", args.inputs, backend, args.attrs);
  const outShape = keepDims ? [...x.shape.slice(0, j).map(() => 1), ...x.shape.slice(j)] : x.shape.slice(j);
  const out = backend.makeOutput(outShape, "float32");
  simd.sumRows(offsetOf(backend, x), offsetOf(backend, out), rows, cols);
  return out;
};

export function wasmSumConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Sum, backendName: "wasm", kernelFunc: sum, setupFunc };
}
