import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { detectGpus, findCudaLibraries, needsPtxJit, parseQueryRows } from "../engine/backend/gpu";

const fakes = path.join(__dirname, "fixtures/verify_env/nvidia-smi");
/** PATH with one fake nvidia-smi first; /bin and /usr/bin stay for sh and sleep. */
const envWith = (fake: string): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${path.join(fakes, fake)}:/usr/bin:/bin` });

describe("detectGpus with fake nvidia-smi on PATH", () => {
  it("T4: one device, optimized tier, compute capability 7.5", async () => {
    const g = await detectGpus({ env: envWith("t4") });
    expect(g.nvidiaSmi.status).toBe("ok");
    expect(g.present).toBe(true);
    expect(g.devices).toEqual([{ index: 0, name: "Tesla T4", memoryMiB: 15360, driver: "535.104.05", computeCapability: "7.5", tier: "optimized" }]);
  });

  it("V100 on a driver that refuses compute_cap: falls back to the query without it", async () => {
    const g = await detectGpus({ env: envWith("v100_old_driver") });
    expect(g.nvidiaSmi).toMatchObject({ status: "ok", computeCapQueried: false });
    expect(g.devices).toEqual([{ index: 0, name: "Tesla V100-SXM2-16GB", memoryMiB: 16160, driver: "470.82.01", computeCapability: null, tier: "enhanced" }]);
  });

  it("A100 and H100 are aggressive; H100 (9.0) needs PTX JIT, A100 (8.0) does not", async () => {
    const a = await detectGpus({ env: envWith("a100") });
    const h = await detectGpus({ env: envWith("h100") });
    expect(a.devices[0]).toMatchObject({ name: "NVIDIA A100-SXM4-40GB", tier: "aggressive", computeCapability: "8.0" });
    expect(h.devices[0]).toMatchObject({ name: "NVIDIA H100 80GB HBM3", memoryMiB: 81559, tier: "aggressive", computeCapability: "9.0" });
    expect(needsPtxJit("9.0")).toBe(true);
    expect(needsPtxJit("8.9")).toBe(true);
    expect(needsPtxJit("8.0")).toBe(false);
    expect(needsPtxJit(null)).toBe(false);
  });

  it("two GPUs are both listed, each with its own tier", async () => {
    const g = await detectGpus({ env: envWith("two_gpus") });
    expect(g.devices.map((d) => [d.index, d.name, d.tier])).toEqual([
      [0, "Tesla T4", "optimized"],
      [1, "NVIDIA L4", "enhanced"],
    ]);
    expect(g.nvidiaSmi.message).toMatch(/2 NVIDIA GPUs/);
  });

  it("memory reported as [N/A] (MIG) is null, not a crash", async () => {
    const g = await detectGpus({ env: envWith("mig_na") });
    expect(g.devices[0]).toMatchObject({ memoryMiB: null, tier: "aggressive" });
  });

  it("driver failure is reported with the driver's words, never thrown", async () => {
    const g = await detectGpus({ env: envWith("driver_failure") });
    expect(g.present).toBe(false);
    expect(g.nvidiaSmi.status).toBe("failed");
    expect(g.nvidiaSmi.message).toMatch(/exit 9.*couldn't communicate with the NVIDIA driver/);
  });

  it("garbage output is reported as garbled", async () => {
    const g = await detectGpus({ env: envWith("garbage") });
    expect(g).toMatchObject({ present: false, devices: [] });
    expect(g.nvidiaSmi.status).toBe("garbled");
  });

  it("a hanging nvidia-smi is killed at the timeout and reported", async () => {
    const t0 = Date.now();
    const g = await detectGpus({ env: envWith("hang"), timeoutMs: 700 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(g.nvidiaSmi.status).toBe("timeout");
    expect(g.nvidiaSmi.message).toMatch(/did not answer within 0.7 s/);
  });

  it("no nvidia-smi on PATH is 'missing'", async () => {
    const g = await detectGpus({ env: { ...process.env, PATH: "/nonexistent" } });
    expect(g.nvidiaSmi.status).toBe("missing");
    expect(g.present).toBe(false);
  });
});

describe("parseQueryRows", () => {
  it("rejects rows with the wrong shape", () => {
    expect(parseQueryRows("0, Tesla T4, 15360\n", true)).toBeNull();
    expect(parseQueryRows("x, Tesla T4, 15360, 535.1, 7.5\n", true)).toBeNull();
    expect(parseQueryRows("", true)).toBeNull();
  });
});

describe("findCudaLibraries", () => {
  it("finds the CUDA 11 libraries in a given folder, and spots a CUDA 12-only system", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-cuda-"));
    try {
      fs.writeFileSync(path.join(dir, "libcudart.so.12"), "");
      let r = findCudaLibraries({ dirs: [dir], ldconfig: false });
      expect(r.libraries.map((l) => l.found)).toEqual([false, false]);
      expect(r.cuda12Only).toBe(true);
      fs.writeFileSync(path.join(dir, "libcudart.so.11.0"), "");
      fs.writeFileSync(path.join(dir, "libcudnn.so.8"), "");
      r = findCudaLibraries({ dirs: [dir], ldconfig: false });
      expect(r.libraries).toEqual([
        { name: "libcudart.so.11.0", found: true, path: path.join(dir, "libcudart.so.11.0") },
        { name: "libcudnn.so.8", found: true, path: path.join(dir, "libcudnn.so.8") },
      ]);
      expect(r.cuda12Only).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
