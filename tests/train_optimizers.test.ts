// Our optimizers against the update rules written out by hand (float64
// reference, float32 tolerance), and their state round-tripping bit-exactly:
// the property resume needs (tfjs's own Adam recomputes accBeta1/accBeta2 on
// setWeights and drifts).
process.env.TSCOLAB_BACKEND = "wasm";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { ensureBackend } from "../engine/backend";
import { Optimizer, type OptimizerSettings } from "../engine/train/optimizers";

beforeAll(async () => {
  await ensureBackend();
});

const W0 = [0.5, -1.5, 2];
const GRADS = [
  [0.1, -0.2, 0.3],
  [-0.4, 0.1, 0.05],
  [0.2, 0.2, -0.6],
];

/** Reference implementations (PyTorch's formulas) in float64. */
function reference(s: OptimizerSettings, lr: number): number[] {
  const w = [...W0];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  GRADS.forEach((g0, k) => {
    const t = k + 1;
    for (let i = 0; i < w.length; i++) {
      let g = g0[i];
      if (s.kind === "sgd") {
        if (s.weightDecay) g += s.weightDecay * w[i];
        m[i] = s.momentum ? s.momentum * m[i] + g : g;
        w[i] -= lr * m[i];
        continue;
      }
      if (s.kind === "adam" && s.weightDecay) g += s.weightDecay * w[i];
      if (s.kind === "adamw") w[i] *= 1 - lr * s.weightDecay;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      w[i] -= (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    }
  });
  return w;
}

function run(s: OptimizerSettings, lr: number, steps: number[][], opt?: Optimizer, w?: tf.Variable): { w: tf.Variable; opt: Optimizer } {
  w ??= tf.variable(tf.tensor1d(W0));
  opt ??= new Optimizer(tf, [w], s);
  for (const g of steps) tf.tidy(() => opt!.apply([tf.tensor1d(g)], lr));
  return { w, opt };
}

describe("update rules", () => {
  const cases: OptimizerSettings[] = [
    { kind: "adam", weightDecay: 0, momentum: 0 },
    { kind: "adam", weightDecay: 0.1, momentum: 0 },
    { kind: "adamw", weightDecay: 0.1, momentum: 0 },
    { kind: "sgd", weightDecay: 0, momentum: 0 },
    { kind: "sgd", weightDecay: 0.01, momentum: 0.9 },
  ];
  for (const s of cases) {
    test(`${s.kind} (weight decay ${s.weightDecay}, momentum ${s.momentum}) matches the reference`, () => {
      const { w, opt } = run(s, 0.05, GRADS);
      const got = Array.from(w.dataSync());
      reference(s, 0.05).forEach((r, i) => expect(got[i]).toBeCloseTo(r, 5));
      expect(opt.step).toBe(3);
      w.dispose();
      opt.dispose();
    });
  }

  test("adamw's decay is decoupled: with zero gradients, weights shrink by exactly (1 - lr * wd) per step", () => {
    const { w, opt } = run({ kind: "adamw", weightDecay: 0.5, momentum: 0 }, 0.1, [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    Array.from(w.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(W0[i] * 0.95 * 0.95, 6));
    w.dispose();
    opt.dispose();
  });
});

describe("state", () => {
  test("getState / setState continue bit-exactly (Adam's bias correction included)", () => {
    const s: OptimizerSettings = { kind: "adam", weightDecay: 0, momentum: 0 };
    const whole = run(s, 0.01, GRADS);

    const first = run(s, 0.01, GRADS.slice(0, 2));
    const state = first.opt.getState();
    const weights = first.w.dataSync().slice();
    // A fresh optimizer and variable, as after loading a checkpoint in a new process.
    const w2 = tf.variable(tf.tensor1d(weights));
    const opt2 = new Optimizer(tf, [w2], s);
    opt2.setState({ ...state, slots: state.slots.map((x) => ({ shape: x.shape, values: Float32Array.from(x.values) })) });
    run(s, 0.01, GRADS.slice(2), opt2, w2);
    expect(Array.from(w2.dataSync())).toEqual(Array.from(whole.w.dataSync()));
    expect(() => opt2.setState({ ...state, kind: "sgd" })).toThrow(/optimizer state is for sgd/);
    for (const o of [whole, first]) {
      o.w.dispose();
      o.opt.dispose();
    }
    w2.dispose();
    opt2.dispose();
  });

  test("no tensors leak per step", () => {
    const w = tf.variable(tf.tensor1d(W0));
    const opt = new Optimizer(tf, [w], { kind: "adamw", weightDecay: 0.01, momentum: 0 });
    run({ kind: "adamw", weightDecay: 0.01, momentum: 0 }, 0.01, GRADS.slice(0, 1), opt, w);
    const before = tf.memory().numTensors;
    run({ kind: "adamw", weightDecay: 0.01, momentum: 0 }, 0.01, GRADS, opt, w);
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
    opt.dispose();
  });
});
