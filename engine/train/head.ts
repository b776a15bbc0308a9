// What a model's last layer outputs and how it is read: class probabilities
// (softmax), logits, one sigmoid unit for two classes, or a regression value.
// Training (loss, predicted class), evaluation, prediction, the reference
// profile and the export metadata all read a model's outputs through this.
import type * as tfType from "@tensorflow/tfjs";
import type { Task } from "../data/schema";
import { TscolabError } from "../errors";

type TF = typeof tfType;

/**
 * - `softmax`: one probability per class.
 * - `logits`: one score per class, no softmax in the model.
 * - `sigmoid`: two classes, one unit holding p(second label).
 * - `sigmoid-logits`: two classes, one linear unit (the sigmoid is in the loss).
 * - `value`: regression.
 */
export type HeadKind = "softmax" | "logits" | "sigmoid" | "sigmoid-logits" | "value";

export interface Head {
  kind: HeadKind;
  /** Output units of the model. */
  units: number;
  /** Classes (2 for a sigmoid head), or 1 for regression. */
  classes: number;
}

/** Decision threshold of a one-unit binary head, on the probability. */
export const BINARY_THRESHOLD = 0.5;

function lastActivation(model: tfType.LayersModel): string | undefined {
  const last = model.layers[model.layers.length - 1];
  const activation = (last?.getConfig() as { activation?: unknown }).activation;
  if (typeof activation === "string") return activation;
  return last?.getClassName() === "Dense" ? "linear" : undefined;
}

function outputUnits(model: tfType.LayersModel): number | null {
  const shape = model.outputs[0]?.shape ?? [];
  return shape[shape.length - 1] ?? null;
}

/**
 * The head of a model for a task with `classes` classes (1 for regression),
 * or a one-line error naming the mismatch and the fix.
 */
export function headOf(model: tfType.LayersModel, task: Task, classes: number, where: string, labels?: readonly string[] | null): Head {
  const units = outputUnits(model);
  if (task === "regression") {
    if (units !== 1) throw new TscolabError(`${where} outputs ${units} values per example but the data has 1 regression target`, "end the model with a Dense layer of 1 unit");
    return { kind: "value", units: 1, classes: 1 };
  }
  const activation = lastActivation(model);
  if (units === 1 && classes === 2) {
    if (activation === "softmax")
      throw new TscolabError(`${where} ends in a 1-unit softmax, which always outputs 1`, "use a 1-unit sigmoid (binary cross-entropy) or a 2-unit softmax");
    return { kind: activation === "linear" ? "sigmoid-logits" : "sigmoid", units: 1, classes: 2 };
  }
  if (units !== classes) {
    throw new TscolabError(
      `${where} outputs ${units} values per example but the data has ${classes} classes${labels ? ` (${labels.join(", ")})` : ""}`,
      classes === 2 ? "end the model with a Dense layer of 2 units (softmax) or 1 unit (sigmoid)" : `end the model with a Dense layer of ${classes} units`,
    );
  }
  return { kind: activation === "linear" ? "logits" : "softmax", units, classes };
}

/** Class probabilities `[n, classes]` from a model's outputs (a tensor the caller disposes). */
export function classProbabilities(tf: TF, head: Head, pred: tfType.Tensor): tfType.Tensor2D {
  return tf.tidy(() => {
    switch (head.kind) {
      case "softmax":
        return tf.reshape(pred, [-1, head.classes]) as tfType.Tensor2D;
      case "logits":
        return tf.softmax(tf.reshape(pred, [-1, head.classes])) as tfType.Tensor2D;
      case "sigmoid":
      case "sigmoid-logits": {
        const p = tf.reshape(head.kind === "sigmoid" ? pred : tf.sigmoid(pred), [-1, 1]);
        return tf.concat([tf.sub(1, p), p], 1) as tfType.Tensor2D;
      }
      case "value":
        throw new Error("internal error: a regression head has no class probabilities");
    }
  });
}

/** Predicted class index per row (argmax, or p > 0.5 for a sigmoid head), int32. */
export function headClasses(tf: TF, head: Pick<Head, "kind">, pred: tfType.Tensor): tfType.Tensor1D {
  return tf.tidy(() => {
    if (head.kind === "sigmoid" || head.kind === "sigmoid-logits") {
      const threshold = head.kind === "sigmoid" ? BINARY_THRESHOLD : 0; // logit 0 is p = 0.5
      return tf.cast(tf.greater(tf.reshape(pred, [-1]), threshold), "int32") as tfType.Tensor1D;
    }
    return tf.argMax(pred, -1) as tfType.Tensor1D;
  });
}
