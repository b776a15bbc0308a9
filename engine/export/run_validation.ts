// For an export from a run: rebuild the run's validation split the way the
// trainer did (same data config, seed, vocabulary and normalisation), score
// each reloaded export on it exactly as the trainer's evaluate() does, and
// compare with the metrics.jsonl row of the exported checkpoint's step.
// float32 must reproduce the recorded metric exactly; quantized formats may
// lose a little.
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../data";
import { readMetrics } from "../store";
import type { Task } from "../data/schema";
import { isTextTask } from "../text/dataset";
import { loadTextRunValidation } from "../text/export_validation";
import { headClasses } from "../train/head";
import { accuracy, outputsAreLogits, regressionMetrics } from "../train/metrics";
import type { FormatName } from "./formats";
import { check, type HealthCheck } from "./health";
import type { ModelSource } from "./source";

export interface RunValidation {
  x: tf.Tensor;
  y: Float32Array;
  task: Task;
  chunk: number;
  metric: string;
  /** Scores a model its own way (language modeling: val_loss); default: accuracy or MSE below. */
  score?: (model: tf.LayersModel) => number;
  recorded: number;
  step: number;
  /** The export computes the normalisation itself (./raw_inputs.ts): float rounding differs from the trainer's, so float32 agrees to rounding, not bit for bit. */
  normalizationInGraph?: boolean;
}

type Config = { data?: unknown; seed?: number; task?: "classification" | "regression" | null; batchSize?: number; cwd?: string };

/** The folder the trainer resolved relative data paths from (run.json provenance.cwd). */
function provenanceCwd(run: Record<string, unknown>): string | undefined {
  const p = run.provenance as { cwd?: unknown } | undefined;
  return typeof p?.cwd === "string" ? p.cwd : undefined;
}

/** The validation split and the recorded metric, or a reason it cannot be checked (null: nothing to check). */
export async function loadRunValidation(source: ModelSource, cwd: string): Promise<{ value?: RunValidation; skip?: HealthCheck }> {
  if (source.kind !== "run" || !source.runDir || !source.runJson) return {};
  if (isTextTask(source.dataset?.task)) return loadTextRunValidation(source, cwd);
  const run = source.runJson as Record<string, unknown>;
  const config = (run.config ?? {}) as Config;
  const step = Number(source.describe.step);
  const { rows } = await readMetrics(source.runDir);
  const row = rows.find((r) => r.step === step);
  const metric = source.dataset?.task === "regression" ? "val_mse" : "val_accuracy";
  if (!config.data || !row || typeof row[metric] !== "number") {
    const why = !config.data ? "run.json has no config.data" : !row ? `metrics.jsonl has no row for step ${step}` : `the step ${step} row has no ${metric}`;
    return { skip: check("run.validation", "warning", `cannot re-score the export on the run's validation data: ${why}`, { step }) };
  }
  let data;
  try {
    const task = config.task ?? source.dataset?.task ?? undefined;
    data = await loadDataset(config.data as Parameters<typeof loadDataset>[0], { seed: config.seed ?? 42, task: task ?? undefined, cwd: config.cwd ?? provenanceCwd(run) ?? cwd });
  } catch (e) {
    return { skip: check("run.validation", "warning", `cannot reload the run's validation data: ${(e as Error).message.split("\n")[0]}`, { step }) };
  }
  if (data.valid.n === 0) return { skip: check("run.validation", "warning", "the run has no validation rows to re-score", { step }) };
  return {
    value: {
      x: tf.tensor(data.valid.x, [data.valid.n, ...data.info.inputShape]),
      y: data.valid.y,
      task: data.info.task,
      chunk: Math.max(config.batchSize ?? 32, 256),
      metric,
      recorded: row[metric] as number,
      step,
    },
  };
}

/** The trainer's evaluate(): chunks of max(batchSize, 256), argmax on device, metrics in float64 on the host. */
export function scoreModel(model: tf.LayersModel, v: RunValidation): number {
  if (v.score) return v.score(model);
  const n = v.y.length;
  const outputs = new Float32Array(n);
  for (let start = 0; start < n; start += v.chunk) {
    const size = Math.min(v.chunk, n - start);
    const out = tf.tidy(() => {
      const pred = model.predict(v.x.slice(start, size)) as tf.Tensor;
      // A one-unit sigmoid head reads p > 0.5; otherwise argmax.
      const units = pred.shape[pred.shape.length - 1];
      if (v.task === "classification" && units === 1) return headClasses(tf, { kind: outputsAreLogits(model) ? "sigmoid-logits" : "sigmoid" }, pred);
      return v.task === "regression" ? tf.reshape(pred, [-1]) : tf.argMax(pred, -1);
    });
    outputs.set(out.dataSync() as ArrayLike<number>, start);
    out.dispose();
  }
  return v.task === "regression" ? regressionMetrics(outputs, v.y).mse : accuracy(outputs, v.y);
}

/** float32 must match exactly; quantized formats within 1 point of accuracy (or 5% of the MSE), warning within 5 (25%). */
export function runValidationCheck(format: FormatName, model: tf.LayersModel, v: RunValidation): HealthCheck {
  const got = scoreModel(model, v);
  const details = { metric: v.metric, recorded: v.recorded, reproduced: got, step: v.step, rows: v.y.length };
  const name = `${format}.${v.metric}`;
  const text = `${v.metric} ${got} on ${v.y.length} validation rows; the run recorded ${v.recorded} at step ${v.step}`;
  if (format === "tfjs" && !v.normalizationInGraph) {
    return got === v.recorded ? check(name, "passed", `reproduces the run exactly: ${text}`, details) : check(name, "failed", `does not reproduce the run: ${text}`, details);
  }
  if (format === "tfjs") {
    // Raw inputs through the folded (or prepended) normalisation: the same model up to float32 rounding.
    if (got === v.recorded) return check(name, "passed", `reproduces the run exactly from raw inputs: ${text}`, details);
    const close = v.metric === "val_mse" ? Math.abs(got - v.recorded) <= 1e-4 * Math.max(Math.abs(v.recorded), 1e-12) : Math.abs(got - v.recorded) * v.y.length <= 1.5;
    return close
      ? check(name, v.metric === "val_mse" ? "passed" : "warning", `reproduces the run to float rounding from raw inputs (the normalisation is inside the graph): ${text}`, details)
      : check(name, "failed", `does not reproduce the run: ${text}`, details);
  }
  const loss = v.metric === "val_accuracy" ? v.recorded - got : (got - v.recorded) / Math.max(Math.abs(v.recorded), 1e-12);
  const [ok, warn] = v.metric === "val_accuracy" ? [0.01, 0.05] : [0.05, 0.25];
  return check(name, loss <= ok ? "passed" : loss <= warn ? "warning" : "failed", text, { ...details, drop: loss });
}
