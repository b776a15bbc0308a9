// The fused Adam update must be bit-identical to the op-by-op float32 update
// of magics/train/optimizers.ts (so installing it changes no run's numbers),
// on wasm and on cpu, for adam, adam+L2 and adamw, over several steps.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { adamUpdate, ADAM_UPDATE, type AdamHyper } from "../magics/shared/kernels/adam_update";
import { simdKernelsFor } from "../magics/shared/kernels/simd";
import { Optimizer } from "../magics/train/optimizers";

function data(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

function bitsEqual(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) diff++;
  return diff;
}

const variants = [
  { name: "adam", kind: "adam" as const, weightDecay: 0 },
  { name: "adam + L2", kind: "adam" as const, weightDecay: 0.01 },
  { name: "adamw", kind: "adamw" as const, weightDecay: 0.05 },
];

describe.each(["wasm", "cpu"])("fused Adam on %s", (backend) => {
  it.each(variants)("$name: bit-identical to train's Optimizer over 5 steps", async ({ kind, weightDecay }) => {
    await tf.setBackend(backend);
    await tf.ready();
    const shape = [37, 29];
    const n = 37 * 29;
    const w0 = data(n, 1);
    const ref = tf.variable(tf.tensor(w0, shape));
    const opt = new Optimizer(tf, [ref], { kind, weightDecay, momentum: 0 });
    let w = tf.tensor(w0, shape);
    let m = tf.zeros(shape);
    let v = tf.zeros(shape);
    const lr = 0.003;
    for (let t = 1; t <= 5; t++) {
      const gData = data(n, 100 + t, t === 3 ? 1e-4 : 2);
      const g = tf.tensor(gData, shape);
      opt.apply([g], lr);
      const h: AdamHyper = {
        lr,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
        bc1: 1 - Math.pow(0.9, t),
        bc2: 1 - Math.pow(0.999, t),
        l2: kind === "adam" ? weightDecay : 0,
        decay: kind === "adamw" && weightDecay > 0 ? 1 - lr * weightDecay : 1,
      };
      const next = adamUpdate(tf, { w, g, m, v }, h);
      tf.dispose([w, m, v, g]);
      ({ w, m, v } = next);
      expect(bitsEqual(w.dataSync() as Float32Array, ref.dataSync() as Float32Array), `step ${t}: weights differing in bits`).toBe(0);
    }
    const state = opt.getState();
    expect(bitsEqual(m.dataSync() as Float32Array, state.slots[0].values)).toBe(0);
    expect(bitsEqual(v.dataSync() as Float32Array, state.slots[1].values)).toBe(0);
    expect(tf.getKernel(ADAM_UPDATE, backend)).toBeDefined(); // the fused kernel really ran
    if (backend === "wasm") expect(simdKernelsFor(tf.backend())).not.toBeNull(); // ...on the SIMD path
    tf.dispose([w, m, v, ref]);
    opt.dispose();
  });
});
