// Registering a set of native-only kernels on wasm, and removing them: they
// exist only while the native runtime is on, and their callers fall back to
// tfjs ops when they are absent.
import { getKernel, registerKernel, unregisterKernel, type KernelFunc } from "@tensorflow/tfjs-core";

export type KernelList = readonly (readonly [string, KernelFunc])[];

export function registerOnWasm(kernels: KernelList): void {
  for (const [kernelName, kernelFunc] of kernels) if (!getKernel(kernelName, "wasm")) registerKernel({ kernelName, backendName: "wasm", kernelFunc });
}

export function unregisterFromWasm(kernels: KernelList): void {
  for (const [kernelName] of kernels) if (getKernel(kernelName, "wasm")) unregisterKernel(kernelName, "wasm");
}
