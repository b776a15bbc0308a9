// Probes the native kernels in a child process before the kernel process
// loads them: a binding built for another CPU dies with SIGILL, a broken
// install can hang. The child runs a smoke matMul against a plain loop and
// measures GFLOP/s on the shapes training uses. The verdict is cached on disk
// per binding file, Node and tscolab probe version, so training processes
// (sweep trials, CLI runs) do not each pay for a child.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { boundChild } from "../../util/bounded_child";
import { onMarkedLines } from "../../util/marked_lines";
import { matMulModel } from "./matmul_models";
import { locateOrt, nativeThreads, ortUnavailableReason } from "./ort_runtime";
import { compiledScript } from "../../util/compiled_script";

const PROBE_VERSION = 3;

export const nativeKernelSpeed = z.object({ kernel: z.string(), shape: z.string(), gflops: z.number() });
export const nativeProbeResult = z.object({
  ok: z.boolean(),
  version: z.string().nullable(),
  /** Why the native kernels are not usable (null when ok). */
  error: z.string().nullable(),
  smokeMaxError: z.number().nullable(),
  speeds: z.array(nativeKernelSpeed),
  /** Threads each timed call used. */
  threads: z.number().int(),
  /** How the calls reached onnxruntime (ort_runtime.ts' OrtRuntime.via); null when nothing loaded. */
  via: z.enum(["C API", "binding"]).nullable().default(null),
  elapsedMs: z.number(),
  /** ISO time of the probe (a cached verdict keeps its own). */
  probedAt: z.string(),
});
export type NativeProbeResult = z.infer<typeof nativeProbeResult>;

const MARK = "@@tscolab-native@@";

// The shapes timed for %verify_env: a Dense layer's forward product and its two gradients at batch 64.
const TIMED = [
  { kernel: "MatMul", m: 64, k: 1024, n: 512, transposeA: false, transposeB: false },
  { kernel: "MatMul dx (B transposed)", m: 64, k: 512, n: 1024, transposeA: false, transposeB: true },
  { kernel: "MatMul dW (A transposed)", m: 1024, k: 64, n: 512, transposeA: true, transposeB: false },
];

// Runs in the child. Plain JavaScript: it is sent as source text. It loads onnxruntime the way
// the kernel process will (loadOrtRuntime from the compiled ort_runtime.js), so the verdict is
// about the calls training will make.
function childMain(cfg: { runtimeModule: string; where: object; threads: number; models: string[]; timed: typeof TIMED; budgetMs: number }, mark: string): void {
  const say = (o: object) => process.stdout.write("\n" + mark + JSON.stringify(o) + "\n");
  try {
    say({ stage: "require" });
    const rt = require(cfg.runtimeModule).loadOrtRuntime(cfg.threads, undefined, cfg.where);
    const open = (b64: string) => rt.open(new Uint8Array(Buffer.from(b64, "base64")));
    const tensor = (name: string, data: Float32Array, dims: number[]) => ({ name, data, dims });
    const fill = (n: number, seed: number) => {
      const x = new Float32Array(n);
      let s = seed;
      for (let i = 0; i < n; i++) x[i] = (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
      return x;
    };
    say({ stage: "smoke" });
    const [m, k, n] = [37, 70, 29];
    const a = fill(m * k, 1);
    const b = fill(k * n, 2);
    const y = new Float32Array(m * n);
    open(cfg.models[0]).run([tensor("A", a, [m, k]), tensor("B", b, [k, n])], [tensor("Y", y, [m, n])]);
    let maxError = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        maxError = Math.max(maxError, Math.abs(s - y[i * n + j]));
      }
    if (!(maxError < 1e-4)) {
      say({ stage: "done", error: `the native matMul disagrees with a plain loop by ${maxError}`, smokeMaxError: maxError, via: rt.via });
      return;
    }
    say({ stage: "speed" });
    const speeds = [];
    const per = cfg.budgetMs / cfg.timed.length;
    for (let i = 0; i < cfg.timed.length; i++) {
      const t = cfg.timed[i];
      const s = open(cfg.models[i + 1]);
      const feeds = [tensor("A", fill(t.m * t.k, 3), t.transposeA ? [t.k, t.m] : [t.m, t.k]), tensor("B", fill(t.k * t.n, 4), t.transposeB ? [t.n, t.k] : [t.k, t.n])];
      const fetches = [tensor("Y", new Float32Array(t.m * t.n), [t.m, t.n])];
      s.run(feeds, fetches);
      let runs = 0;
      const start = process.hrtime.bigint();
      let ms = 0;
      do {
        s.run(feeds, fetches);
        runs++;
        ms = Number(process.hrtime.bigint() - start) / 1e6;
      } while (ms < per);
      speeds.push({ kernel: t.kernel, shape: `${t.m}×${t.k}·${t.k}×${t.n}`, gflops: Math.round((2 * t.m * t.k * t.n * runs) / ms / 1e5) / 10 });
    }
    say({ stage: "done", error: null, smokeMaxError: maxError, speeds, via: rt.via });
  } catch (e) {
    say({ stage: "done", error: String((e as Error)?.message ?? e) });
  }
}

export interface NativeProbeOptions {
  timeoutMs?: number;
  /** Milliseconds spent timing the kernels once the smoke test passed. */
  budgetMs?: number;
  signal?: AbortSignal;
  /** Ignore (and replace) a cached verdict. */
  fresh?: boolean;
  cacheDir?: string;
  /** The onnxruntime-node install to probe (default: the one this package resolves). */
  where?: ReturnType<typeof locateOrt>;
  /** Threads per native call (default: nativeThreads() of `env`). */
  threads?: number;
  env?: NodeJS.ProcessEnv;
}

export const defaultProbeCacheDir = (): string => path.join(os.tmpdir(), "tscolab-native-probe");

function cacheFile(dir: string, bindingPath: string, version: string, threads: number): string {
  const st = fs.statSync(bindingPath);
  const key = createHash("sha256")
    .update(JSON.stringify([PROBE_VERSION, bindingPath, st.size, st.mtimeMs, version, process.version, process.arch, threads]))
    .digest("hex")
    .slice(0, 24);
  return path.join(dir, `${key}.json`);
}

function readCache(file: string): NativeProbeResult | null {
  try {
    return nativeProbeResult.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  } catch {
    return null;
  }
}

function writeCache(file: string, result: NativeProbeResult): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(result));
    fs.renameSync(tmp, file);
  } catch {
    /* a read-only temp dir only costs the next process a probe */
  }
}

/** Probes (or recalls) whether the native kernels work on this machine; never throws. */
export async function probeNativeKernels(opts: NativeProbeOptions = {}): Promise<NativeProbeResult> {
  const where = opts.where ?? locateOrt();
  const unavailable = ortUnavailableReason(where);
  const started = Date.now();
  const setting = opts.threads !== undefined ? { threads: opts.threads } : nativeThreads(opts.env);
  const threads = "threads" in setting ? setting.threads : 1;
  const verdict = (error: string | null, extra: Partial<NativeProbeResult> = {}): NativeProbeResult => ({
    ok: error === null,
    version: where.version,
    error,
    smokeMaxError: null,
    speeds: [],
    threads,
    via: null,
    elapsedMs: Date.now() - started,
    probedAt: new Date().toISOString(),
    ...extra,
  });
  if (unavailable) return verdict(unavailable);
  if ("error" in setting) return verdict(setting.error);
  const file = cacheFile(opts.cacheDir ?? defaultProbeCacheDir(), where.bindingPath!, where.version!, threads);
  if (!opts.fresh) {
    const cached = readCache(file);
    if (cached) return cached;
  }
  const models = [
    matMulModel({ transposeA: false, transposeB: false, batched: false, bias: false, activation: "linear" }),
    ...TIMED.map((t) => matMulModel({ transposeA: t.transposeA, transposeB: t.transposeB, batched: false, bias: false, activation: "linear" })),
  ].map((m) => Buffer.from(m).toString("base64"));
  const runtimeModule = compiledScript(__dirname, path.join("engine", "backend", "native", "ort_runtime.js"));
  if (!runtimeModule) return verdict("tscolab is not built: its compiled ort_runtime.js is missing (run npm run build)");
  const cfg = { runtimeModule, where, threads, models, timed: TIMED, budgetMs: opts.budgetMs ?? 240 };
  const script = `(${childMain.toString()})(${JSON.stringify(cfg)}, ${JSON.stringify(MARK)});`;
  const result = await new Promise<NativeProbeResult>((resolve) => {
    const child = spawn(process.execPath, ["-e", script], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stage = "spawn";
    let reported: Partial<NativeProbeResult> & { error?: string | null } = {};
    let timedOut = false;
    onMarkedLines(child.stdout, MARK, (msg) => {
      stage = typeof msg.stage === "string" ? msg.stage : stage;
      if (msg.stage === "done") reported = msg as typeof reported;
    });
    child.stderr.resume();
    const release = boundChild(child, { timeoutMs: opts.timeoutMs ?? 20_000, signal: opts.signal, onTimeout: () => (timedOut = true) });
    child.on("error", (e) => {
      release();
      resolve(verdict(`cannot start a probe process: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      release();
      if (timedOut) return resolve(verdict(`the native kernels' probe hung during '${stage}' and was killed`));
      if (signal) return resolve(verdict(`the native kernels' probe died with ${signal} during '${stage}'`));
      if (stage !== "done") return resolve(verdict(`the native kernels' probe exited (code ${code}) during '${stage}'`));
      resolve(verdict(reported.error ?? null, { smokeMaxError: reported.smokeMaxError ?? null, speeds: reported.speeds ?? [], via: reported.via ?? null }));
    });
  });
  // A user's interrupt is not a verdict about the binding.
  if (!opts.signal?.aborted) writeCache(file, result);
  return result;
}
