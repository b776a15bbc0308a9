// The native kernels' switch: probed in a child, then loaded in this
// process, or off with the reason (TSCOLAB_NATIVE=0, not installed, another
// version, a probe that crashed or hung). The wasm kernels run either way for
// what native does not take, so "off" only ever means slower.
import { nativeMatMulOn } from "./native_matmul";
import { useNativeRuntime } from "./sessions";
import { FUSED_KERNEL_NAMES, registerFusedKernels, unregisterFusedKernels } from "./native_fused";
import { DENSE_KERNEL_NAMES, registerDenseKernels, unregisterDenseKernels } from "./native_dense";
import { CONV_LAYER_KERNEL_NAMES, registerConvLayerKernels, unregisterConvLayerKernels } from "./native_conv_layer";
import { probeNativeKernels, type NativeProbeOptions, type NativeProbeResult } from "./probe";
import { loadOrtRuntime, type OrtRuntime } from "./ort_runtime";
import { keepLargeBlocksInHeap } from "./heap_reuse";

export { nativeMatMul, nativeMatMulOn, NATIVE_MIN_MACS } from "./native_matmul";
export { nativeUnary, NATIVE_UNARY_OPS, NATIVE_MIN_ELEMENTS } from "./native_unary";
export { nativeCalls } from "./sessions";
export { FUSED_KERNEL_NAMES, fusedKernelsOn } from "./native_fused";
export { probeNativeKernels, type NativeProbeResult } from "./probe";
export { PINNED_ORT_VERSION, nativeThreads } from "./ort_runtime";

export interface NativeKernelsState {
  on: boolean;
  /** Why it is off, or what runs natively. */
  reason: string;
  probe: NativeProbeResult | null;
}

/** tfjs kernels (on wasm) that send large enough shapes to native code when it is on. */
export const NATIVE_KERNEL_NAMES = [
  "BatchMatMul",
  "_FusedMatMul",
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "Exp",
  "Erf",
  ...FUSED_KERNEL_NAMES,
  ...DENSE_KERNEL_NAMES,
  ...CONV_LAYER_KERNEL_NAMES,
] as const;

/** Why native is off when the user turned it off: TSCOLAB_NATIVE=0, or TSCOLAB_FAST_KERNELS=0 (the patched kernels are what route to native code). */
export const NATIVE_OFF_BY_ENV = ["off: TSCOLAB_NATIVE=0", "off: TSCOLAB_FAST_KERNELS=0 (tscolab's kernels route to native code)"] as const;

/** What runs natively, in one phrase (%verify_env, the bench header, EnsuredBackend.native). */
export const describeNativeRuntime = (version: string | null, threads: number, via: string | null = null): string =>
  `onnxruntime-node ${version} (MLAS, ${threads} thread${threads === 1 ? "" : "s"}${via ? `, through its ${via}` : ""})`;

/** The reason native is off by the environment, or null when the environment allows it. */
export const nativeOffByEnv = (env: NodeJS.ProcessEnv = process.env): string | null =>
  env.TSCOLAB_NATIVE === "0" ? NATIVE_OFF_BY_ENV[0] : env.TSCOLAB_FAST_KERNELS === "0" ? NATIVE_OFF_BY_ENV[1] : null;

/** The kernels that exist only while native is on (fused layers); their callers fall back to tfjs ops without them. */
function registerNativeOnlyKernels(): void {
  registerFusedKernels();
  registerDenseKernels();
  registerConvLayerKernels();
}

function unregisterNativeOnlyKernels(): void {
  unregisterFusedKernels();
  unregisterDenseKernels();
  unregisterConvLayerKernels();
}

/**
 * The native-only kernels follow the patched ones: uninstalling tscolab's kernels (stock tfjs, as
 * the bench's stock column runs) removes them too, and installing puts them back while native is on.
 */
export function followFastKernels(installed: boolean): void {
  if (installed && state.on) registerNativeOnlyKernels();
  else if (!installed) unregisterNativeOnlyKernels();
}

let state: NativeKernelsState = { on: false, reason: "not probed yet", probe: null };

/** Probes (cached on disk) and loads the native kernels once per process; later calls return the same state. */
export async function prepareNativeKernels(opts: NativeProbeOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<NativeKernelsState> {
  if (state.on || state.probe) return state;
  const offByEnv = nativeOffByEnv(env);
  if (offByEnv) return (state = { on: false, reason: offByEnv, probe: null });
  const probe = await probeNativeKernels({ env, ...opts });
  if (!probe.ok) return (state = { on: false, reason: probe.error ?? "the probe failed", probe });
  let rt: OrtRuntime;
  try {
    rt = switchOn(probe);
  } catch (e) {
    return (state = { on: false, reason: `the probe passed but loading in this process failed: ${(e as Error).message}`, probe });
  }
  // Only the binding returns copies of outputs for glibc to map and unmap; the C API writes in place.
  if (rt.via === "binding") await keepLargeBlocksInHeap();
  return state;
}

/** Loads the runtime the probe passed, routes the kernels to it, and records the state. */
function switchOn(probe: NativeProbeResult): OrtRuntime {
  const rt = loadOrtRuntime(probe.threads);
  useNativeRuntime(rt);
  registerNativeOnlyKernels();
  state = { on: true, reason: describeNativeRuntime(probe.version, probe.threads, rt.via), probe };
  return rt;
}

export const nativeKernelsState = (): NativeKernelsState => state;

/** Names of the tfjs kernels that currently route large shapes to native code (empty when off). */
export function nativeKernelsInForce(): string[] {
  return nativeMatMulOn() ? [...NATIVE_KERNEL_NAMES] : [];
}

/** Back to wasm only (tests and benches compare both paths). */
export function disableNativeKernels(reason = "off: turned off in this process"): void {
  unregisterNativeOnlyKernels();
  useNativeRuntime(null);
  state = { on: false, reason, probe: state.probe };
}

/** Native on again after disableNativeKernels (only when a probe passed in this process). */
export function enableNativeKernels(): boolean {
  if (!state.probe?.ok) return false;
  switchOn(state.probe);
  return true;
}
