// Losses (on device, inside the step) and validation metrics (in float64 on
// the host, once per validation pass).
import type * as tfType from "@tensorflow/tfjs";
import type { Task } from "../data/schema";
import { headClasses } from "./head";
import type { Monitor } from "./options";

type TF = typeof tfType;

/** How the loss reads a batch's predictions. */
export interface LossSpec {
  task: Task;
  outputs: number;
  /** Classification head without softmax (a linear last layer): predictions are logits. */
  logits: boolean;
  /** Two classes from one sigmoid unit (binary cross-entropy); `outputs` stays 2. */
  binary?: boolean;
}

/**
 * Mean loss of a batch. Classification models normally output probabilities
 * (softmax heads, as in Keras), so cross-entropy is -log p[label], with p
 * clipped like Keras does to keep a confidently wrong prediction finite; a
 * model ending in a linear layer gets softmax cross-entropy on its logits.
 */
export function batchLoss(tf: TF, spec: LossSpec, pred: tfType.Tensor, y: tfType.Tensor): tfType.Scalar {
  if (spec.task === "classification") {
    if (spec.binary) return binaryCrossEntropy(tf, spec.logits, pred, y);
    const oneHot = tf.oneHot(y as tfType.Tensor1D, spec.outputs);
    if (spec.logits) return tf.losses.softmaxCrossEntropy(oneHot, pred) as tfType.Scalar;
    const p = tf.clipByValue(pred, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(p)), -1))) as tfType.Scalar;
  }
  return tf.mean(tf.square(tf.sub(tf.reshape(pred, [-1]), y)));
}

/** Binary cross-entropy of one output unit against labels 0/1 (clipped like Keras; on logits, the stable sigmoid form). */
function binaryCrossEntropy(tf: TF, logits: boolean, pred: tfType.Tensor, y: tfType.Tensor): tfType.Scalar {
  const labels = tf.cast(tf.reshape(y, [-1]), "float32");
  const z = tf.reshape(pred, [-1]);
  if (logits) return tf.losses.sigmoidCrossEntropy(labels, z) as tfType.Scalar;
  const p = tf.clipByValue(z, 1e-7, 1 - 1e-7);
  return tf.neg(tf.mean(tf.add(tf.mul(labels, tf.log(p)), tf.mul(tf.sub(1, labels), tf.log(tf.sub(1, p)))))) as tfType.Scalar;
}

/** The class a classification model predicts per row: argmax, or p > 0.5 for a one-unit sigmoid head. */
export function predictedClass(tf: TF, spec: LossSpec, pred: tfType.Tensor): tfType.Tensor {
  return spec.binary ? headClasses(tf, { kind: spec.logits ? "sigmoid-logits" : "sigmoid" }, pred) : tf.argMax(pred, -1);
}

/** True when a classification model's last layer has no softmax (or sigmoid): its outputs are logits. */
export function outputsAreLogits(model: tfType.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const activation = (last?.getConfig() as { activation?: unknown }).activation;
  return activation === "linear" || (activation === undefined && last?.getClassName() === "Dense");
}

// Type aliases rather than interfaces: they fit Record<string, number> (a metrics row, a monitored metric by name).
export type ClassificationMetrics = {
  val_loss: number;
  val_accuracy: number;
};
export type RegressionMetrics = {
  val_loss: number;
  val_mse: number;
  val_mae: number;
  val_pearson: number;
};
export type LanguageModelMetrics = {
  val_loss: number;
  val_perplexity: number;
  val_token_accuracy: number;
};
export type ValidationMetrics = ClassificationMetrics | RegressionMetrics | LanguageModelMetrics;

export function accuracy(predictedClass: ArrayLike<number>, labels: ArrayLike<number>): number {
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (predictedClass[i] === labels[i]) hit++;
  return labels.length ? hit / labels.length : NaN;
}

export function regressionMetrics(pred: ArrayLike<number>, y: ArrayLike<number>): { mse: number; mae: number; pearson: number } {
  const n = y.length;
  let se = 0;
  let ae = 0;
  let sp = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    const e = pred[i] - y[i];
    se += e * e;
    ae += Math.abs(e);
    sp += pred[i];
    sy += y[i];
  }
  const mp = sp / n;
  const my = sy / n;
  let cov = 0;
  let vp = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) {
    const dp = pred[i] - mp;
    const dy = y[i] - my;
    cov += dp * dy;
    vp += dp * dp;
    vy += dy * dy;
  }
  const pearson = vp > 0 && vy > 0 ? cov / Math.sqrt(vp * vy) : 0;
  return { mse: se / n, mae: ae / n, pearson };
}

/** The monitored metrics where a larger value is better. */
const HIGHER_IS_BETTER: readonly Monitor[] = ["val_accuracy", "val_pearson", "val_token_accuracy"];

/** Whether a larger value of the monitored metric is better. */
export function higherIsBetter(metric: string): boolean {
  return (HIGHER_IS_BETTER as readonly string[]).includes(metric);
}
