// The %verify_env report: what `--json` prints and what `verifyEnv()`
// returns. status, backend, gpu, profile and checks are what scripts read;
// the rest (versions, copies, resources) is detail the HTML table summarises.
import { z } from "zod";
import { nativeKernelSpeed } from "../backend/native/probe";
import { backendName, candidateReport } from "../backend";
import { cudaLibrary, gpuDetection } from "../backend/gpu";
import { profileName, profileSettings } from "../backend/profile";

export const checkStatus = z.enum(["ok", "warn", "fail"]);
export type CheckStatus = z.infer<typeof checkStatus>;

export const check = z.object({
  /** Stable id, e.g. `tfjs.core-copies`, `backend.wasm`, `gpu.usable`. */
  id: z.string(),
  status: checkStatus,
  message: z.string(),
  fix: z.string().optional(),
});
export type Check = z.infer<typeof check>;

export const coreCopy = z.object({
  path: z.string(),
  version: z.string(),
  /** Who resolves this copy: the kernel, the notebook's cells, or neither (nested elsewhere). */
  usedBy: z.array(z.enum(["kernel", "notebook"])),
});
export type CoreCopy = z.infer<typeof coreCopy>;

export const verifyEnvReport = z.object({
  status: checkStatus,
  versions: z.object({
    node: z.string(),
    npm: z.string().nullable(),
    typescript: z.string().nullable(),
    tslab: z.string().nullable(),
    /** The TypeScript tslab type-checks cells with (@tslab/typescript-for-tslab), which is not the project's. */
    cellTypescript: z.string().nullable(),
    /** Every @tensorflow/* package the kernel resolves, name → version. */
    tensorflow: z.record(z.string(), z.string()),
  }),
  tfjsCore: z.object({ copies: z.array(coreCopy) }),
  backend: z.object({
    /** What training will use (null only if nothing works at all). */
    selected: backendName.nullable(),
    /** The tfjs backend active in this process right now, if any. */
    active: z.string().nullable(),
    /** $TSCOLAB_BACKEND when set. */
    requested: z.string().nullable(),
    /** tscolab's patched kernels training runs with on the selected backend (set with the backend at the first %train or tfjs import). */
    patches: z.array(z.string()),
    /** Native kernels (onnxruntime-node's MLAS) for large matMuls and convolutions on the wasm backend. */
    native: z.object({
      on: z.boolean(),
      /** What runs natively, or why nothing does. */
      reason: z.string(),
      version: z.string().nullable(),
      /** tfjs kernels that send large shapes to native code (empty when off). */
      kernels: z.array(z.string()),
      /** GFLOP/s the probe measured per kernel and shape, with `threads` threads. */
      speeds: z.array(nativeKernelSpeed),
      /** Threads each native call uses (the speeds were timed with as many). */
      threads: z.number().int().nullable(),
    }),
    candidates: z.array(candidateReport),
  }),
  gpu: gpuDetection.extend({
    cudaLibraries: z.array(cudaLibrary),
    /** Only a CUDA 12+ runtime was found, which tfjs-node-gpu 4.x (CUDA 11) cannot use. */
    cuda12Only: z.boolean(),
    /** Path of a CUDA 12+ runtime (libcudart.so.12/13/...) when one is installed. */
    newerCudaRuntime: z.string().nullable(),
  }),
  resources: z.object({
    cpuCores: z.number(),
    cpuModel: z.string(),
    memoryMiB: z.number(),
    freeMemoryMiB: z.number(),
    driveRoot: z.string(),
    /** Free space on the file system holding the Drive root; null when it cannot be read. */
    freeDiskMiB: z.number().nullable(),
    wasmSimd: z.boolean(),
    wasmThreads: z.boolean(),
  }),
  profile: z.object({
    name: profileName,
    reason: z.string(),
    settings: profileSettings,
  }),
  checks: z.array(check),
  elapsedMs: z.number(),
});
export type VerifyEnvReport = z.infer<typeof verifyEnvReport>;

/** Worst status wins: any fail → fail, else any warn → warn, else ok. */
export function overallStatus(checks: Check[]): CheckStatus {
  if (checks.some((c) => c.status === "fail")) return "fail";
  if (checks.some((c) => c.status === "warn")) return "warn";
  return "ok";
}
