// A training objective other than the built-in classification / regression
// one (trainer.ts): how a split becomes device tensors, the batch loss, the
// model's output shape and the validation metrics. Language modeling
// (engine/text/lm_objective.ts) is one.
import type * as tfType from "@tensorflow/tfjs";
import type { Split } from "../data/dataset";
import type { ValidationMetrics } from "./metrics";

type TF = typeof tfType;

export interface Objective {
  /** The split on the device (the trainer disposes both). */
  tensors(tf: TF, split: Split): { x: tfType.Tensor; y: tfType.Tensor };
  /** Mean loss of a batch (inside the step: no host reads). */
  loss(tf: TF, pred: tfType.Tensor, y: tfType.Tensor): tfType.Scalar;
  /** The model's output shape for a batch of `rows` examples (tier 1 checks it). */
  outputShape(rows: number): number[];
  /** Validation metrics over the first `n` rows, `chunk` rows at a time, in inference mode. */
  evaluate(tf: TF, model: tfType.LayersModel, valid: { x: tfType.Tensor; y: tfType.Tensor }, n: number, chunk: number): ValidationMetrics;
  /** Tokens per example, so speeds can be told in tokens/s. */
  tokensPerRow?: number;
}
