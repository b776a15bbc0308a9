// CPU cores, memory, free disk under the Drive root and WebAssembly
// features. Container limits (cgroup v2) win over the host's numbers, since
// that is what training can really use.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { VerifyEnvReport } from "./report";

const MiB = 1024 * 1024;

function readFirstLine(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8").split("\n")[0].trim();
  } catch {
    return null;
  }
}

/** Cores this process may use: the cgroup CPU quota if one is set, else the host's. */
export function usableCores(cgroupRoot = "/sys/fs/cgroup"): number {
  const host = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  const quota = readFirstLine(path.join(cgroupRoot, "cpu.max"));
  const m = quota && /^(\d+)\s+(\d+)$/.exec(quota);
  if (m) return Math.max(1, Math.min(host, Math.ceil(Number(m[1]) / Number(m[2]))));
  return host;
}

/** Total and free memory, capped by the cgroup memory limit when there is one. */
export function memory(cgroupRoot = "/sys/fs/cgroup"): { totalMiB: number; freeMiB: number } {
  let total = os.totalmem();
  let free = os.freemem();
  const max = readFirstLine(path.join(cgroupRoot, "memory.max"));
  const cur = readFirstLine(path.join(cgroupRoot, "memory.current"));
  if (max && /^\d+$/.test(max) && Number(max) < total) {
    total = Number(max);
    if (cur && /^\d+$/.test(cur)) free = Math.min(free, Math.max(0, total - Number(cur)));
  }
  return { totalMiB: Math.round(total / MiB), freeMiB: Math.round(free / MiB) };
}

/** Free space on the file system that holds `dir` (or its nearest existing ancestor). */
export function freeDiskMiB(dir: string): number | null {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const s = fs.statfsSync(d);
      return Math.round((Number(s.bavail) * Number(s.bsize)) / MiB);
    } catch {
      const up = path.dirname(d);
      if (up === d) return null;
      d = up;
    }
  }
}

// Minimal modules using a v128 instruction and a shared memory: valid only
// where the engine supports SIMD / threads (the bytes wasm-feature-detect uses).
const SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11);
const THREADS_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11);

export function wasmFeatures(): { simd: boolean; threads: boolean } {
  // tsconfig's lib has no DOM, where the WebAssembly typings live.
  const wasm = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
  const validate = (bytes: Uint8Array) => {
    try {
      return !!wasm && wasm.validate(bytes);
    } catch {
      return false;
    }
  };
  return { simd: validate(SIMD_PROBE), threads: typeof SharedArrayBuffer === "function" && validate(THREADS_PROBE) };
}

export function collectResources(driveRoot: string): VerifyEnvReport["resources"] {
  const mem = memory();
  const wasm = wasmFeatures();
  return {
    cpuCores: usableCores(),
    cpuModel: os.cpus()[0]?.model?.trim() ?? "unknown",
    memoryMiB: mem.totalMiB,
    freeMemoryMiB: mem.freeMiB,
    driveRoot,
    freeDiskMiB: freeDiskMiB(driveRoot),
    wasmSimd: wasm.simd,
    wasmThreads: wasm.threads,
  };
}
