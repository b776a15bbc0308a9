// Registering a set of native-only kernels on wasm, and removing them: they
// exist only while the native runtime is on, and their callers fall back to
// tfjs ops when they are absent. Their gradients go into tfjs's global
// gradient registry once and stay (a gradient serves only its own kernel).
import { getKernel, registerGradient, registerKernel, unregisterKernel, type GradConfig, type KernelFunc } from "@tensorflow/tfjs-core";

export type KernelList = readonly (readonly [string, KernelFunc])[];

const gradientsRegistered = new Set<string>();

export function registerOnWasm(kernels: KernelList, gradients: GradConfig[] = []): void {
  for (const gradient of gradients) {
    if (gradientsRegistered.has(gradient.kernelName)) continue;
    gradientsRegistered.add(gradient.kernelName);
    registerGradient(gradient);
  }
  for (const [kernelName, kernelFunc] of kernels) if (!getKernel(kernelName, "wasm")) registerKernel({ kernelName, backendName: "wasm", kernelFunc });
}

export function unregisterFromWasm(kernels: KernelList): void {
  for (const [kernelName] of kernels) if (getKernel(kernelName, "wasm")) unregisterKernel(kernelName, "wasm");
}
