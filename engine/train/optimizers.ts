// Our own adam / adamw / sgd(+momentum). tfjs's optimizers keep Adam's bias
// correction as accumulated powers (accBeta1/accBeta2) that setWeights
// recomputes from the iteration count, so a restored run drifts by an ulp;
// here the bias correction is 1 - beta^t computed from the integer step t in
// float64, and the whole state is (t, slot tensors), saved bit-exactly.
import type * as tfType from "@tensorflow/tfjs";
import { adamUpdate } from "../backend/kernels/adam_update";
import type { OptimizerKind } from "./options";

type TF = typeof tfType;

export type { OptimizerKind };

export interface OptimizerSettings {
  kind: OptimizerKind;
  /** L2 added to the gradient (adam, sgd) or decoupled decay (adamw). */
  weightDecay: number;
  momentum: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Everything needed to continue: the step count and every slot's values. */
export interface OptimizerSnapshot {
  kind: OptimizerKind;
  t: number;
  /** Per variable, its slots in order (adam: m, v; sgd with momentum: velocity). */
  slots: { shape: number[]; values: Float32Array }[];
}

export class Optimizer {
  private t = 0;
  private readonly slots: tfType.Variable[][];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(
    private readonly tf: TF,
    private readonly vars: tfType.Variable[],
    readonly settings: OptimizerSettings,
  ) {
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.999;
    this.epsilon = settings.epsilon ?? 1e-7;
    const perVar = settings.kind === "sgd" ? (settings.momentum > 0 ? 1 : 0) : 2;
    // tidy frees the zeros the variables were made from (variables themselves survive it).
    this.slots = tf.tidy(() => vars.map((v) => Array.from({ length: perVar }, () => tf.variable(tf.zerosLike(v), false))));
  }

  get step(): number {
    return this.t;
  }

  /** One update with gradients in `vars` order; `lr` for this step. Allocations are freed here. */
  apply(grads: tfType.Tensor[], lr: number): void {
    const tf = this.tf;
    const { kind, weightDecay, momentum } = this.settings;
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        let g = grads[i];
        if (weightDecay > 0 && kind !== "adamw") g = tf.add(g, tf.mul(w, weightDecay));
        if (kind === "sgd") {
          if (momentum > 0) {
            const vel = this.slots[i][0];
            vel.assign(tf.add(tf.mul(vel, momentum), g));
            g = vel;
          }
          w.assign(tf.sub(w, tf.mul(g, lr)));
          return;
        }
        const [m, v] = this.slots[i];
        // m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;  w ← w·decay − lr·(m/bc1) / (√(v/bc2) + ε),
        // as one fused kernel on wasm/cpu, bit-identical to that float32 op sequence.
        const decay = kind === "adamw" && weightDecay > 0 ? 1 - lr * weightDecay : 1;
        // Donated: the variables take the outputs on the next lines, so the update may reuse their buffers.
        const next = adamUpdate(tf, { w, g, m, v }, { lr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, bc1, bc2, l2: 0, decay }, { donate: true });
        m.assign(next.m);
        v.assign(next.v);
        w.assign(next.w);
      });
    });
  }

  getState(): OptimizerSnapshot {
    return {
      kind: this.settings.kind,
      t: this.t,
      slots: this.slots.flat().map((s) => ({ shape: s.shape.slice(), values: s.dataSync() as Float32Array })),
    };
  }

  setState(state: OptimizerSnapshot): void {
    const flat = this.slots.flat();
    if (state.kind !== this.settings.kind || state.slots.length !== flat.length) {
      throw new Error(`optimizer state is for ${state.kind} with ${state.slots.length} slots; this run uses ${this.settings.kind} with ${flat.length}`);
    }
    flat.forEach((s, i) => {
      const saved = state.slots[i];
      if (saved.shape.join(",") !== s.shape.join(",")) throw new Error(`optimizer slot ${i} has shape [${saved.shape}] where the model needs [${s.shape}]`);
      this.tf.tidy(() => s.assign(this.tf.tensor(saved.values, s.shape, "float32")));
    });
    this.t = state.t;
  }

  /** Zeroes the state (tiers 1 and 2 must not leak into tier 3). */
  reset(): void {
    this.t = 0;
    this.tf.tidy(() => this.slots.flat().forEach((s) => s.assign(this.tf.zerosLike(s))));
  }

  dispose(): void {
    for (const s of this.slots.flat()) s.dispose();
  }
}
