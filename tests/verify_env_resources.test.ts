// Resources as training can really use them: container (cgroup v2) limits
// win over the host's numbers; free disk is read from the nearest existing
// folder of the Drive root.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freeDiskMiB, memory, usableCores, wasmFeatures } from "../engine/env/resources";

const dirs: string[] = [];
const cgroup = (files: Record<string, string>): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-cgroup-"));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const hostCores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;

describe("usableCores", () => {
  it("a CPU quota of 1.5 cores counts as 2 (never more than the host has), 'max' means the host's", () => {
    expect(usableCores(cgroup({ "cpu.max": "150000 100000\n" }))).toBe(Math.min(2, hostCores));
    expect(usableCores(cgroup({ "cpu.max": "50000 100000\n" }))).toBe(1);
    expect(usableCores(cgroup({ "cpu.max": "max 100000\n" }))).toBe(hostCores);
    expect(usableCores(cgroup({}))).toBe(hostCores);
  });
});

describe("memory", () => {
  it("a cgroup memory limit below the host's caps total and free", () => {
    const m = memory(cgroup({ "memory.max": String(512 * 1024 * 1024), "memory.current": String(384 * 1024 * 1024) }));
    expect(m).toEqual({ totalMiB: 512, freeMiB: 128 });
  });
  it("no limit ('max') gives the host's numbers", () => {
    const m = memory(cgroup({ "memory.max": "max\n" }));
    expect(m.totalMiB).toBe(Math.round(os.totalmem() / 1024 / 1024));
  });
});

describe("freeDiskMiB", () => {
  it("a Drive root that does not exist yet is measured on its nearest existing parent", () => {
    const base = cgroup({});
    const direct = freeDiskMiB(base)!;
    const later = freeDiskMiB(path.join(base, "not", "yet", "created"))!;
    expect(direct).toBeGreaterThan(0);
    expect(Math.abs(later - direct)).toBeLessThan(64); // same file system, give or take other writers
  });
});

describe("wasmFeatures", () => {
  it("Node 20 validates the SIMD and threads probe modules", () => {
    expect(wasmFeatures()).toEqual({ simd: true, threads: true });
  });
});
