// Test-set metrics. Classification: accuracy, per-class precision, recall,
// F1 and support, their macro averages, log loss and the confusion matrix
// (rows: true class, columns: predicted). Regression: MSE, RMSE, MAE,
// Pearson r and R². Float64 on the host.
import { regressionMetrics } from "../train/metrics";

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  logLoss: number;
  perClass: Record<string, ClassMetrics>;
  confusionMatrix: { labels: string[]; rows: "true"; columns: "predicted"; matrix: number[][] };
}

export interface RegressionMetrics {
  mse: number;
  rmse: number;
  mae: number;
  pearson: number;
  r2: number;
}

export type EvaluationMetrics = ClassificationMetrics | RegressionMetrics;

/** Scores between 0 and 1 where higher is better; the rest (errors, log loss) are better lower. */
export const HIGHER_IS_BETTER = new Set(["accuracy", "macroPrecision", "macroRecall", "macroF1", "pearson", "r2"]);

/** The metrics a baseline comparison looks at, per task. */
export const COMPARED_METRICS = {
  classification: ["accuracy", "macroF1", "macroPrecision", "macroRecall", "logLoss"],
  regression: ["mse", "rmse", "mae", "pearson", "r2"],
} as const;

/** Precision, recall and F1 are 0 where their denominator is (no predictions of, or no rows of, the class). */
const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

export function classificationMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, probabilities: Float32Array, labels: string[]): ClassificationMetrics {
  const k = labels.length;
  const n = truth.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let hits = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    matrix[truth[i]][predicted[i]]++;
    if (truth[i] === predicted[i]) hits++;
    logLoss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, probabilities[i * k + truth[i]])));
  }
  const perClass: Record<string, ClassMetrics> = {};
  labels.forEach((label, c) => {
    const tp = matrix[c][c];
    const support = matrix[c].reduce((a, b) => a + b, 0);
    const predictedAs = matrix.reduce((a, row) => a + row[c], 0);
    const precision = ratio(tp, predictedAs);
    const recall = ratio(tp, support);
    perClass[label] = { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const macro = (key: keyof ClassMetrics) => labels.reduce((a, l) => a + perClass[l][key], 0) / k;
  return {
    accuracy: ratio(hits, n),
    macroPrecision: macro("precision"),
    macroRecall: macro("recall"),
    macroF1: macro("f1"),
    logLoss: n ? logLoss / n : 0,
    perClass,
    confusionMatrix: { labels, rows: "true", columns: "predicted", matrix },
  };
}

export function regressionReport(pred: ArrayLike<number>, truth: ArrayLike<number>): RegressionMetrics {
  const { mse, mae, pearson } = regressionMetrics(pred, truth);
  const n = truth.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += truth[i];
  mean /= Math.max(n, 1);
  let total = 0;
  for (let i = 0; i < n; i++) total += (truth[i] - mean) ** 2;
  // R² = 1 − SS_res / SS_tot; for a constant target (nothing to explain): 1 when predicted exactly, else 0.
  const r2 = total > 0 ? 1 - (mse * n) / total : mse === 0 ? 1 : 0;
  return { mse, rmse: Math.sqrt(mse), mae, pearson, r2 };
}

/** The flat numbers of a metrics object (per-class entries and the matrix left out). */
export function headlineMetrics(m: EvaluationMetrics): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === "number")) as Record<string, number>;
}
