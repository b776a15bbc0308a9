// Add of a bias vector to every row (a Dense or Conv layer's bias in
// training, where tfjs adds it as its own op) in one SIMD pass with the bias
// kept in cache; stock wasm broadcasts it through a general n-d add at about
// half that speed. The same single float add per element, so the same bits.
// Every other Add stays stock.
import { Add, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { simdKernelsFor } from "./simd";
import { callStock } from "./stock";
import { offsetOf, type WasmBackendLike } from "./wasm_heap";

/** [rows, cols] when `bias` holds one value per last-axis entry of `x` (shape [cols] or [1, …, 1, cols]) and broadcasts to x's shape. */
export function biasBroadcast(x: TensorInfo, bias: TensorInfo): [number, number] | null {
  if (x.dtype !== "float32" || bias.dtype !== "float32" || x.shape.length < 2 || bias.shape.length > x.shape.length) return null;
  const cols = x.shape[x.shape.length - 1];
  if (bias.shape.length === 0 || bias.shape[bias.shape.length - 1] !== cols || bias.shape.slice(0, -1).some((d) => d !== 1)) return null;
  const rows = util.sizeFromShape(x.shape) / (cols || 1);
  return rows > 1 && cols > 0 ? [rows, cols] : null;
}

const add: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const [x, bias] = util.sizeFromShape(a.shape) >= util.sizeFromShape(b.shape) ? [a, b] : [b, a];
  const plan = biasBroadcast(x, bias);
  const simd = plan ? simdKernelsFor(backend) : null;
  if (!plan || !simd) return callStock(Add, "wasm", args.inputs, backend, args.attrs);
  const out = backend.makeOutput(x.shape, "float32");
  simd.addRows(offsetOf(backend, x), offsetOf(backend, bias), offsetOf(backend, out), plan[0], plan[1]);
  return out;
};

export function wasmBiasAddConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Add, backendName: "wasm", kernelFunc: add, setupFunc };
}
