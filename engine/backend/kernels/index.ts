// tscolab's fast kernels, registered through tfjs's public kernel registry
// over (or next to) the stock ones. Stock tfjs stays the dependency: we only
// add kernels it lacks and reroute the ones it runs on a slow path.
//
//   installFastKernels("wasm")  → names of the patches now in force
//   patchesInForce()            → the same list, any time
//   patchesFor("wasm")          → what installFastKernels("wasm") puts in force (for %verify_env, before any training)
//   uninstallFastKernels()      → stock tfjs again (tests and the bench compare both)
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from "@tensorflow/tfjs-core";
import { rememberStock } from "./stock";
import { wasmConv2DConfig, wasmFusedConv2DConfig } from "./conv2d";
import { fusedMatMulConfig } from "./fused_mat_mul";
import { wasmBatchMatMulConfig } from "./wasm_batch_mat_mul";
import { wasmConv2DBackpropFilterConfig } from "./wasm_conv2d_backprop_filter";
import { wasmConv2DBackpropInputConfig } from "./wasm_conv2d_backprop_input";
import { wasmDepthwiseFilterGradConfig, wasmDepthwiseInputGradConfig } from "./wasm_depthwise_backprop";
import { wasmMaxPoolGradConfig } from "./wasm_max_pool_grad";
import { wasmMaxPoolConfig } from "./wasm_max_pool";
import { wasmCastConfig, wasmIdentityConfig } from "./wasm_no_copy";
import { erfConfig, expConfig } from "./unary";
import { wasmGatherV2Config } from "./wasm_gather";
import { wasmSliceConfig, wasmSplitVConfig } from "./wasm_slice";
import { wasmSumConfig } from "./wasm_sum";
import { wasmUnsortedSegmentSumConfig } from "./wasm_unsorted_segment_sum";
import { routeReluGradient, wasmReluGradConfig, wasmReluGradSumConfig } from "./relu_grad";
import { wasmBiasAddConfig } from "./wasm_bias_add";
import { followFastKernels } from "../native";

interface Patch {
  /** Shown in %verify_env, e.g. "wasm:BatchMatMul(transposed→XNNPACK)". */
  name: string;
  kernelName: string;
  backendName: string;
  /** Builds our config; gets the stock setupFunc so a re-initialised backend still sets up the stock kernel we delegate to. */
  make(stock: KernelConfig | null): KernelConfig;
}

/** A wasm patch: `how` says what ours does differently, shown after the kernel name. */
const wasm = (kernelName: string, how: string, make: Patch["make"]): Patch => ({ name: `wasm:${kernelName}(${how})`, kernelName, backendName: "wasm", make });

const PATCHES: Patch[] = [
  wasm("BatchMatMul", "large→native MLAS when on, transposed+batched→XNNPACK", (stock) => wasmBatchMatMulConfig(stock?.setupFunc)),
  wasm("_FusedMatMul", "large→native MLAS when on", (stock) => fusedMatMulConfig(stock?.setupFunc)),
  wasm("Conv2D", "large→im2col+native MLAS when on", (stock) => wasmConv2DConfig(stock?.setupFunc)),
  wasm("FusedConv2D", "large→im2col+native MLAS with bias and activation when on", (stock) => wasmFusedConv2DConfig(stock?.setupFunc)),
  wasm("Conv2DBackpropFilter", "im2col+XNNPACK", () => wasmConv2DBackpropFilterConfig()),
  wasm("Conv2DBackpropInput", "XNNPACK+col2im", (stock) => wasmConv2DBackpropInputConfig(stock?.setupFunc)),
  wasm("MaxPool", "2×2 windows: SIMD first maximum", (stock) => wasmMaxPoolConfig(stock?.setupFunc)),
  wasm("MaxPoolGrad", "first-max scatter", () => wasmMaxPoolGradConfig()),
  wasm("Identity", "shared buffer", (stock) => wasmIdentityConfig(stock?.setupFunc)),
  wasm("Cast", "same dtype→shared buffer", (stock) => wasmCastConfig(stock?.setupFunc)),
  wasm("Sum", "leading axes, SIMD rows", (stock) => wasmSumConfig(stock?.setupFunc)),
  wasm("DepthwiseConv2dNativeBackpropFilter", "added", () => wasmDepthwiseFilterGradConfig()),
  wasm("DepthwiseConv2dNativeBackpropInput", "added", () => wasmDepthwiseInputGradConfig()),
  wasm("UnsortedSegmentSum", "added: gather/Embedding gradient", () => wasmUnsortedSegmentSumConfig()),
  wasm("Slice", "contiguous runs in the heap", (stock) => wasmSliceConfig(stock?.setupFunc)),
  wasm("SplitV", "contiguous runs in the heap", (stock) => wasmSplitVConfig(stock?.setupFunc)),
  wasm("GatherV2", "one row copy per index", (stock) => wasmGatherV2Config(stock?.setupFunc)),
  wasm("Exp", "large→native MLAS when on", (stock) => expConfig(stock?.setupFunc)),
  wasm("Erf", "large→native MLAS when on", (stock) => erfConfig(stock?.setupFunc)),
  wasm("TscolabReluGrad", "added: relu gradient in one pass", () => wasmReluGradConfig()),
  wasm("TscolabReluGradSum", "added: relu gradient and its bias gradient in one pass", () => wasmReluGradSumConfig()),
  wasm("Add", "bias over rows, SIMD", (stock) => wasmBiasAddConfig(stock?.setupFunc)),
];

const installed = new Map<string, Patch>();

const keyOf = (p: Patch) => `${p.backendName}/${p.kernelName}`;

/**
 * Registers tscolab's kernels for `backendName` (idempotent, cheap when
 * already done). Returns the names of every patch in force afterwards.
 * Backends we have no kernels for (e.g. tensorflow) are left untouched.
 */
export function installFastKernels(backendName: string): string[] {
  if (process.env.TSCOLAB_FAST_KERNELS === "0") return patchesInForce();
  routeReluGradient();
  for (const patch of PATCHES) {
    if (patch.backendName !== backendName || installed.has(keyOf(patch))) continue;
    const stock = rememberStock(patch.kernelName, patch.backendName);
    if (getKernel(patch.kernelName, patch.backendName)) unregisterKernel(patch.kernelName, patch.backendName);
    registerKernel(patch.make(stock));
    installed.set(keyOf(patch), patch);
  }
  if (backendName === "wasm") followFastKernels(true);
  return patchesInForce();
}

/** Names of the patches installFastKernels(backendName) puts in force; none with TSCOLAB_FAST_KERNELS=0. */
export function patchesFor(backendName: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TSCOLAB_FAST_KERNELS === "0") return [];
  return PATCHES.filter((p) => p.backendName === backendName).map((p) => p.name);
}

/** Names of the patches currently registered (empty on stock tfjs). */
export function patchesInForce(): string[] {
  return [...installed.values()].map((p) => p.name);
}

/** Puts the stock kernels back (or removes ours where tfjs has none). */
export function uninstallFastKernels(backendName?: string): void {
  for (const [key, patch] of installed) {
    if (backendName && patch.backendName !== backendName) continue;
    unregisterKernel(patch.kernelName, patch.backendName);
    const stock = rememberStock(patch.kernelName, patch.backendName);
    if (stock) registerKernel(stock);
    installed.delete(key);
  }
  if (!backendName || backendName === "wasm") followFastKernels(false);
}
