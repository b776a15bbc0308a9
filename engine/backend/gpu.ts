// GPU detection through `nvidia-smi`, bounded by a timeout. Every way it can
// go wrong (not installed, driver not loaded, output nobody can parse, a
// hang) becomes a status with a message: detection never throws, because a
// broken GPU must not stop someone from training on the CPU.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { boundChild } from "../util/bounded_child";
import { gpuTier, profileName } from "./profile";

export const gpuDevice = z.object({
  index: z.number().int(),
  name: z.string(),
  /** Total memory; null when the driver reports N/A (MIG slices, some vGPUs). */
  memoryMiB: z.number().nullable(),
  driver: z.string(),
  /** "8.0" etc.; null when the driver is too old to report it. */
  computeCapability: z.string().nullable(),
  /** The device's own class by name and memory (gpuTier), reported even when no backend can use it. */
  tier: profileName.exclude(["cpu"]),
});
export type GpuDevice = z.infer<typeof gpuDevice>;

export const nvidiaSmiStatus = z.enum(["ok", "missing", "failed", "garbled", "timeout"]);

export const gpuDetection = z.object({
  present: z.boolean(),
  devices: z.array(gpuDevice),
  nvidiaSmi: z.object({
    status: nvidiaSmiStatus,
    /** What happened, in one line (the driver's own words when it failed). */
    message: z.string(),
    /** False when the driver refused the compute_cap field and we queried without it. */
    computeCapQueried: z.boolean(),
    elapsedMs: z.number(),
  }),
});
export type GpuDetection = z.infer<typeof gpuDetection>;

export interface DetectOptions {
  /** Environment whose PATH finds nvidia-smi (tests put fake ones first). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const FIELDS = ["index", "name", "memory.total", "driver_version", "compute_cap"] as const;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
  timedOut: boolean;
}

function run(cmd: string, args: string[], opts: DetectOptions, deadline: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const res: RunResult = { code: null, stdout: "", stderr: "", timedOut: false };
    let child;
    try {
      child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    } catch (e) {
      res.error = e as NodeJS.ErrnoException;
      return resolve(res);
    }
    const release = boundChild(child, { timeoutMs: deadline - Date.now(), signal: opts.signal, onTimeout: () => (res.timedOut = true) });
    child.stdout!.on("data", (d: Buffer) => (res.stdout = (res.stdout + d.toString()).slice(-65_536)));
    child.stderr!.on("data", (d: Buffer) => (res.stderr = (res.stderr + d.toString()).slice(-65_536)));
    child.on("error", (e) => {
      res.error = e;
    });
    child.on("close", (code) => {
      release();
      res.code = code;
      resolve(res);
    });
  });
}

const firstLine = (s: string): string =>
  s
    .split("\n")
    .map((l) => l.trim())
    .find(Boolean)
    ?.slice(0, 300) ?? "";

/** Parses `--format=csv,noheader,nounits` rows; null when any row does not fit. */
export function parseQueryRows(stdout: string, withComputeCap: boolean): GpuDevice[] | null {
  const lines = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (!lines.length) return null;
  const devices: GpuDevice[] = [];
  for (const line of lines) {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== (withComputeCap ? 5 : 4)) return null;
    const [index, name, mem, driver, cap] = cells;
    if (!/^\d+$/.test(index) || !name || /[\u0000-\u001f\ufffd]/.test(name)) return null;
    const memoryMiB = /^\d+(\.\d+)?$/.test(mem) ? Math.round(Number(mem)) : /N\/A|Not Supported/i.test(mem) ? null : NaN;
    if (Number.isNaN(memoryMiB)) return null;
    if (!/^\d+(\.\d+)*$/.test(driver)) return null;
    const computeCapability = withComputeCap && /^\d+\.\d+$/.test(cap) ? cap : null;
    devices.push({ index: Number(index), name, memoryMiB, driver, computeCapability, tier: gpuTier(name, memoryMiB ?? 0) });
  }
  return devices;
}

/**
 * Lists NVIDIA GPUs. Asks for compute_cap first; drivers older than 510
 * refuse that field ("not a valid field to query"), so it asks again without.
 */
export async function detectGpus(opts: DetectOptions = {}): Promise<GpuDetection> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 5_000);
  const result = (status: z.infer<typeof nvidiaSmiStatus>, message: string, devices: GpuDevice[] = [], computeCapQueried = true): GpuDetection => ({
    present: devices.length > 0,
    devices,
    nvidiaSmi: { status, message, computeCapQueried, elapsedMs: Date.now() - started },
  });
  let withCap = true;
  for (;;) {
    const fields = withCap ? FIELDS : FIELDS.filter((f) => f !== "compute_cap");
    const r = await run("nvidia-smi", [`--query-gpu=${fields.join(",")}`, "--format=csv,noheader,nounits"], opts, deadline);
    if (r.error?.code === "ENOENT") return result("missing", "nvidia-smi is not on PATH: no NVIDIA driver tools, so no NVIDIA GPU is usable");
    if (r.error) return result("failed", `nvidia-smi could not be started: ${r.error.message}`);
    if (r.timedOut)
      return result("timeout", `nvidia-smi did not answer within ${Math.round((opts.timeoutMs ?? 5_000) / 100) / 10} s (a wedged driver or a GPU falling off the bus)`);
    const said = `${r.stdout}\n${r.stderr}`;
    if (r.code !== 0) {
      if (withCap && /compute_cap/i.test(said) && /not a valid field|invalid|unknown/i.test(said)) {
        withCap = false;
        continue;
      }
      return result("failed", `nvidia-smi failed (exit ${r.code}): ${firstLine(said) || "no output"}`, [], withCap);
    }
    const devices = parseQueryRows(r.stdout, withCap);
    if (!devices) return result("garbled", `nvidia-smi printed output that is not the requested CSV: "${firstLine(said).slice(0, 120)}"`, [], withCap);
    const names = devices.map((d) => d.name).join(", ");
    return result("ok", `${devices.length} NVIDIA GPU${devices.length > 1 ? "s" : ""}: ${names}`, devices, withCap);
  }
}

/** The GPU TensorFlow computes on first: device 0, or the first one CUDA_VISIBLE_DEVICES names. */
export function trainingGpu(g: GpuDetection, env: NodeJS.ProcessEnv = process.env): GpuDevice | null {
  const first = env.CUDA_VISIBLE_DEVICES?.split(",")[0]?.trim();
  if (first && /^\d+$/.test(first)) return g.devices.find((d) => d.index === Number(first)) ?? null;
  return g.devices[0] ?? null;
}

/** The CUDA runtime libraries tfjs-node-gpu 4.x (libtensorflow 2.9, CUDA 11.2) loads at start-up. */
export const CUDA_LIBRARIES = ["libcudart.so.11.0", "libcudnn.so.8"] as const;

export const cudaLibrary = z.object({ name: z.string(), found: z.boolean(), path: z.string().nullable() });
export type CudaLibrary = z.infer<typeof cudaLibrary>;

export interface CudaSearchOptions {
  /** Folders to look in besides the dynamic linker's cache; defaults to LD_LIBRARY_PATH + the usual CUDA folders. */
  dirs?: string[];
  /** Whether to consult `ldconfig -p` (the dynamic linker's own list). */
  ldconfig?: boolean;
  env?: NodeJS.ProcessEnv;
}

function defaultCudaDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean);
  const roots = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib"];
  try {
    for (const e of fs.readdirSync("/usr/local")) if (/^cuda-\d/.test(e)) roots.push(`/usr/local/${e}/lib64`);
  } catch {
    /* no /usr/local */
  }
  return [...dirs, ...roots];
}

let ldconfigCache: string | undefined;
function ldconfigList(): string {
  if (ldconfigCache === undefined) {
    for (const cmd of ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
      const r = spawnSync(cmd, ["-p"], { encoding: "utf8", timeout: 2_000 });
      if (r.status === 0) {
        ldconfigCache = r.stdout;
        break;
      }
    }
    ldconfigCache ??= "";
  }
  return ldconfigCache;
}

/** Finds a shared library by exact soname; returns its path or null. */
export function findLibrary(name: string, opts: CudaSearchOptions = {}): string | null {
  const env = opts.env ?? process.env;
  for (const dir of opts.dirs ?? defaultCudaDirs(env)) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  if (opts.ldconfig ?? true) {
    const m = new RegExp(`^\\s*${name.replace(/\./g, "\\.")} \\(.*\\) => (.+)$`, "m").exec(ldconfigList());
    if (m) return m[1].trim();
  }
  return null;
}

/** The CUDA 11 libraries tfjs-node-gpu needs, plus whether only a CUDA 12+ runtime is present (and where). */
export function findCudaLibraries(opts: CudaSearchOptions = {}): { libraries: CudaLibrary[]; cuda12Only: boolean; newerCudaRuntime: string | null } {
  const libraries = CUDA_LIBRARIES.map((name) => {
    const p = findLibrary(name, opts);
    return { name, found: p !== null, path: p };
  });
  const newer = ["libcudart.so.12", "libcudart.so.13", "libcudart.so.14"].map((n) => findLibrary(n, opts)).find((p) => p !== null) ?? null;
  return { libraries, cuda12Only: !libraries[0].found && newer !== null, newerCudaRuntime: newer };
}

/**
 * libtensorflow 2.9 (tfjs-node-gpu 4.x) ships machine code up to Ampere;
 * newer GPUs (Ada 8.9, Hopper 9.0, Blackwell) run it only after the driver
 * JIT-compiles PTX, which takes minutes on first use and may not work at all.
 */
export function needsPtxJit(computeCapability: string | null): boolean {
  if (!computeCapability) return false;
  const [major, minor] = computeCapability.split(".").map(Number);
  return major > 8 || (major === 8 && minor >= 9);
}
