// The fused Adam update must be bit-identical to the op-by-op float32 update
// (the sequence engine/train/optimizers.ts used before it called the fused
// kernel, written out below with plain tfjs ops), so the kernel changes no
// run's numbers: on wasm and on cpu, for adam, adam+L2 and adamw, over several
// steps, both called directly and through train's Optimizer.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { adamUpdate, ADAM_UPDATE, type AdamHyper } from "../engine/backend/kernels/adam_update";
import { installFastKernels } from "../engine/backend/kernels";
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

describe("fused Adam on wasm, in place", () => {
  const h: AdamHyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, bc1: 0.1, bc2: 0.001, l2: 0, decay: 1 };

  it("reuses donated buffers only when nothing else holds them; a clone keeps the old values; the bits are the same either way", async () => {
    await tf.setBackend("wasm");
    await tf.ready();
    installFastKernels("wasm"); // the no-copy Identity: a clone shares its source's buffer
    const shape = [64, 33];
    const n = 64 * 33;
    for (const [donate, withClone] of [
      [true, false],
      [true, true],
      [false, false],
    ]) {
      // Made in tidy, as layers and the optimizer make theirs: the initial value's reference is dropped.
      const [w, m, v] = tf.tidy(() => [data(n, 3), data(n, 4, 0.1), data(n, 5, 0.01).map(Math.abs)].map((x) => tf.variable(tf.tensor(x, shape))));
      const g = tf.tensor(data(n, 6), shape);
      const want = opByOp(w, g, m, v, h);
      const before = w.dataSync().slice() as Float32Array;
      const clone = withClone ? tf.clone(w) : null;
      const offset = (t: tf.Tensor) => (tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }).dataIdMap.get(t.dataId).memoryOffset;
      const bytesBefore = offset(w);
      const tensors = tf.memory().numTensors;
      tf.tidy(() => {
        const next = adamUpdate(tf, { w, g, m, v }, h, { donate });
        m.assign(next.m);
        v.assign(next.v);
        w.assign(next.w);
      });
      expect(tf.memory().numTensors, "tensor count").toBe(tensors);
      expect(offset(w) === bytesBefore, `donate=${donate}, clone=${withClone}: same bytes`).toBe(donate && !withClone);
      for (const [got, expected] of [
        [w, want.w],
        [m, want.m],
        [v, want.v],
      ] as const)
        expect(bitsEqual(got.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBe(0);
      if (clone) expect(bitsEqual(clone.dataSync() as Float32Array, before), "the clone keeps the old weights").toBe(0);
      tf.dispose([w, m, v, g, want.w, want.m, want.v, ...(clone ? [clone] : [])]);
    }
  });

  it("a product with updated weights uses the new values (the wasm backend caches packed weights per tensor id)", async () => {
    await tf.setBackend("wasm");
    const [w, m, v] = tf.tidy(() => [data(4 * 32, 7), data(4 * 32, 8, 0.1), data(4 * 32, 9, 0.01).map(Math.abs)].map((x) => tf.variable(tf.tensor(x, [4, 32]))));
    const x = tf.tensor(data(16 * 4, 10), [16, 4]);
    tf.tidy(() => tf.matMul(x, w).dataSync()); // packs w into a cached operator
    tf.tidy(() => {
      const next = adamUpdate(tf, { w, g: tf.tensor(data(4 * 32, 11), [4, 32]), m, v }, h, { donate: true });
      [m, v, w].forEach((t, i) => t.assign([next.m, next.v, next.w][i]));
    });
    const got = tf.tidy(() => tf.matMul(x, w).dataSync() as Float32Array);
    const fresh = tf.tidy(() => tf.matMul(x, tf.tensor(w.dataSync(), [4, 32])).dataSync() as Float32Array);
    expect(bitsEqual(got, fresh)).toBe(0);
    tf.dispose([w, m, v, x]);
  });

  it("train's Optimizer follows the same trajectory whether or not its buffers are reused", async () => {
    await tf.setBackend("wasm");
    const run = (holdClones: boolean) => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 32, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const opt = new Optimizer(tf, vars, { kind: "adam", weightDecay: 0, momentum: 0 });
      const x = tf.tensor(data(16 * 4, 12), [16, 4]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0], "int32"), 3);
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        const clones = holdClones ? vars.map((v) => tf.clone(v)) : [];
        const { value, grads } = tf.tidy(() => {
          const r = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, vars);
          return { value: r.value, grads: vars.map((v) => r.grads[v.name]) };
        });
        losses.push(value.dataSync()[0]);
        tf.tidy(() => opt.apply(grads, 0.01));
        tf.dispose([value, ...grads, ...clones]);
      }
      const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
      return { losses, weights };
    };
    const reused = run(false);
    const copied = run(true);
    expect(reused.losses).toEqual(copied.losses);
    reused.weights.forEach((w, i) => expect(bitsEqual(w, copied.weights[i]), `weight ${i}`).toBe(0));
  });
});
