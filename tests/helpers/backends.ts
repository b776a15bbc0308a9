// The comparison the kernel tests share: run the same tensor program on two
// backends (tscolab's wasm kernels and stock tfjs cpu) and compare plain
// arrays within float32 rounding of a sum of `inner` products.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { afterAll, beforeAll, expect } from "vitest";
import { installFastKernels } from "../../engine/backend/kernels";
import { prepareNativeKernels } from "../../engine/backend/native";

/** Deterministic uniform floats in [-scale, scale): `rng(seed)(n)` gives the next n (failures reproduce). */
export function rng(seed: number, scale = 1) {
  let s = seed >>> 0;
  return (n: number) =>
    Float32Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return ((s / 2 ** 32) * 2 - 1) * scale;
    });
}

/** Runs `f` on `backend` with tensors it builds there; returns plain arrays. */
export async function on(backend: "wasm" | "cpu", f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const data = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  return data;
}

/** Worst relative error (against 1 + |expected|) within 4e-5·√inner, with where it is. */
export function expectClose(actual: Float32Array, expected: Float32Array, inner: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const tol = 1e-5 * Math.sqrt(inner) * 4;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst relative error at ${at} (${actual[at]} vs ${expected[at]})`).toBeLessThanOrEqual(tol);
}

/**
 * For the test file that calls it: wasm with tscolab's kernels and the native
 * ones on (probed into a cache under a temp folder, removed afterwards).
 * Returns that folder, for the file's own scratch files.
 */
export function withNativeKernels(prefix: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeAll(async () => {
    await tf.setBackend("wasm");
    await tf.ready();
    installFastKernels("wasm");
    const state = await prepareNativeKernels({ cacheDir: path.join(tmp, "cache") });
    expect(state.on, state.reason).toBe(true);
  }, 60_000);
  return tmp;
}
