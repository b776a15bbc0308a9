// Probes a native tfjs binding (@tensorflow/tfjs-node or -gpu) in a child
// process. Loading libtensorflow can crash the process (SIGILL on CPUs
// without AVX, SIGABRT on CUDA mismatches) or hang (PTX JIT, a wedged
// driver), so the kernel never loads one before a child has survived it.
// The child reports its progress stage by stage, so a crash or a hang is
// attributed to the step that caused it.
import { spawn } from "node:child_process";
import { boundChild } from "../util/bounded_child";
import { onMarkedLines } from "../util/marked_lines";
import { smokeTestMatMul, type SmokeOutcome } from "./smoke";

export interface NativeProbeOptions {
  /** Absolute path of the native package's entry (from require.resolve). */
  entry: string;
  /** npm name of the package, for the messages. */
  packageName: string;
  /** Absolute path of the kernel's tfjs-core entry; the backend must register there. */
  tfjsEntry: string;
  timeoutMs?: number;
  /** Milliseconds spent measuring GFLOP/s once the smoke test passed. */
  budgetMs?: number;
  signal?: AbortSignal;
}

export type ProbeStage = "spawn" | "require" | "register" | "init" | "smoke" | "done";

export interface NativeProbeResult {
  loadable: boolean;
  /** How far the child got; a crash or hang happened during this stage. */
  stage: ProbeStage;
  smoke: SmokeOutcome | null;
  /** GPU package that ended up running on the CPU (missing CUDA libraries, no device). */
  gpu: { isGPUPackage: boolean; isUsingGpuDevice: boolean } | null;
  signal: NodeJS.Signals | null;
  exitCode: number | null;
  timedOut: boolean;
  /** The child's last stderr lines (TensorFlow logs why it skipped the GPU there). */
  stderrTail: string[];
  /** The JavaScript error thrown in the child, if any. */
  thrown?: string;
  elapsedMs: number;
}

const MARK = "@@tscolab-probe@@";

// Runs in the child. Plain JavaScript: it is sent as source text.
function childMain(cfg: { entry: string; tfjsEntry: string; budgetMs: number }, smoke: typeof smokeTestMatMul, mark: string): void {
  const say = (o: object) => process.stdout.write("\n" + mark + JSON.stringify(o) + "\n");
  (async () => {
    say({ stage: "require" });
    require(cfg.entry);
    say({ stage: "register" });
    const tf = require(cfg.tfjsEntry);
    if (!tf.findBackendFactory("tensorflow")) {
      say({ stage: "register", thrown: "the package registered its 'tensorflow' backend on a different copy of @tensorflow/tfjs-core than the kernel's" });
      return;
    }
    say({ stage: "init" });
    const ok = await tf.setBackend("tensorflow");
    if (!ok) throw new Error("tf.setBackend('tensorflow') returned false");
    const be = tf.backend();
    const gpu = typeof be.isGPUPackage === "boolean" ? { isGPUPackage: be.isGPUPackage, isUsingGpuDevice: !!be.isUsingGpuDevice } : null;
    say({ stage: "smoke", gpu });
    const s = smoke(tf, cfg.budgetMs);
    say({ stage: "done", smoke: s, gpu });
  })().catch((e) => say({ thrown: String((e && e.message) || e) }));
}

export function probeNative(opts: NativeProbeOptions): Promise<NativeProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const cfg = { entry: opts.entry, tfjsEntry: opts.tfjsEntry, budgetMs: opts.budgetMs ?? 150 };
  const script = `(${childMain.toString()})(${JSON.stringify(cfg)}, ${smokeTestMatMul.toString()}, ${JSON.stringify(MARK)});`;
  const started = Date.now();
  return new Promise((resolve) => {
    const result: NativeProbeResult = {
      loadable: false,
      stage: "spawn",
      smoke: null,
      gpu: null,
      signal: null,
      exitCode: null,
      timedOut: false,
      stderrTail: [],
      elapsedMs: 0,
    };
    // Own process group, so a timeout kills the child and anything it started.
    const child = spawn(process.execPath, ["-e", script], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? "1" },
    });
    let err = "";
    onMarkedLines(child.stdout, MARK, (msg) => {
      if (typeof msg.stage === "string") result.stage = msg.stage as ProbeStage;
      if (msg.gpu !== undefined) result.gpu = msg.gpu as NativeProbeResult["gpu"];
      if (msg.smoke) result.smoke = msg.smoke as SmokeOutcome;
      if (msg.thrown) result.thrown = String(msg.thrown);
    });
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-16_384);
    });
    const release = boundChild(child, { timeoutMs, signal: opts.signal, onTimeout: () => (result.timedOut = true) });
    const finish = () => {
      release();
      result.elapsedMs = Date.now() - started;
      result.stderrTail = err
        .split("\n")
        .map((l) => l.trimEnd())
        .filter(Boolean)
        .slice(-20);
      result.loadable = result.stage === "done" && !result.thrown && !result.signal && !result.timedOut;
      resolve(result);
    };
    child.on("error", (e) => {
      result.thrown = `cannot start a probe process: ${e.message}`;
      finish();
    });
    child.on("close", (code, sig) => {
      result.exitCode = code;
      // A timeout's own SIGKILL is reported as the hang it is, not as a crash.
      result.signal = result.timedOut ? null : sig;
      finish();
    });
  });
}

export interface Diagnosis {
  error: string;
  fix: string;
}

/** Turns a failed probe into one line naming the problem and one naming the fix. */
export function diagnoseNative(pkg: string, r: NativeProbeResult, timeoutMs: number): Diagnosis {
  const all = [r.thrown ?? "", ...r.stderrTail].join("\n");
  const useWasm = "or set TSCOLAB_BACKEND=wasm to train on the wasm backend meanwhile";
  const rebuild = `run \`npm rebuild ${pkg}\` on a machine with network access (it downloads libtensorflow)`;
  if (r.timedOut) {
    const gpuHint =
      pkg.endsWith("-gpu") && (r.stage === "init" || r.stage === "smoke")
        ? "; a first GPU run can spend minutes JIT-compiling PTX for a GPU newer than the CUDA build (Ada/Hopper): set CUDA_CACHE_MAXSIZE=2147483648 and retry once, or check `nvidia-smi` for a wedged driver"
        : "";
    return {
      error: `${pkg} hung during ${r.stage} (killed after ${Math.round(timeoutMs / 1000)} s)`,
      fix: `find what blocks it with \`node -e "require('${pkg}')"\`${gpuHint}; allow longer with TSCOLAB_PROBE_TIMEOUT=SECONDS; ${useWasm}`,
    };
  }
  if (/tfjs_binding\.node/.test(all)) {
    return {
      error: `${pkg} has no native addon (tfjs_binding.node is missing: its install script did not run or failed)`,
      fix: `${rebuild}, or \`npm rebuild ${pkg} --build-addon-from-source\`; ${useWasm}`,
    };
  }
  const missingLib = /(lib[\w.+-]+\.so(?:\.[\d.]+)?): cannot open shared object file/.exec(all);
  if (missingLib) {
    const lib = missingLib[1];
    if (/^libtensorflow/.test(lib))
      return {
        error: `${pkg} cannot load ${lib} (libtensorflow was never downloaded into ${pkg}/deps/lib)`,
        fix: `${rebuild}, or put an existing libtensorflow 2.x on LD_LIBRARY_PATH; ${useWasm}`,
      };
    return { error: `${pkg} cannot load ${lib}`, fix: `make ${lib} visible (apt package or LD_LIBRARY_PATH); ${useWasm}` };
  }
  if (/NODE_MODULE_VERSION/.test(all)) {
    return {
      error: `${pkg} was compiled for a different Node.js version (NODE_MODULE_VERSION mismatch)`,
      fix: `run \`npm rebuild ${pkg}\` with this Node (${process.version}); ${useWasm}`,
    };
  }
  const glibc = /version `(GLIBC(?:XX)?_[\d.]+)' not found/.exec(all);
  if (glibc) {
    return { error: `${pkg}'s libtensorflow needs ${glibc[1]}, newer than this system's C library`, fix: `use a newer OS image or build libtensorflow from source; ${useWasm}` };
  }
  if (r.signal === "SIGILL") {
    return {
      error: `${pkg} crashed with SIGILL during ${r.stage}: libtensorflow uses CPU instructions (AVX/AVX2) this processor lacks`,
      fix: `remove ${pkg} (the prebuilt libtensorflow needs AVX) ${useWasm.replace(/^or /, "and ")}`,
    };
  }
  if (r.signal) {
    const cuda = pkg.endsWith("-gpu")
      ? " (with the GPU package this is usually a CUDA/cuDNN/driver version mismatch: tfjs-node-gpu 4.x needs CUDA 11.x with libcudart.so.11.0 and cuDNN 8)"
      : "";
    return {
      error: `${pkg} crashed with ${r.signal} during ${r.stage}${cuda}`,
      fix: `run \`node -e "require('${pkg}')"\` to see the crash; remove ${pkg} if it cannot be repaired, ${useWasm}`,
    };
  }
  if (/different copy of @tensorflow\/tfjs-core/.test(all)) {
    return {
      error: `${pkg} uses its own copy of @tensorflow/tfjs-core, so the kernel's tfjs cannot use its backend`,
      fix: `install ${pkg} at the same version as @tensorflow/tfjs and run \`npm dedupe\``,
    };
  }
  if (r.thrown && r.stage === "require" && /Cannot find module/.test(r.thrown)) {
    return { error: `${pkg} is incomplete: ${firstLine(r.thrown)}`, fix: `reinstall it with \`npm install ${pkg}\`; ${useWasm}` };
  }
  if (r.smoke && !r.smoke.ok) {
    return { error: `${pkg} computes wrong results: ${r.smoke.error ?? "matMul smoke test failed"}`, fix: `remove ${pkg} or reinstall a release build; ${useWasm}` };
  }
  const why = r.thrown ? firstLine(r.thrown) : r.exitCode ? `the probe exited with code ${r.exitCode} during ${r.stage}` : `the probe stopped during ${r.stage}`;
  return { error: `${pkg} failed to load: ${why}`, fix: `run \`node -e "require('${pkg}')"\` to see the whole error; ${useWasm}` };
}

function firstLine(s: string): string {
  return s.split("\n")[0].slice(0, 300);
}

/**
 * Why a GPU package that loaded fine still runs on the CPU, from
 * TensorFlow's own log lines (it skips the GPU silently otherwise).
 */
export function gpuFallbackReason(r: NativeProbeResult): string | null {
  if (!r.gpu || !r.gpu.isGPUPackage || r.gpu.isUsingGpuDevice) return null;
  const libs = new Set<string>();
  for (const line of r.stderrTail) {
    const m = /Could not load dynamic library '([^']+)'/.exec(line);
    if (m) libs.add(m[1]);
  }
  if (libs.size) return `TensorFlow could not load ${[...libs].join(", ")}, so it skipped the GPU`;
  return "TensorFlow registered no GPU device (no CUDA-capable GPU visible, or the driver is not loaded)";
}
