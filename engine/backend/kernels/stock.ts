// The kernels tfjs shipped with, remembered before we register ours over them,
// so our kernels can delegate to them (stock wasm matMul is XNNPACK-fast when
// nothing is transposed) and so uninstalling restores tfjs exactly.
import { getKernel, type KernelConfig, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from "@tensorflow/tfjs-core";

const remembered = new Map<string, KernelConfig | null>();

const key = (kernelName: string, backendName: string) => `${backendName}/${kernelName}`;

/** Records the currently registered kernel (or its absence) once, before the first patch. */
export function rememberStock(kernelName: string, backendName: string): KernelConfig | null {
  const k = key(kernelName, backendName);
  if (!remembered.has(k)) remembered.set(k, getKernel(kernelName, backendName) ?? null);
  return remembered.get(k) ?? null;
}

/** The stock kernel remembered by `rememberStock`, or null when tfjs has none. */
export function stockKernel(kernelName: string, backendName: string): KernelConfig | null {
  return remembered.get(key(kernelName, backendName)) ?? null;
}

/** Runs a stock kernel function directly (inside another kernel; no engine bookkeeping). */
export function callStock(kernelName: string, backendName: string, inputs: NamedTensorInfoMap, backend: unknown, attrs: NamedAttrMap = {}): TensorInfo {
  const config = stockKernel(kernelName, backendName) ?? getKernel(kernelName, backendName);
  if (!config) throw new Error(`tfjs has no ${kernelName} kernel for the ${backendName} backend`);
  const out = config.kernelFunc({ inputs, backend: backend as never, attrs });
  if (Array.isArray(out)) throw new Error(`${kernelName} returned several outputs where one was expected`);
  return out;
}
