import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it } from "vitest";
import { ensureBackend, resetEnsuredBackend, probeInProcessCandidate, selectBackend, parsePreference } from "../engine/backend";

afterEach(() => {
  delete process.env.TSCOLAB_BACKEND;
  resetEnsuredBackend();
});

describe("ensureBackend", () => {
  it("picks wasm here (no native binding installed) and sets it in tfjs", async () => {
    const b = await ensureBackend();
    expect(b.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(b.device).toBe("cpu");
    expect(b.reason).toMatch(/tensorflow-gpu: not installed/);
    expect(Array.isArray(b.patches)).toBe(true);
    expect(b.profile).toEqual({ name: "cpu", reason: "training runs on the CPU through wasm" });
  });

  it("is idempotent and cheap after the first call, and re-sets a backend a cell switched", async () => {
    await ensureBackend();
    await tf.setBackend("cpu");
    const t0 = performance.now();
    const again = await ensureBackend();
    expect(performance.now() - t0).toBeLessThan(200);
    expect(again.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
  });

  it("honours TSCOLAB_BACKEND", async () => {
    process.env.TSCOLAB_BACKEND = "cpu";
    const b = await ensureBackend();
    expect(b.name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect(b.reason).toMatch(/TSCOLAB_BACKEND=cpu/);
  });

  it("an explicit backend that cannot work throws one line with the fix", async () => {
    await expect(ensureBackend({ prefer: "tensorflow" })).rejects.toThrow(/backend 'tensorflow' was requested but cannot be used: not installed/);
    expect(() => parsePreference("cuda")).toThrow(/unknown backend 'cuda'.*fix: use one of tensorflow-gpu, tensorflow, wasm, cpu/);
  });
});

describe("in-process candidates", () => {
  it("wasm and cpu pass the matMul smoke test, measure GFLOP/s and restore the active backend", async () => {
    await tf.setBackend("cpu");
    const wasm = await probeInProcessCandidate("wasm", { budgetMs: 50 });
    expect(wasm).toMatchObject({ installed: true, loadable: true, smoke: true, version: "4.22.0" });
    expect(wasm.gflops).toBeGreaterThan(0);
    const cpu = await probeInProcessCandidate("cpu", { budgetMs: 50 });
    expect(cpu).toMatchObject({ installed: true, loadable: true, smoke: true });
    expect(tf.getBackend()).toBe("cpu");
    expect(selectBackend([cpu, wasm])?.name).toBe("wasm");
  });
});
