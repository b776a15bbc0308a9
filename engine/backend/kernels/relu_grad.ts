// ReLU's gradient in one pass. tfjs computes it as mul(dy, cast(step(x))):
// two kernels that each stream the activation through memory (a conv
// layer's is 5.5 MB at batch 64) and a tensor in between. One SIMD loop
// computes the same product, element for element the same IEEE operations
// (dy·1, dy·0 and dy·NaN), so the bits are the stock gradient's.
//
// The gradient registry is global, so the gradient installed here serves
// every backend: it takes the fused kernel where one is registered for the
// active backend and tfjs's own gradient everywhere else.
import {
  Relu,
  engine,
  getGradient,
  getKernel,
  mul,
  registerGradient,
  step,
  sum,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorMap,
  type Tensor,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { simdKernelsFor } from "./simd";
import { offsetOf, type WasmBackendLike } from "./wasm_heap";

export const RELU_GRAD = "TscolabReluGrad";

/** dy·step(y), ReLU's gradient given its output y (y > 0 exactly where its input is): the one-pass kernel where the backend has it. */
export const reluMasked = (dy: Tensor, y: Tensor): Tensor =>
  getKernel(RELU_GRAD, engine().backendName) ? (engine().runKernel(RELU_GRAD, { dy, x: y } as unknown as NamedTensorMap, {}) as Tensor) : mul(dy, step(y));

const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const simd = simdKernelsFor(backend);
  if (!simd) throw new Error(`${RELU_GRAD} needs wasm SIMD`);
  const out = b.makeOutput(x.shape, "float32");
  simd.reluGrad(
    offsetOf(b, dy),
    offsetOf(b, x),
    offsetOf(b, out),
    x.shape.reduce((p, d) => p * d, 1),
  );
  return out;
};

export function wasmReluGradConfig(): KernelConfig {
  return { kernelName: RELU_GRAD, backendName: "wasm", kernelFunc: reluGrad };
}

export const RELU_GRAD_SUM = "TscolabReluGradSum";

/**
 * A ReLU layer's masked gradient dy·step(y) and its bias gradient (the masked gradient summed over
 * every axis but the last): one pass where the backend has the kernel and the last axis is whole
 * vectors, else the two ops. Same bits either way.
 */
export function reluMaskedWithBiasGradient(dy: Tensor, y: Tensor): [Tensor, Tensor] {
  const channels = y.shape[y.rank - 1] ?? 1;
  if (channels % 4 === 0 && getKernel(RELU_GRAD_SUM, engine().backendName) && simdKernelsFor(engine().backend))
    return engine().runKernel(RELU_GRAD_SUM, { dy, x: y } as unknown as NamedTensorMap, {}) as unknown as [Tensor, Tensor];
  const dz = reluMasked(dy, y);
  return [dz, sum(dz, [...Array(y.rank - 1).keys()])];
}

const reluGradSum: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const simd = simdKernelsFor(backend);
  if (!simd) throw new Error(`${RELU_GRAD_SUM} needs wasm SIMD`);
  const cols = x.shape[x.shape.length - 1];
  const out = b.makeOutput(x.shape, "float32");
  const sums = b.makeOutput([cols], "float32");
  simd.reluGradSumRows(offsetOf(b, dy), offsetOf(b, x), offsetOf(b, out), offsetOf(b, sums), x.shape.reduce((p, d) => p * d, 1) / cols, cols);
  return [out, sums];
};

export function wasmReluGradSumConfig(): KernelConfig {
  return { kernelName: RELU_GRAD_SUM, backendName: "wasm", kernelFunc: reluGradSum };
}

let stockGradient: GradConfig | null = null;

/** Routes Relu's gradient to the one-pass kernel where the active backend has it (idempotent). */
export function routeReluGradient(): void {
  if (stockGradient) return;
  const stock = getGradient(Relu);
  if (!stock) return;
  stockGradient = stock;
  registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const fused = x.dtype === "float32" && (dy as Tensor).dtype === "float32" && getKernel(RELU_GRAD, engine().backendName) && simdKernelsFor(engine().backend);
      if (!fused) return stock.gradFunc(dy, saved, attrs);
      return { x: () => engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x }, {}) as Tensor };
    },
  });
}
