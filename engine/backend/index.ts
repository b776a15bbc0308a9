// Backend selection: tensorflow-gpu → tensorflow → wasm → cpu, best first.
//
// Native bindings are only ever loaded into this process after a child
// process survived loading them (see ./native_probe.ts): a SIGILL or a hang
// in libtensorflow must not take the kernel down. wasm and cpu are pure
// JavaScript/WebAssembly and are probed in-process.
import path from "node:path";
// tfjs-core and the cpu backend, not all of @tensorflow/tfjs: layers,
// converter, data and webgl would double the load time of
// `tscolab verify-env`, and backends register on the core anyway.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { z } from "zod";
import { TscolabError } from "../errors";
import { detectGpus, trainingGpu } from "./gpu";
import { diagnoseNative, gpuFallbackReason, probeNative, type NativeProbeResult } from "./native_probe";
import { installFastKernels } from "./kernels";
import { nativeKernelsInForce, prepareNativeKernels } from "./native";
import { profileForDevice, type ProfileName } from "./profile";
import { smokeTestMatMul, type SmokeOutcome } from "./smoke";
import { envSecondsMs } from "../util/env_seconds";

export const BACKEND_ORDER = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export const backendName = z.enum(BACKEND_ORDER);
export type BackendName = z.infer<typeof backendName>;

/** npm package that provides each candidate. */
export const BACKEND_PACKAGES: Record<BackendName, string> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
};

/** The name tfjs registers each candidate under (both native packages register "tensorflow"). */
export const TFJS_BACKEND: Record<BackendName, string> = { "tensorflow-gpu": "tensorflow", tensorflow: "tensorflow", wasm: "wasm", cpu: "cpu" };

export const candidateReport = z.object({
  name: backendName,
  package: z.string(),
  installed: z.boolean(),
  version: z.string().nullable(),
  loadable: z.boolean(),
  smoke: z.boolean(),
  gflops: z.number().nullable(),
  /** Where the computation really runs: a GPU package without usable CUDA runs on the CPU. */
  device: z.enum(["gpu", "cpu"]).nullable(),
  error: z.string().optional(),
  fix: z.string().optional(),
  /** A GPU package that loaded but skipped the GPU, and why. */
  gpuFallback: z.string().optional(),
  probeMs: z.number(),
});
export type CandidateReport = z.infer<typeof candidateReport>;

export interface ProbeOptions {
  /** Folders to resolve backend packages from; defaults to this package's own resolution. */
  resolveFrom?: string[];
  /** The notebook's folder: packages installed there count too (default: process.cwd()). */
  cwd?: string;
  /** Child-process timeout for native bindings. */
  nativeTimeoutMs?: number;
  /** Milliseconds spent measuring GFLOP/s per candidate. */
  budgetMs?: number;
  signal?: AbortSignal;
}

/**
 * Resolves a package's entry file, or null when it is not installed. Looks
 * in `resolveFrom` first, then where the kernel's own tfjs lives, then in the
 * notebook's folder, so verify_env and ensureBackend always see the same set.
 */
export function resolvePackage(pkg: string, resolveFrom: string[] = [], cwd = process.cwd()): string | null {
  try {
    return require.resolve(pkg, { paths: [...resolveFrom, kernelModulesRoot(), cwd] });
  } catch {
    return null;
  }
}

/** The folder whose node_modules holds the kernel's @tensorflow/tfjs. */
export function kernelModulesRoot(): string {
  const pj = require.resolve("@tensorflow/tfjs/package.json");
  const parts = path.resolve(pj).split(path.sep);
  const i = parts.lastIndexOf("node_modules");
  return i > 0 ? parts.slice(0, i).join(path.sep) : path.dirname(pj);
}

/** The version in the package.json that owns `entry` (walking up from it). */
export function packageVersionOf(entry: string, pkg: string): string | null {
  let dir = path.dirname(entry);
  for (let i = 0; i < 8; i++) {
    try {
      const json = require(path.join(dir, "package.json"));
      if (json.name === pkg) return String(json.version ?? "") || null;
    } catch {
      /* keep walking up */
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** The kernel's own tfjs entry: backends must register on this copy to be usable. */
export function kernelTfjsEntry(): string {
  return require.resolve("@tensorflow/tfjs");
}

/** The tfjs-core the kernel's tfjs uses (the registry every backend must land in). */
export function kernelCoreEntry(): string {
  return require.resolve("@tensorflow/tfjs-core");
}

const emptyReport = (name: BackendName): CandidateReport => ({
  name,
  package: BACKEND_PACKAGES[name],
  installed: false,
  version: null,
  loadable: false,
  smoke: false,
  gflops: null,
  device: null,
  probeMs: 0,
});

function applySmoke(report: CandidateReport, s: SmokeOutcome | null): void {
  report.smoke = !!s?.ok;
  report.gflops = s?.ok ? s.gflops : null;
  if (s && !s.ok) {
    report.error = `${report.package} computes wrong results: ${s.error ?? "matMul smoke test failed"}`;
    report.fix = `do not train on '${report.name}'; reinstall ${report.package} at the version of @tensorflow/tfjs`;
  }
}

/**
 * How long a native binding may take to load and run its smoke test:
 * $TSCOLAB_PROBE_TIMEOUT seconds (a first GPU run that JIT-compiles PTX can
 * need minutes), else 30 s.
 */
export function nativeProbeTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return envSecondsMs(env, "TSCOLAB_PROBE_TIMEOUT", 30);
}

/** Probes a native candidate in a child process; never throws. */
export async function probeNativeCandidate(
  name: "tensorflow-gpu" | "tensorflow",
  opts: ProbeOptions = {},
): Promise<{ report: CandidateReport; raw: NativeProbeResult | null; entry: string | null }> {
  const report = emptyReport(name);
  const entry = resolvePackage(report.package, opts.resolveFrom, opts.cwd);
  if (!entry) return { report, raw: null, entry };
  report.installed = true;
  report.version = packageVersionOf(entry, report.package);
  const timeoutMs = opts.nativeTimeoutMs ?? nativeProbeTimeoutMs();
  const raw = await probeNative({ entry, packageName: report.package, tfjsEntry: kernelCoreEntry(), timeoutMs, budgetMs: opts.budgetMs, signal: opts.signal });
  report.probeMs = raw.elapsedMs;
  if (!raw.loadable) {
    const d = diagnoseNative(report.package, raw, timeoutMs);
    report.error = d.error;
    report.fix = d.fix;
    return { report, raw, entry };
  }
  report.loadable = true;
  applySmoke(report, raw.smoke);
  report.device = raw.gpu?.isUsingGpuDevice ? "gpu" : "cpu";
  const fallback = gpuFallbackReason(raw);
  if (fallback) report.gpuFallback = fallback;
  if (name === "tensorflow-gpu" && !raw.gpu) {
    report.gpuFallback = "the backend does not say whether it uses a GPU; assuming the CPU";
  }
  return { report, raw, entry };
}

/** Loads the wasm backend's registration into the kernel's tfjs; returns an error text or null. */
function registerWasm(opts: ProbeOptions): { entry: string | null; error?: string } {
  const entry = resolvePackage("@tensorflow/tfjs-backend-wasm", opts.resolveFrom, opts.cwd);
  if (!entry) return { entry };
  try {
    require(entry);
  } catch (e) {
    return { entry, error: `@tensorflow/tfjs-backend-wasm failed to load: ${(e as Error).message.split("\n")[0]}` };
  }
  if (!tf.findBackendFactory("wasm")) {
    return { entry, error: "@tensorflow/tfjs-backend-wasm registered on a different copy of @tensorflow/tfjs-core than the kernel's" };
  }
  return { entry };
}

/**
 * Probes wasm or cpu in this process (smoke test + GFLOP/s). The active
 * backend is restored afterwards, so probing never changes what cells run on.
 */
export async function probeInProcessCandidate(name: "wasm" | "cpu", opts: ProbeOptions = {}): Promise<CandidateReport> {
  const report = emptyReport(name);
  const started = Date.now();
  if (name === "wasm") {
    const reg = registerWasm(opts);
    if (!reg.entry) return report;
    report.installed = true;
    report.version = packageVersionOf(reg.entry, report.package);
    if (reg.error) {
      report.error = reg.error;
      report.fix = "install @tensorflow/tfjs-backend-wasm at the version of @tensorflow/tfjs and run `npm dedupe`";
      report.probeMs = Date.now() - started;
      return report;
    }
  } else {
    report.installed = true;
    report.version = packageVersionOf(kernelTfjsEntry(), "@tensorflow/tfjs");
  }
  const previous = tf.engine().backendName as string | null;
  try {
    const ok = await tf.setBackend(TFJS_BACKEND[name]);
    if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
    // The cpu backend prints a "install our node backend" banner on first use;
    // this report already says which backends exist and how fast they are.
    const instance = tf.findBackend(TFJS_BACKEND[name]) as { firstUse?: boolean } | null;
    if (instance && instance.firstUse === true) instance.firstUse = false;
    report.loadable = true;
    report.device = "cpu";
    applySmoke(report, smokeTestMatMul(tf, opts.budgetMs ?? 150));
  } catch (e) {
    report.error = `backend '${name}' failed to initialise: ${(e as Error).message.split("\n")[0]}`;
    report.fix = name === "wasm" ? "reinstall @tensorflow/tfjs-backend-wasm (its .wasm files must sit in its dist/ folder)" : "reinstall @tensorflow/tfjs";
  } finally {
    if (previous && previous !== tf.engine().backendName) await tf.setBackend(previous).catch(() => false);
  }
  report.probeMs = Date.now() - started;
  return report;
}

/** Probes every candidate, best first; never throws. Native probes run concurrently. */
export async function probeCandidates(opts: ProbeOptions = {}): Promise<{ reports: CandidateReport[]; native: Partial<Record<BackendName, NativeProbeResult | null>> }> {
  const nativeRuns = Promise.all([probeNativeCandidate("tensorflow-gpu", opts), probeNativeCandidate("tensorflow", opts)]);
  // In-process probes measure throughput; they run while the children load libtensorflow.
  const before = tf.engine().backendName as string | null;
  const wasm = await probeInProcessCandidate("wasm", opts);
  const cpu = await probeInProcessCandidate("cpu", opts);
  if (!before) {
    // No backend was active, so there is nothing to restore; leave tfjs where
    // its own default would have gone (wasm outranks cpu), not on the last probed.
    const fallback = wasm.loadable && wasm.smoke ? "wasm" : "cpu";
    if (tf.engine().backendName !== fallback) await tf.setBackend(fallback).catch(() => false);
  }
  const [gpu, native] = await nativeRuns;
  return { reports: [gpu.report, native.report, wasm, cpu], native: { "tensorflow-gpu": gpu.raw, tensorflow: native.raw } };
}

/** The best usable candidate (installed, loadable, smoke test passed), in BACKEND_ORDER. */
export function selectBackend(reports: CandidateReport[]): CandidateReport | undefined {
  for (const name of BACKEND_ORDER) {
    const r = reports.find((c) => c.name === name);
    if (r && r.installed && r.loadable && r.smoke) return r;
  }
  return undefined;
}

/** Reads $TSCOLAB_BACKEND / an explicit preference; "auto" or empty means no preference. */
export function parsePreference(prefer: string | undefined): BackendName | undefined {
  const p = prefer?.trim();
  if (!p || p === "auto") return undefined;
  const parsed = backendName.safeParse(p);
  if (!parsed.success) throw new TscolabError(`unknown backend '${p}'`, `use one of ${BACKEND_ORDER.join(", ")} or auto (in TSCOLAB_BACKEND or --backend)`);
  return parsed.data;
}

export interface EnsuredBackend {
  /** The candidate in force: tensorflow-gpu | tensorflow | wasm | cpu. */
  name: BackendName;
  /** The name tfjs knows it by (tf.getBackend()). */
  tfBackend: string;
  /** Where the math runs: gpu only for tensorflow-gpu with a usable CUDA device. */
  device: "gpu" | "cpu";
  /** Why this backend, in one line (which better ones were skipped and why). */
  reason: string;
  /** Patched kernels in force (from the speed work in engine/backend/kernels). */
  patches: string[];
  /** Whether large matMuls and convolution gradients run on native MLAS (wasm only), and why (not). */
  native: { on: boolean; reason: string; kernels: string[] };
  /** The training profile (batch size, checkpoint cadence ...) for the device this backend computes on, and why. */
  profile: { name: ProfileName; reason: string };
}

let ensured: { key: string; promise: Promise<EnsuredBackend> } | undefined;

/**
 * Selects and sets the tfjs backend for training: the preference
 * (`opts.prefer`, else $TSCOLAB_BACKEND) if given, else the best usable of
 * tensorflow-gpu → tensorflow → wasm → cpu. Idempotent: later calls reuse the
 * first decision (re-setting it if a cell switched tfjs's backend meanwhile).
 * An explicit preference that cannot work throws a TscolabError with the fix.
 */
export async function ensureBackend(opts: { prefer?: string } & ProbeOptions = {}): Promise<EnsuredBackend> {
  const preference = parsePreference(opts.prefer ?? process.env.TSCOLAB_BACKEND);
  const key = preference ?? "auto";
  if (!ensured || ensured.key !== key) {
    const source = opts.prefer !== undefined ? "prefer" : "TSCOLAB_BACKEND";
    const promise = chooseAndSet(preference, source, opts);
    ensured = { key, promise };
    promise.catch(() => {
      if (ensured?.promise === promise) ensured = undefined; // a failed choice is retried next time
    });
  }
  const chosen = await ensured.promise;
  if (tf.engine().backendName !== chosen.tfBackend) await tf.setBackend(chosen.tfBackend);
  return chosen;
}

/** Forgets the cached decision (tests; after installing a backend in a running kernel). */
export function resetEnsuredBackend(): void {
  ensured = undefined;
}

async function chooseAndSet(preference: BackendName | undefined, source: string, opts: ProbeOptions): Promise<EnsuredBackend> {
  const order = preference ? [preference] : BACKEND_ORDER;
  const skipped: string[] = [];
  for (const name of order) {
    const attempt = await tryBackend(name, opts);
    if (attempt.ok) {
      const reason = preference ? `requested with ${source}=${preference}` : skipped.length ? `best usable backend (${skipped.join("; ")})` : "best usable backend";
      const profile = await profileOf(name, attempt.device, opts.signal);
      // Native kernels serve the wasm backend only: tensorflow has its own, cpu is the reference.
      const native = TFJS_BACKEND[name] === "wasm" ? await prepareNativeKernels({ signal: opts.signal }) : { on: false, reason: `not used with the ${name} backend` };
      // The patched fast kernels for the chosen backend; `patches` names those in force.
      const patches = installFastKernels(TFJS_BACKEND[name]);
      return {
        name,
        tfBackend: TFJS_BACKEND[name],
        device: attempt.device,
        reason,
        patches,
        native: { on: native.on, reason: native.reason, kernels: nativeKernelsInForce() },
        profile,
      };
    }
    if (preference)
      throw new TscolabError(`backend '${name}' was requested but cannot be used: ${attempt.why}`, attempt.fix ?? "unset TSCOLAB_BACKEND to pick the best usable backend");
    skipped.push(`${name}: ${attempt.why}`);
  }
  throw new TscolabError(`no tfjs backend works (${skipped.join("; ")})`, "reinstall @tensorflow/tfjs with `npm install`");
}

/** The profile for the chosen backend; asks nvidia-smi only when a GPU is really in use. */
async function profileOf(name: BackendName, device: "gpu" | "cpu", signal?: AbortSignal): Promise<{ name: ProfileName; reason: string }> {
  if (device === "cpu") return { name: "cpu", reason: `training runs on the CPU through ${name}` };
  const gpus = await detectGpus({ signal });
  return profileForDevice({ backend: name, device, trainingGpu: trainingGpu(gpus), detectedGpus: gpus.devices });
}

type Attempt = { ok: true; device: "gpu" | "cpu" } | { ok: false; why: string; fix?: string };

async function tryBackend(name: BackendName, opts: ProbeOptions): Promise<Attempt> {
  if (name === "tensorflow-gpu" || name === "tensorflow") {
    const { report, entry } = await probeNativeCandidate(name, { ...opts, budgetMs: 1 });
    if (!report.installed || !entry) return { ok: false, why: "not installed" };
    if (!report.loadable || !report.smoke) return { ok: false, why: report.error ?? "failed its probe", fix: report.fix };
    require(entry); // safe now: a child process just loaded the same binding and ran it
    if (!(await tf.setBackend("tensorflow"))) return { ok: false, why: "tf.setBackend('tensorflow') failed in the kernel after the probe passed" };
    return { ok: true, device: report.device ?? "cpu" };
  }
  if (name === "wasm") {
    const reg = registerWasm(opts);
    if (!reg.entry) return { ok: false, why: "not installed" };
    if (reg.error) return { ok: false, why: reg.error };
  }
  try {
    if (!(await tf.setBackend(TFJS_BACKEND[name]))) return { ok: false, why: "failed to initialise" };
  } catch (e) {
    return { ok: false, why: `failed to initialise: ${(e as Error).message.split("\n")[0]}` };
  }
  return { ok: true, device: "cpu" };
}
