// onnxruntime-node's native CPU build (MLAS: AVX2/FMA GEMM), used as a
// library of fast kernels rather than as a model runner, through its C API
// (ort_capi.ts: inputs read and outputs written in place on the wasm heap) or,
// where koffi cannot load, the package's binding: its InferenceSession.run is
// synchronous too (the public API only wraps it in setImmediate) and reads
// inputs in place, but copies each output into the tensor tfjs allocated and
// again into an ArrayBuffer it returns. Either way a synchronous tfjs kernel
// can call it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { loadCApiRuntime } from "./ort_capi";

/** The onnxruntime-node release whose binding we call below its public API; any other is refused. */
export const PINNED_ORT_VERSION = "1.30.0";

/** How many threads each native call uses: $TSCOLAB_NATIVE_THREADS, else every core (as OpenBLAS does). */
export const nativeThreadsSetting = z.coerce.number().int().min(1).max(256);

/**
 * The thread count for native calls, or an error naming the bad setting. MLAS
 * splits a product into blocks of rows and columns and never splits the inner
 * sum, so results are bit-identical whatever the count (a test holds it to that).
 */
export function nativeThreads(env: NodeJS.ProcessEnv = process.env): { threads: number } | { error: string } {
  const raw = env.TSCOLAB_NATIVE_THREADS;
  if (raw === undefined || raw.trim() === "") return { threads: os.availableParallelism() };
  const parsed = nativeThreadsSetting.safeParse(raw);
  return parsed.success
    ? { threads: parsed.data }
    : { error: `TSCOLAB_NATIVE_THREADS=${JSON.stringify(raw)} is not a thread count (give a whole number from 1 to 256, or unset it for every core)` };
}

/**
 * Session options for every native model. The pool's threads sleep between
 * calls instead of spinning: a spinning thread would take the second core
 * from the wasm kernels that run on the main thread between native calls.
 */
export const nativeSessionOptions = (threads: number) => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  enableCpuMemArena: true,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
});

/** A graph input or output by name: float32 data the call reads or writes in place, seen with `dims`. */
export interface NativeTensor {
  name: string;
  data: Float32Array;
  dims: readonly number[];
}

/** A loaded model: one run reads the feeds and writes the fetches' data. */
export interface NativeSession {
  run(feeds: NativeTensor[], fetches: NativeTensor[]): void;
  dispose(): void;
}

export interface OrtRuntime {
  version: string;
  /** The onnxruntime-node install it was loaded from. */
  packageDir: string;
  /** Absolute path of the native library or binding (for messages and the probe cache key). */
  bindingPath: string;
  /** Threads each call uses (see nativeThreads). */
  threads: number;
  /** How calls reach onnxruntime: its C API, writing outputs in place (ort_capi.ts), or the npm binding, which copies them. */
  via: "C API" | "binding";
  /** A session on `threads` intra-op threads: MLAS partitions rows and columns, never the inner sum, so results never depend on scheduling. */
  open(model: Uint8Array): NativeSession;
}

interface BindingSession {
  loadModel(buf: ArrayBuffer, offset: number, length: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: object): Record<string, unknown>;
  dispose(): void;
}

interface BindingModule {
  binding: { InferenceSession: new () => BindingSession };
  initOrt(): void;
}

/** Where the package and its binding are, and its version; null fields when it is not installed. */
export function locateOrt(): { packageDir: string | null; version: string | null; bindingPath: string | null } {
  let packageJson: string;
  try {
    packageJson = require.resolve("onnxruntime-node/package.json");
  } catch {
    return { packageDir: null, version: null, bindingPath: null };
  }
  const packageDir = path.dirname(packageJson);
  const version = String(JSON.parse(fs.readFileSync(packageJson, "utf8")).version ?? "") || null;
  const bindingPath = path.join(packageDir, "bin", "napi-v6", process.platform, process.arch, "onnxruntime_binding.node");
  return { packageDir, version, bindingPath: fs.existsSync(bindingPath) ? bindingPath : null };
}

/** Why the native runtime cannot be used here, or null when it can be loaded. */
export function ortUnavailableReason(where = locateOrt()): string | null {
  if (!where.packageDir) return "onnxruntime-node is not installed (npm ci installs it)";
  if (where.version !== PINNED_ORT_VERSION) return `onnxruntime-node ${where.version} is installed but tscolab calls the binding of ${PINNED_ORT_VERSION} (npm ci restores it)`;
  if (!where.bindingPath) return `onnxruntime-node has no native binding for ${process.platform}/${process.arch}`;
  return null;
}

let loaded: OrtRuntime | null = null;

/**
 * Loads onnxruntime into this process, through its C API where koffi can reach it (outputs written
 * in place) and else through the npm binding; throws with the reason when neither loads. Only call
 * after a probe child survived the same call. `via` forces one way.
 */
export function loadOrtRuntime(threads: number, via?: OrtRuntime["via"], where = locateOrt()): OrtRuntime {
  if (loaded?.threads === threads && (!via || loaded.via === via) && loaded.packageDir === where.packageDir) return loaded;
  const why = ortUnavailableReason(where);
  if (why) throw new Error(why);
  if (via !== "binding") {
    try {
      return (loaded = loadCApiRuntime(where.packageDir!, where.version!, threads));
    } catch (e) {
      if (via === "C API") throw e;
    }
  }
  return (loaded = loadBindingRuntime(where, threads));
}

function loadBindingRuntime(where: ReturnType<typeof locateOrt>, threads: number): OrtRuntime {
  const mod = require(path.join(where.packageDir!, "dist", "binding.js")) as BindingModule;
  const { Tensor } = require("onnxruntime-node") as { Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown };
  mod.initOrt();
  const byName = (tensors: NativeTensor[]) => Object.fromEntries(tensors.map((t) => [t.name, new Tensor("float32", t.data, t.dims)]));
  return {
    version: where.version!,
    packageDir: where.packageDir!,
    bindingPath: where.bindingPath!,
    threads,
    via: "binding",
    open(model) {
      const session = new mod.binding.InferenceSession();
      session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, nativeSessionOptions(threads));
      return {
        run: (feeds, fetches) => void session.run(byName(feeds), byName(fetches), {}),
        dispose: () => session.dispose(),
      };
    },
  };
}
