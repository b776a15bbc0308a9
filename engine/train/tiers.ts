// Tiers 1 (smoke) and 2 (dev): fail in seconds, with a diagnosis,
// before the full run spends minutes. Both start from the model's initial
// weights and hand them back untouched (weights, optimizer, random streams),
// so tier 3 is the same run whether or not they ran.
import type * as tfType from "@tensorflow/tfjs";
import { Rng } from "../util/rng";
import { yieldToEventLoop } from "./event_loop";
import type { Trainer } from "./trainer";

type TF = typeof tfType;

export type TierStatus = "passed" | "failed" | "skipped";

export interface TierResult {
  status: TierStatus;
  durationMs: number;
  /** One line: why it failed (or why it was skipped). */
  diagnosis?: string;
  fix?: string;
  details: Record<string, unknown>;
}

export type TierKey = "1" | "2" | "3";

/** How a tier ends the run when it does: interrupted ("stopped") or failed. */
export interface RunEnd {
  status: "stopped" | "failed";
  diagnosis: string;
  fix?: string;
}

/** What a tier runner returns: its result, and how it ends the run (null: the next tier may start). */
export interface TierRun {
  result: TierResult;
  ends: RunEnd | null;
}

export const skippedTier = (why: string): TierResult => ({ status: "skipped", durationMs: 0, diagnosis: why, details: {} });

/** Tiers 1 and 2 end the run when they fail, or when they were interrupted (their only way to be skipped once started). */
function tierRun(key: TierKey, result: TierResult): TierRun {
  if (result.status === "failed") return { result, ends: { status: "failed", diagnosis: `tier ${key} failed: ${result.diagnosis}`, fix: result.fix } };
  if (result.status === "skipped") return { result, ends: { status: "stopped", diagnosis: `interrupted during tier ${key}` } };
  return { result, ends: null };
}

type Done = (status: TierStatus, details: Record<string, unknown>, diagnosis?: string, fix?: string) => TierResult;
const interrupted = (done: Done, steps: number): TierResult => done("skipped", { steps }, `interrupted after ${steps} steps`);

const fmt = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)) : String(v));

function sliceRows(count: number, rng: Rng, n: number): Int32Array {
  return rng.permutation(n).subarray(0, Math.min(count, n));
}

/** Runs `fn` from the current weights and puts everything back afterwards. */
async function isolated<T>(trainer: Trainer, fn: () => Promise<T>): Promise<T> {
  const snapshot = trainer.snapshotWeights();
  try {
    return await fn();
  } finally {
    trainer.restoreWeights(snapshot);
    for (const t of snapshot) t.dispose();
    trainer.resetLoop();
  }
}

function checkShapes(tf: TF, trainer: Trainer, batchSizes: number[], rng: Rng): string | null {
  const { inputShape } = trainer.data.info;
  const outputs = trainer.settings.outputs;
  for (const b of batchSizes) {
    const rows = sliceRows(b, rng, trainer.nTrain);
    const out = tf.tidy(() => trainer.model.apply(tf.tensor(gatherRows(trainer, rows), [rows.length, ...inputShape]), { training: false }) as tfType.Tensor);
    const shape = out.shape.slice();
    const values = out.dataSync();
    out.dispose();
    const expected =
      trainer.settings.objective?.outputShape(rows.length) ??
      (trainer.settings.task === "classification" ? [rows.length, trainer.settings.binary ? 1 : outputs] : [rows.length, 1]);
    const ok =
      shape.length === expected.length ? shape.every((d, i) => d === expected[i]) : shape.length === 1 && shape[0] === rows.length && trainer.settings.task === "regression";
    if (!ok) return `batch of ${rows.length}: the model outputs shape [${shape.join(", ")}], expected [${expected.join(", ")}]`;
    if (!values.every(Number.isFinite)) return `batch of ${rows.length}: the model outputs non-finite values (NaN or Infinity) before any training`;
  }
  return null;
}

function gatherRows(trainer: Trainer, rows: Int32Array): Float32Array {
  const size = trainer.data.info.inputShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, i) => out.set(trainer.data.train.x.subarray(r * size, (r + 1) * size), i * size));
  return out;
}

/**
 * Tier 1: shapes at several batch sizes, finite outputs, a finite non-zero
 * gradient for every trainable weight (naming the layer that has none), and
 * one batch overfitting under the configured optimizer and learning rate.
 */
export async function tierSmoke(tf: TF, trainer: Trainer, opts: { learningRate: number; seed: number; overfitSteps?: number; signal?: AbortSignal }): Promise<TierRun> {
  const t0 = performance.now();
  const rng = Rng.create(opts.seed, "tier1");
  const done: Done = (status, details, diagnosis, fix) => ({ status, durationMs: Math.round(performance.now() - t0), diagnosis, fix, details });
  const batch = Math.min(trainer.settings.batchSize, trainer.nTrain);
  const batchSizes = [...new Set([1, Math.min(2, trainer.nTrain), batch])];

  const result = await isolated(trainer, async () => {
    const shapeProblem = checkShapes(tf, trainer, batchSizes, rng);
    if (shapeProblem) return done("failed", { batchSizes }, shapeProblem, "make the model's input match the data's inputShape and its output match the task (classes or 1 value)");

    const gradients = trainer.gradientReport(sliceRows(batch, rng, trainer.nTrain), rng);
    const nonFinite = gradients.find((g) => !g.finite);
    const dead = gradients.find((g) => g.finite && g.absSum === 0);
    const gradientDetails = gradients.map((g) => ({ layer: g.layer, weight: g.weight, absSum: fmt(g.absSum), finite: g.finite }));
    if (nonFinite) {
      return done(
        "failed",
        { batchSizes, gradients: gradientDetails },
        `layer "${nonFinite.layer}" (${nonFinite.layerClass}): weight ${nonFinite.weight} gets a non-finite gradient (NaN or Infinity)`,
        "check the input data for extreme values and the layer's activation / initializer",
      );
    }
    if (dead) {
      const all = [...new Set(gradients.filter((g) => g.finite && g.absSum === 0).map((g) => `"${g.layer}"`))];
      return done(
        "failed",
        { batchSizes, gradients: gradientDetails, deadLayers: all },
        `layer "${dead.layer}" (${dead.layerClass}): weight ${dead.weight} gets zero gradient — the layer is dead or disconnected from the loss${all.length > 1 ? ` (also: ${all.slice(1).join(", ")})` : ""}`,
        "check its activation and initializers (e.g. ReLU units that never activate) or that it feeds the output",
      );
    }

    // One batch must be learnable: the loss falls with the configured optimizer and rate.
    const rows = sliceRows(Math.min(batch, 32), rng, trainer.nTrain);
    const before = trainer.lossOn(rows);
    const maxSteps = opts.overfitSteps ?? 60;
    let after = before;
    let steps = 0;
    while (steps < maxSteps) {
      trainer.stepOn(rows, opts.learningRate, rng).dispose();
      steps++;
      if (steps % 5 === 0 || steps === maxSteps) {
        after = trainer.lossOn(rows);
        if (!Number.isFinite(after) || after < before * 0.5) break;
        await yieldToEventLoop();
        if (opts.signal?.aborted) return interrupted(done, steps);
      }
    }
    const details = { batchSizes, gradients: gradientDetails, overfit: { rows: rows.length, steps, lossBefore: fmt(before), lossAfter: fmt(after) } };
    if (!Number.isFinite(after))
      return done(
        "failed",
        details,
        `diverged: the loss became ${after} after ${steps} steps on one batch at learning rate ${opts.learningRate}`,
        "lower learningRate (try 1e-3) or set gradClipNorm",
      );
    if (!(after < before * 0.95)) {
      return done(
        "failed",
        details,
        `one batch does not overfit: loss ${fmt(before)} → ${fmt(after)} in ${steps} steps at learning rate ${opts.learningRate}`,
        "the learning rate is likely far too high (or too low); try 1e-3",
      );
    }
    return done("passed", details);
  });
  return tierRun("1", result);
}

/**
 * Tier 2: a short run on a slice of the data with the real loop. Measures
 * step time, checks that tf.memory() does not grow across steps (and across
 * a validation pass), that the loss stays finite and does not blow up, and
 * estimates tier 3's duration.
 */
export async function tierDev(
  tf: TF,
  trainer: Trainer,
  opts: { learningRate: number; seed: number; epochs: number; validateEveryEpochs: number; steps?: number; signal?: AbortSignal },
): Promise<TierRun> {
  const t0 = performance.now();
  const rng = Rng.create(opts.seed, "tier2");
  const done: Done = (status, details, diagnosis, fix) => ({ status, durationMs: Math.round(performance.now() - t0), diagnosis, fix, details });
  const b = trainer.settings.batchSize;
  const steps = opts.steps ?? Math.max(12, Math.min(30, 2 * trainer.stepsPerEpoch));
  const warmup = 3;
  const slice = sliceRows(Math.min(trainer.nTrain, b * 10), rng, trainer.nTrain);

  const result = await isolated(trainer, async () => {
    const losses: number[] = [];
    const stepMs: number[] = [];
    let tensorsAfterWarmup = 0;
    for (let s = 0; s < steps; s++) {
      const start = (s * b) % slice.length;
      const rows = slice.subarray(start, Math.min(start + b, slice.length));
      const t = performance.now();
      const loss = trainer.stepOn(rows, opts.learningRate, rng);
      const value = loss.dataSync()[0];
      loss.dispose();
      stepMs.push(performance.now() - t);
      losses.push(value);
      if (s === warmup - 1) tensorsAfterWarmup = tf.memory().numTensors;
      if (!Number.isFinite(value)) {
        return done(
          "failed",
          { steps: s + 1, losses: losses.map(fmt) },
          `diverged: the loss became ${value} at dev step ${s + 1} (learning rate ${opts.learningRate})`,
          "lower learningRate or set gradClipNorm",
        );
      }
      // Yields happen outside the timed step and after the leak baseline is taken.
      await yieldToEventLoop();
      if (opts.signal?.aborted) return interrupted(done, s + 1);
    }
    const tensorsAfterSteps = tf.memory().numTensors;
    const tEval = performance.now();
    const evalRows = Math.min(trainer.validCount, 512);
    trainer.evaluate(evalRows);
    const evalMs = performance.now() - tEval;
    const tensorsAfterEval = tf.memory().numTensors;

    const timed = stepMs.slice(warmup).sort((x, y) => x - y);
    const medianStepMs = timed[Math.floor(timed.length / 2)] ?? stepMs[stepMs.length - 1];
    const head = losses.slice(0, 3).reduce((a, c) => a + c, 0) / Math.min(3, losses.length);
    const tail = losses.slice(-3).reduce((a, c) => a + c, 0) / Math.min(3, losses.length);
    const validations = Math.ceil(opts.epochs / opts.validateEveryEpochs);
    const etaMs = Math.round(medianStepMs * trainer.stepsPerEpoch * opts.epochs + (evalRows ? (evalMs * trainer.validCount * validations) / evalRows : 0));
    const details = {
      steps,
      sliceRows: slice.length,
      stepMs: fmt(medianStepMs),
      samplesPerSec: Math.round((b * 1000) / medianStepMs),
      ...(trainer.settings.objective?.tokensPerRow ? { tokensPerSec: Math.round((b * trainer.settings.objective.tokensPerRow * 1000) / medianStepMs) } : {}),
      lossFirst: fmt(head),
      lossLast: fmt(tail),
      tensors: { afterWarmup: tensorsAfterWarmup, afterSteps: tensorsAfterSteps, afterValidation: tensorsAfterEval },
      etaMs,
    };
    if (tensorsAfterSteps !== tensorsAfterWarmup || tensorsAfterEval !== tensorsAfterSteps) {
      const grew =
        tensorsAfterSteps !== tensorsAfterWarmup
          ? `${tensorsAfterSteps - tensorsAfterWarmup} tensors over ${steps - warmup} steps`
          : `${tensorsAfterEval - tensorsAfterSteps} tensors in one validation pass`;
      return done("failed", details, `tensor leak: tf.memory().numTensors grew by ${grew}`, "a layer or the model code keeps tensors alive; wrap custom code in tf.tidy");
    }
    if (tail > head * 10 && tail > 1) {
      return done(
        "failed",
        details,
        `diverged: the loss rose from ${fmt(head)} to ${fmt(tail)} over ${steps} dev steps (learning rate ${opts.learningRate})`,
        "lower learningRate or set gradClipNorm",
      );
    }
    return done("passed", details);
  });
  return tierRun("2", result);
}
