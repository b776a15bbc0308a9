// The fused Adam update must be bit-identical to the op-by-op float32 update
// (the sequence engine/train/optimizers.ts used before it called the fused
// kernel, written out below with plain tfjs ops), so the kernel changes no
// run's numbers: on wasm and on cpu, for adam, adam+L2 and adamw, over several
// steps, both called directly and through train's Optimizer.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { adamUpdate, ADAM_UPDATE, type AdamHyper } from "../engine/backend/kernels/adam_update";
import { simdKernelsFor } from "../engine/backend/kernels/simd";
import { Optimizer } from "../engine/train/optimizers";

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

/** The reference: Adam as separate tfjs ops, each rounding to float32. */
function opByOp(w: tf.Tensor, g0: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamHyper) {
  return tf.tidy(() => {
    const g = h.l2 > 0 ? tf.add(g0, tf.mul(w, h.l2)) : g0;
    const m2 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v2 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const update = tf.div(tf.mul(tf.div(m2, h.bc1), h.lr), tf.add(tf.sqrt(tf.div(v2, h.bc2)), h.epsilon));
    const w2 = tf.sub(h.decay !== 1 ? tf.mul(w, h.decay) : w, update);
    return { w: w2, m: m2, v: v2 };
  });
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
      const want = opByOp(w, g, m, v, h);
      const next = adamUpdate(tf, { w, g, m, v }, h);
      for (const k of ["w", "m", "v"] as const) {
        expect(bitsEqual(next[k].dataSync() as Float32Array, want[k].dataSync() as Float32Array), `step ${t}: ${k} differing in bits`).toBe(0);
      }
      tf.dispose([w, m, v, g, want.w, want.m, want.v]);
      ({ w, m, v } = next);
      expect(bitsEqual(w.dataSync() as Float32Array, ref.dataSync() as Float32Array), `step ${t}: weights differing in bits`).toBe(0);
    }
    const state = opt.getState();
    expect(bitsEqual(m.dataSync() as Float32Array, state.slots[0].values)).toBe(0);
    expect(bitsEqual(v.dataSync() as Float32Array, state.slots[1].values)).toBe(0);
    expect(tf.getKernel(ADAM_UPDATE, backend)).toBeDefined(); // the fused kernel really ran
    expect(simdKernelsFor(tf.backend()) !== null, "SIMD kernels (wasm only)").toBe(backend === "wasm"); // ...on the SIMD path under wasm
    tf.dispose([w, m, v, ref]);
    opt.dispose();
  });
});
