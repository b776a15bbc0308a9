// Native bindings are probed in a child process: fake tfjs-node packages that
// abort, raise SIGILL, hang, lack their addon, compute garbage or register on
// another tfjs-core must each be reported with a remedy, and this process
// (standing in for the kernel) must survive all of them.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ensureBackend, probeCandidates, probeNativeCandidate, resetEnsuredBackend } from "../engine/backend";
import { cleanScratch, treeWith } from "./fixtures/verify_env/scratch";

afterAll(cleanScratch);
afterEach(() => resetEnsuredBackend());

describe("native candidates probed in a child process", () => {
  it("SIGABRT while loading is a crash report with a remedy", async () => {
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("abort")] });
    expect(report).toMatchObject({ installed: true, version: "4.22.0", loadable: false, smoke: false });
    expect(report.error).toMatch(/@tensorflow\/tfjs-node crashed with SIGABRT during require/);
    expect(report.fix).toMatch(/TSCOLAB_BACKEND=wasm/);
  });

  it("SIGILL names the missing AVX instructions", async () => {
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("sigill")] });
    expect(report.error).toMatch(/crashed with SIGILL during require: libtensorflow uses CPU instructions \(AVX\/AVX2\)/);
    expect(report.fix).toMatch(/remove @tensorflow\/tfjs-node/);
  });

  it("a hang is killed at the timeout and reported with the stage it hung in", async () => {
    const t0 = Date.now();
    const { report, raw } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("hang")], nativeTimeoutMs: 3_000 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(raw?.timedOut).toBe(true);
    expect(report.error).toBe("@tensorflow/tfjs-node hung during require (killed after 3 s)");
  });

  it("a missing tfjs_binding.node says to rebuild the addon", async () => {
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("no_binding")] });
    expect(report.error).toMatch(/no native addon \(tfjs_binding.node is missing/);
    expect(report.fix).toMatch(/npm rebuild @tensorflow\/tfjs-node/);
  });

  it("a binding registered on its own tfjs-core copy is not usable by the kernel", async () => {
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("own_core")] });
    expect(report.loadable).toBe(false);
    expect(report.error).toMatch(/uses its own copy of @tensorflow\/tfjs-core/);
    expect(report.fix).toMatch(/npm dedupe/);
  });

  it("wrong matMul results fail the smoke test", async () => {
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("wrong_math")] });
    expect(report).toMatchObject({ loadable: true, smoke: false, gflops: null });
    expect(report.error).toMatch(/computes wrong results: matMul differs from the reference/);
  });

  it("a working binding passes the smoke test and reports GFLOP/s", async () => {
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [treeWith("working")] });
    expect(report).toMatchObject({ installed: true, loadable: true, smoke: true, device: "cpu" });
    expect(report.gflops).toBeGreaterThan(0);
    expect(report.error).toBeUndefined();
  });

  it("tfjs-node-gpu without CUDA 11 loads but is reported as silently running on the CPU", async () => {
    const { report } = await probeNativeCandidate("tensorflow-gpu", { resolveFrom: [treeWith("gpu_fallback", "tfjs-node-gpu")] });
    expect(report).toMatchObject({ name: "tensorflow-gpu", package: "@tensorflow/tfjs-node-gpu", loadable: true, smoke: true, device: "cpu" });
    expect(report.gpuFallback).toBe("TensorFlow could not load libcudart.so.11.0, libcublas.so.11, libcudnn.so.8, so it skipped the GPU");
  });

  it("a real .node addon linked against a missing libtensorflow.so.2 gives the dynamic linker's error and the remedy", async (ctx) => {
    if (spawnSync("gcc", ["--version"]).status !== 0) {
      console.warn("SKIPPED: gcc is not installed, cannot build a real native addon for this test");
      ctx.skip();
    }
    const root = treeWith("no_binding");
    const pkg = path.join(root, "node_modules/@tensorflow/tfjs-node");
    const lib = path.join(pkg, "lib/napi-v8");
    fs.mkdirSync(lib, { recursive: true });
    fs.writeFileSync(path.join(root, "tf.c"), "int TF_Version_stub(void) { return 0; }\n");
    fs.writeFileSync(path.join(root, "addon.c"), "extern int TF_Version_stub(void);\nint tscolab_fake_addon(void) { return TF_Version_stub(); }\n");
    const cc = (args: string[]) => {
      const r = spawnSync("gcc", args, { cwd: root, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    };
    cc(["-shared", "-fPIC", "-Wl,-soname,libtensorflow.so.2", "-o", "libtensorflow.so.2", "tf.c"]);
    cc(["-shared", "-fPIC", "-o", path.join(lib, "tfjs_binding.node"), "addon.c", "-L.", "-l:libtensorflow.so.2"]);
    fs.rmSync(path.join(root, "libtensorflow.so.2")); // what a failed libtensorflow download leaves behind
    const { report } = await probeNativeCandidate("tensorflow", { resolveFrom: [root] });
    expect(report.error).toMatch(/cannot load libtensorflow.so.2 \(libtensorflow was never downloaded/);
    expect(report.fix).toMatch(/npm rebuild @tensorflow\/tfjs-node/);
  });
});

describe("selection survives broken bindings", () => {
  it("probeCandidates with a crashing tfjs-node and a GPU package on CPU keeps going, this process alive", async () => {
    const root = treeWith("abort");
    const gpuRoot = treeWith("gpu_fallback", "tfjs-node-gpu");
    fs.cpSync(path.join(gpuRoot, "node_modules/@tensorflow/tfjs-node-gpu"), path.join(root, "node_modules/@tensorflow/tfjs-node-gpu"), { recursive: true });
    const { reports } = await probeCandidates({ resolveFrom: [root], budgetMs: 20 });
    expect(reports.map((r) => [r.name, r.installed, r.loadable, r.smoke])).toEqual([
      ["tensorflow-gpu", true, true, true],
      ["tensorflow", true, false, false],
      ["wasm", true, true, true],
      ["cpu", true, true, true],
    ]);
  });

  it("ensureBackend skips a crashing binding and lands on wasm", async () => {
    const b = await ensureBackend({ resolveFrom: [treeWith("sigill")] });
    expect(b.name).toBe("wasm");
    expect(b.reason).toMatch(/tensorflow: @tensorflow\/tfjs-node crashed with SIGILL/);
  });

  it("ensureBackend loads a working binding into the process after its child probe passed", async () => {
    const b = await ensureBackend({ resolveFrom: [treeWith("working")] });
    expect(b).toMatchObject({ name: "tensorflow", tfBackend: "tensorflow", device: "cpu" });
    expect(tf.getBackend()).toBe("tensorflow");
    expect(Array.from(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync())).toEqual([11]);
  });

  it("ensureBackend on a working GPU binding reports the GPU's profile (fake A100 on PATH)", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = `${path.join(__dirname, "fixtures/verify_env/nvidia-smi/a100")}:${savedPath}`;
    try {
      const b = await ensureBackend({ resolveFrom: [treeWith("gpu_working", "tfjs-node-gpu")] });
      expect(b).toMatchObject({ name: "tensorflow-gpu", tfBackend: "tensorflow", device: "gpu" });
      expect(b.profile.name).toBe("aggressive");
      expect(b.profile.reason).toMatch(/NVIDIA A100-SXM4-40GB \(40960 MiB\) through tensorflow-gpu/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
