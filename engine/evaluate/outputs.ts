// A model's outputs on rows of features, in chunks, read the way its head
// says: class probabilities and the predicted class, or a value. Shared by
// evaluate, predict, the reference profile and monitor.
import type * as tfType from "@tensorflow/tfjs";
import { classProbabilities, headClasses, type Head } from "../train/head";

type TF = typeof tfType;

export interface ModelOutputs {
  rows: number;
  /** Row-major `rows × classes` probabilities (classification). */
  probabilities: Float32Array | null;
  /** Predicted class index per row (classification). */
  classes: Int32Array | null;
  /** Predicted value per row (regression). */
  values: Float32Array | null;
}

/** Outputs for `rows` examples of `x` (row-major, `inputShape` per row), in inference mode. */
export function modelOutputs(tf: TF, model: tfType.LayersModel, head: Head, x: Float32Array, rows: number, inputShape: number[], chunk = 512): ModelOutputs {
  const classification = head.kind !== "value";
  const probabilities = classification ? new Float32Array(rows * head.classes) : null;
  const classes = classification ? new Int32Array(rows) : null;
  const values = classification ? null : new Float32Array(rows);
  const size = inputShape.reduce((a, b) => a * b, 1);
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    const out = tf.tidy(() => {
      const pred = model.predict(tf.tensor(x.subarray(start * size, (start + n) * size), [n, ...inputShape])) as tfType.Tensor;
      return classification ? [classProbabilities(tf, head, pred), headClasses(tf, head, pred)] : [tf.reshape(pred, [-1])];
    });
    if (classification) {
      probabilities!.set(out[0].dataSync() as Float32Array, start * head.classes);
      classes!.set(out[1].dataSync() as Int32Array, start);
    } else values!.set(out[0].dataSync() as Float32Array, start);
    tf.dispose(out);
  }
  return { rows, probabilities, classes, values };
}

/** Output columns for profiles and prediction files: `p_<label>` per class, or `prediction`. */
export function outputColumns(out: ModelOutputs, labels: readonly string[] | null): { name: string; values: Float32Array }[] {
  if (out.values) return [{ name: "prediction", values: out.values }];
  const k = out.probabilities!.length / Math.max(out.rows, 1);
  return Array.from({ length: k }, (_, c) => {
    const column = new Float32Array(out.rows);
    for (let r = 0; r < out.rows; r++) column[r] = out.probabilities![r * k + c];
    return { name: `p_${labels?.[c] ?? c}`, values: column };
  });
}
