// Predictions of a trained fold model, and the metrics of predictions
// gathered from many models (out-of-fold rows, averaged test rows), computed
// on the host in float64 the way the trainer's validation computes them:
// cross-entropy of probabilities clipped to [1e-7, 1 - 1e-7] and accuracy
// for classification; MSE (the loss), MAE and Pearson r for regression.
import type * as tfType from "@tensorflow/tfjs";
import type { Split } from "../data/dataset";
import type { Task } from "../data/schema";
import { outputsAreLogits, regressionMetrics } from "../train/metrics";

type TF = typeof tfType;

/** Model outputs for every row of a split: class probabilities (`n × classes`) or values (`n × 1`). */
export function predictSplit(tf: TF, model: tfType.LayersModel, split: Split, inputShape: readonly number[], task: Task, chunk = 256): Float32Array {
  const width = task === "classification" ? (model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] as number) : 1;
  const out = new Float32Array(split.n * width);
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  const logits = task === "classification" && outputsAreLogits(model);
  for (let start = 0; start < split.n; start += chunk) {
    const size = Math.min(chunk, split.n - start);
    const y = tf.tidy(() => {
      const x = tf.tensor(split.x.subarray(start * rowSize, (start + size) * rowSize), [size, ...inputShape], "float32");
      const pred = model.apply(x, { training: false }) as tfType.Tensor;
      return logits ? tf.softmax(pred) : tf.reshape(pred, [size, width]);
    });
    out.set(y.dataSync() as Float32Array, start * width);
    y.dispose();
  }
  return out;
}

/**
 * The shortest decimal that reads back as the same float32 (0.362, not
 * 0.3619999885559082): predictions files stay readable, and what reads them
 * into float32 gets exactly the model's values.
 */
export function float32Value(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.fround(v);
  for (let digits = 1; digits < 9; digits++) {
    const n = Number(f.toPrecision(digits));
    if (Math.fround(n) === f) return n;
  }
  return f;
}

/** The first class with the highest probability. */
export function argMax(p: ArrayLike<number>, offset: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (p[offset + j]! > p[offset + best]!) best = j;
  return best;
}

/** Validation-style metrics of gathered predictions (`outputs`: `n × width`) against labels. */
export function metricsOf(task: Task, outputs: ArrayLike<number>, labels: ArrayLike<number>, width: number): Record<string, number> {
  const n = labels.length;
  if (task === "regression") {
    const r = regressionMetrics(outputs, labels);
    return { val_loss: r.mse, val_mse: r.mse, val_mae: r.mae, val_pearson: r.pearson };
  }
  let loss = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const p = Math.min(Math.max(outputs[i * width + y]!, 1e-7), 1 - 1e-7);
    loss -= Math.log(p);
    if (argMax(outputs, i * width, width) === y) hits++;
  }
  return { val_loss: loss / n, val_accuracy: hits / n };
}

/** Mean and sample standard deviation (n - 1) of each metric over the folds. */
export function spread(metrics: Record<string, number>[]): { mean: Record<string, number>; std: Record<string, number> } {
  const keys = [...new Set(metrics.flatMap((m) => Object.keys(m)))];
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const k of keys) {
    const v = metrics.map((m) => m[k]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
    if (!v.length) continue;
    const mu = v.reduce((a, b) => a + b, 0) / v.length;
    mean[k] = mu;
    std[k] = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / (v.length - 1)) : 0;
  }
  return { mean, std };
}
