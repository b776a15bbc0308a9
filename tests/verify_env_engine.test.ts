// verifyEnv end to end: fake GPUs on PATH, fake native packages, notebook
// folders with a second tfjs-core, TSCOLAB_BACKEND, rendering and exit codes.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { getMagic, invokeMagic } from "../magics";
import type { MagicContext } from "../magics/types";
import { verifyEnv, type VerifyEnvOptions } from "../engine/env/verify_env";
import { renderHtml, renderReport, renderText } from "../magics/verify_env/render";
import type { VerifyEnvReport } from "../engine/env/report";
import { cleanScratch, envWithFakeSmi, fakePackage, installFakeNative, scratchDir } from "./fixtures/verify_env/scratch";

afterAll(cleanScratch);

const noCuda = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-nocuda-"));
const fast: VerifyEnvOptions = { budgetMs: 10, cudaDirs: [noCuda] };
const check = (r: VerifyEnvReport, id: string) => r.checks.find((c) => c.id === id);
const withoutBackendEnv = (): NodeJS.ProcessEnv => {
  const { TSCOLAB_BACKEND: _drop, ...rest } = process.env;
  return { ...rest, PATH: "/usr/bin:/bin" };
};

describe("verifyEnv on this machine (no GPU, no native binding)", () => {
  it("returns the report's keys, selects wasm, profile cpu, and does not change the active backend", async () => {
    await tf.setBackend("cpu");
    const r = await verifyEnv({ ...fast, env: withoutBackendEnv() });
    expect(tf.getBackend()).toBe("cpu");
    expect(["ok", "warn"]).toContain(r.status);
    expect(r.backend.selected).toBe("wasm");
    expect(r.backend.candidates.map((c) => c.name)).toEqual(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]);
    for (const c of r.backend.candidates) expect(Object.keys(c)).toEqual(expect.arrayContaining(["name", "installed", "loadable", "smoke"]));
    expect(r.backend.candidates[2]).toMatchObject({ installed: true, loadable: true, smoke: true });
    expect(r.backend.candidates[2].gflops).toBeGreaterThan(0);
    expect(r.gpu).toMatchObject({ present: false, devices: [] });
    expect(r.profile.name).toBe("cpu");
    expect(r.profile.reason).toMatch(/training runs on the CPU through wasm at [\d.]+ GFLOP\/s; no GPU detected/);
    expect(r.versions.node).toBe(process.version);
    expect(r.versions.cellTypescript).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.versions.tensorflow["@tensorflow/tfjs-core"]).toBe("4.22.0");
    expect(r.tfjsCore.copies).toHaveLength(1);
    expect(r.tfjsCore.copies[0].usedBy).toEqual(["kernel", "notebook"]);
    expect(r.resources.cpuCores).toBeGreaterThan(0);
    expect(r.resources.freeDiskMiB).toBeGreaterThan(0);
    expect(r.resources.wasmSimd).toBe(true);
    for (const c of r.checks) expect(Object.keys(c)).toEqual(expect.arrayContaining(["id", "status", "message"]));
    expect(check(r, "gpu.nvidia-smi")).toMatchObject({ status: "ok", message: "no NVIDIA GPU: nvidia-smi is not on PATH" });
  });

  it("measures free disk under --drive", async () => {
    const drive = scratchDir("drive");
    const r = await verifyEnv({ ...fast, drive, env: withoutBackendEnv() });
    expect(r.resources.driveRoot).toBe(drive);
    expect(check(r, "resources.disk")?.message).toContain(drive);
  });
});

describe("GPUs through fake nvidia-smi", () => {
  it("a T4 that no backend can use: tier optimized, profile cpu, a warn saying training runs on the CPU and why", async () => {
    const r = await verifyEnv({ ...fast, env: envWithFakeSmi("t4") });
    expect(r.status).toBe("warn");
    expect(r.gpu.present).toBe(true);
    expect(r.gpu.devices).toEqual([{ index: 0, name: "Tesla T4", memoryMiB: 15360, driver: "535.104.05", computeCapability: "7.5", tier: "optimized" }]);
    expect(r.profile.name).toBe("cpu");
    expect(r.profile.reason).toMatch(/the GPU is unused \(Tesla T4 would be optimized\)/);
    const usable = check(r, "gpu.usable")!;
    expect(usable.status).toBe("warn");
    expect(usable.message).toBe(
      "Tesla T4 detected, but training will run on the CPU (wasm): @tensorflow/tfjs-node-gpu is not installed, and no other tfjs backend can use an NVIDIA GPU",
    );
    expect(usable.fix).toMatch(/install @tensorflow\/tfjs-node-gpu@4.22.0 where libcudart.so.11.0 and libcudnn.so.8 are present/);
    expect(check(r, "gpu.cuda-libraries")).toMatchObject({ status: "warn" });
    expect(r.gpu.cuda12Only).toBe(false);
    expect(check(r, "gpu.cuda-libraries")!.message).toMatch(/libcudart.so.11.0 and libcudnn.so.8 not found: tfjs-node-gpu would silently fall back to the CPU/);
  });

  it("a CUDA 12-only system is named as such", async () => {
    const dir = scratchDir("cuda12");
    fs.writeFileSync(path.join(dir, "libcudart.so.12"), "");
    const r = await verifyEnv({ ...fast, cudaDirs: [dir], env: envWithFakeSmi("t4") });
    expect(r.gpu.cuda12Only).toBe(true);
    expect(check(r, "gpu.cuda-libraries")!.message).toContain(`only a newer CUDA runtime is installed (${path.join(dir, "libcudart.so.12")})`);
  });

  it("V100 on an old driver, A100, H100 and two GPUs each get their own tier; H100 warns about PTX JIT", async () => {
    const v100 = await verifyEnv({ ...fast, env: envWithFakeSmi("v100_old_driver") });
    expect(v100.gpu.devices[0]).toMatchObject({ tier: "enhanced", computeCapability: null });
    expect(check(v100, "gpu.nvidia-smi")!.message).toMatch(/driver too old to report compute capability/);
    const a100 = await verifyEnv({ ...fast, env: envWithFakeSmi("a100") });
    expect(a100.gpu.devices[0].tier).toBe("aggressive");
    expect(a100.checks.some((c) => c.id.startsWith("gpu.ptx-jit"))).toBe(false);
    const h100 = await verifyEnv({ ...fast, env: envWithFakeSmi("h100") });
    expect(check(h100, "gpu.ptx-jit.0")).toMatchObject({ status: "warn" });
    expect(check(h100, "gpu.ptx-jit.0")!.message).toMatch(/NVIDIA H100 80GB HBM3 \(compute 9.0\).*JIT-compiles its PTX/);
    const two = await verifyEnv({ ...fast, env: envWithFakeSmi("two_gpus") });
    expect(two.gpu.devices.map((d) => `${d.name}:${d.tier}`)).toEqual(["Tesla T4:optimized", "NVIDIA L4:enhanced"]);
    expect(check(two, "gpu.usable")!.message).toMatch(/^Tesla T4, NVIDIA L4 detected, but training will run on the CPU/);
  });

  it.each([
    ["driver_failure", "failed", /couldn't communicate with the NVIDIA driver\. .*installed and running; training will run on the CPU$/],
    ["garbage", "garbled", /not the requested CSV/],
    ["hang", "timeout", /did not answer within 0.5 s/],
  ])("nvidia-smi %s is a warn in the report, never a throw", async (fake, status, message) => {
    const r = await verifyEnv({ ...fast, gpuTimeoutMs: 500, env: envWithFakeSmi(fake) });
    expect(r.status).toBe("warn");
    expect(r.gpu.nvidiaSmi.status).toBe(status);
    expect(r.gpu.present).toBe(false);
    expect(check(r, "gpu.nvidia-smi")).toMatchObject({ status: "warn", message: expect.stringMatching(message) });
    expect(check(r, "gpu.nvidia-smi")!.fix).toBeTruthy();
  });
});

describe("GPU backends (fake tfjs-node-gpu packages)", () => {
  it("a working GPU backend on an A100 selects tensorflow-gpu and the aggressive profile", async () => {
    const root = installFakeNative(scratchDir("gpu-ok"), "gpu_working", "tfjs-node-gpu");
    const r = await verifyEnv({ ...fast, resolveFrom: [root], env: envWithFakeSmi("a100") });
    expect(r.backend.selected).toBe("tensorflow-gpu");
    expect(r.backend.candidates[0]).toMatchObject({ installed: true, loadable: true, smoke: true, device: "gpu" });
    expect(r.profile).toMatchObject({ name: "aggressive" });
    expect(r.profile.reason).toMatch(/training runs on NVIDIA A100-SXM4-40GB \(40960 MiB\) through tensorflow-gpu/);
    expect(check(r, "gpu.usable")).toMatchObject({ status: "ok" });
  });

  it("CUDA_VISIBLE_DEVICES picks which of two GPUs sets the profile", async () => {
    const root = installFakeNative(scratchDir("gpu-cvd"), "gpu_working", "tfjs-node-gpu");
    const r = await verifyEnv({ ...fast, resolveFrom: [root], env: envWithFakeSmi("two_gpus", { CUDA_VISIBLE_DEVICES: "1" }) });
    expect(r.profile.name).toBe("enhanced");
    expect(r.profile.reason).toMatch(/NVIDIA L4/);
  });

  it("tfjs-node-gpu silently on the CPU: profile cpu, and the warn says why (missing CUDA 11 libraries)", async () => {
    const root = installFakeNative(scratchDir("gpu-fallback"), "gpu_fallback", "tfjs-node-gpu");
    const r = await verifyEnv({ ...fast, resolveFrom: [root], env: envWithFakeSmi("t4") });
    expect(r.backend.selected).toBe("tensorflow-gpu");
    expect(r.backend.candidates[0].device).toBe("cpu");
    expect(r.profile.name).toBe("cpu");
    expect(check(r, "backend.tensorflow-gpu")).toMatchObject({ status: "warn" });
    expect(check(r, "gpu.usable")!.message).toMatch(/runs on the CPU: TensorFlow could not load libcudart.so.11.0, libcublas.so.11, libcudnn.so.8/);
  });

  it("a crashing tfjs-node is a warn with its remedy; training still has wasm", async () => {
    const root = installFakeNative(scratchDir("crash"), "sigill");
    const r = await verifyEnv({ ...fast, resolveFrom: [root], env: withoutBackendEnv() });
    expect(r.status).toBe("warn");
    expect(r.backend.selected).toBe("wasm");
    expect(check(r, "backend.tensorflow")).toMatchObject({ status: "warn", message: expect.stringMatching(/SIGILL/), fix: expect.stringMatching(/TSCOLAB_BACKEND=wasm/) });
  });
});

describe("tfjs-core copies and versions", () => {
  it("a second tfjs-core in the notebook folder's node_modules is a fail naming both versions, with the fix", async () => {
    const notebook = scratchDir("notebook");
    const extra = fakePackage(notebook, "@tensorflow/tfjs-core", "4.10.0");
    const r = await verifyEnv({ ...fast, cwd: notebook, env: withoutBackendEnv() });
    expect(r.status).toBe("fail");
    expect(r.tfjsCore.copies.map((c) => [c.version, c.usedBy])).toEqual(
      expect.arrayContaining([
        ["4.22.0", ["kernel"]],
        ["4.10.0", ["notebook"]],
      ]),
    );
    const c = check(r, "tfjs.core-copies")!;
    expect(c.status).toBe("fail");
    expect(c.message).toMatch(/^2 copies of @tensorflow\/tfjs-core: /);
    expect(c.message).toContain(`4.10.0 at ${extra} (used by the notebook)`);
    expect(c.message).toMatch(/4\.22\.0 at \S+ \(used by the kernel\)/);
    expect(c.fix).toContain(`delete ${extra}`);
  });

  it("a nested copy under another package also counts", async () => {
    const notebook = scratchDir("nested");
    fakePackage(notebook, "@tensorflow/tfjs-layers", "4.22.0");
    const nested = fakePackage(notebook, "@tensorflow/tfjs-layers/node_modules/@tensorflow/tfjs-core", "4.22.0");
    const r = await verifyEnv({ ...fast, cwd: notebook, env: withoutBackendEnv() });
    expect(r.tfjsCore.copies.find((c) => c.path === nested)).toMatchObject({ version: "4.22.0", usedBy: [] });
    expect(check(r, "tfjs.core-copies")!.status).toBe("fail");
  });

  it("a tfjs package out of line with tfjs-core is a fail naming both versions", async () => {
    const notebook = scratchDir("offline");
    fakePackage(notebook, "@tensorflow/tfjs-node", "4.20.0");
    const r = await verifyEnv({ ...fast, cwd: notebook, env: withoutBackendEnv() });
    const c = check(r, "tfjs.versions")!;
    expect(c).toMatchObject({ status: "fail", message: "@tensorflow versions out of line with @tensorflow/tfjs-core 4.22.0: @tensorflow/tfjs-node 4.20.0" });
    expect(c.fix).toMatch(/npm install @tensorflow\/tfjs-node@4.22.0/);
  });
});

describe("TSCOLAB_BACKEND", () => {
  it("cpu is honoured (ok), a missing backend or an unknown name is a fail", async () => {
    const cpu = await verifyEnv({ ...fast, env: { ...withoutBackendEnv(), TSCOLAB_BACKEND: "cpu" } });
    expect(cpu.backend).toMatchObject({ selected: "cpu", requested: "cpu" });
    expect(check(cpu, "backend.selected")).toMatchObject({ status: "ok", message: expect.stringMatching(/as TSCOLAB_BACKEND requests/) });
    const missing = await verifyEnv({ ...fast, env: { ...withoutBackendEnv(), TSCOLAB_BACKEND: "tensorflow" } });
    expect(missing.status).toBe("fail");
    expect(missing.backend.selected).toBeNull();
    expect(check(missing, "backend.selected")!.message).toBe("TSCOLAB_BACKEND=tensorflow but that backend cannot be used: @tensorflow/tfjs-node is not installed");
    const bogus = await verifyEnv({ ...fast, env: { ...withoutBackendEnv(), TSCOLAB_BACKEND: "cuda" } });
    expect(check(bogus, "backend.selected")).toMatchObject({ status: "fail", message: "TSCOLAB_BACKEND=cuda is not a backend" });
  });
});

describe("rendering and the magic", () => {
  const ctx = (cwd: string): MagicContext & { shown: unknown[] } => {
    const shown: unknown[] = [];
    return {
      shown,
      cwd,
      signal: new AbortController().signal,
      variables: {},
      rich: true,
      stdout: () => {},
      stderr: () => {},
      display: (b) => {
        shown.push(b);
        return { update: (u) => shown.push(u) };
      },
    };
  };

  it("renders a compact HTML table (status, finding, fix) with escaping and a text fallback", async () => {
    const r = await verifyEnv({ ...fast, env: envWithFakeSmi("t4") });
    r.checks.push({ id: "x", status: "fail", message: "<script>alert(1)</script>", fix: "a & b" });
    const html = renderHtml(r);
    expect(html).toMatch(/<th[^>]*>status<\/th><th[^>]*>check<\/th><th[^>]*>finding<\/th><th[^>]*>fix<\/th>/);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("a &amp; b");
    expect(html).not.toContain("<script>");
    const text = renderText(r);
    expect(text.split("\n")[0]).toMatch(/^verify_env: WARN · backend wasm \([\d.]+ GFLOP\/s\) \+ native MLAS · profile cpu · GPU Tesla T4 \[optimized\]/);
    expect(text).toMatch(/⚠ warn gpu\.usable +Tesla T4 detected/);
    expect(text).toMatch(/\n +fix: to train on the GPU/);
    expect(renderReport(r, true)["text/plain"]).toBe(JSON.stringify(r, null, 2));
  });

  it("%verify_env --json through the registry: JSON bundle; exit code 1 on fail, 0 on warn", async () => {
    const notebook = scratchDir("magic");
    const out = await invokeMagic("verify_env", "--json", ctx(notebook));
    expect(out.bundle!["application/json"]).toBe(out.result);
    const spec = getMagic("verify_env")!;
    const report = out.result as VerifyEnvReport;
    expect(spec.exitCode!(report)).toBe(report.status === "fail" ? 1 : 0);
    expect(spec.exitCode!({ ...report, status: "warn" })).toBe(0);
    expect(spec.exitCode!({ ...report, status: "fail" })).toBe(1);
    fakePackage(notebook, "@tensorflow/tfjs-core", "3.21.0");
    const failing = await invokeMagic("verify_env", "", ctx(notebook));
    expect((failing.result as VerifyEnvReport).status).toBe("fail");
    expect(spec.exitCode!(failing.result)).toBe(1);
    expect(failing.bundle!["text/html"]).toMatch(/✖ fail/);
  });

  it("a slow check (hanging nvidia-smi) shows progress in place and clears it, with no flood of lines", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = `${path.join(__dirname, "fixtures/verify_env/nvidia-smi/hang")}:/usr/bin:/bin`;
    try {
      const c = ctx(scratchDir("progress"));
      const out = await invokeMagic("verify_env", "", c);
      expect((out.result as VerifyEnvReport).gpu.nvidiaSmi.status).toBe("timeout");
      expect(c.shown).toHaveLength(2);
      expect((c.shown[0] as { "text/plain": string })["text/plain"]).toMatch(/^verify_env: probing/);
      expect(c.shown[1]).toEqual({ "text/plain": "", "text/html": "" });
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe("packages installed in the notebook folder", () => {
  it("a tfjs-node installed next to the notebook is probed too (here: the real failure mode, a crash)", async () => {
    const notebook = installFakeNative(scratchDir("nb-native"), "abort");
    const r = await verifyEnv({ ...fast, cwd: notebook, env: withoutBackendEnv() });
    expect(r.backend.candidates[1]).toMatchObject({ name: "tensorflow", installed: true, loadable: false });
    expect(check(r, "backend.tensorflow")!.message).toMatch(/crashed with SIGABRT/);
  });
});

describe("interrupts", () => {
  it("an aborted signal stops a hanging nvidia-smi at once and throws one line", async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    setTimeout(() => controller.abort(), 300);
    await expect(verifyEnv({ ...fast, gpuTimeoutMs: 60_000, signal: controller.signal, env: envWithFakeSmi("hang") })).rejects.toThrow(
      /^verify_env was interrupted before it finished/,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
