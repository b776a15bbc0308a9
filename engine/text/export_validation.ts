// An export of a text run is re-scored on the run's own validation windows,
// rebuilt with the run's stored tokenizer, and compared with the metric the
// run recorded at the exported step: val_loss for language modeling (scored
// exactly as training scored it), val_accuracy for text classification.
import * as tf from "@tensorflow/tfjs";
import type { DataConfig, Task } from "../data/schema";
import { check, type HealthCheck } from "../export/health";
import type { RunValidation } from "../export/run_validation";
import type { ModelSource } from "../export/source";
import { readMetrics } from "../store";
import { loadTextDataset, readRunTokenizer } from "./dataset";
import { scoreLanguageModel } from "./lm_objective";
import type { TokenizerSpec } from "./tokenizer";

interface StoredConfig {
  task?: Task | null;
  data?: DataConfig;
  model?: { zoo?: string };
  tokenizer?: TokenizerSpec | null;
  seed?: number;
  batchSize?: number;
}

export async function loadTextRunValidation(source: ModelSource, cwd: string): Promise<{ value?: RunValidation; skip?: HealthCheck }> {
  if (!source.runDir || !source.runJson || !source.dataset) return {};
  const run = source.runJson as Record<string, unknown>;
  const config = (run.config ?? {}) as StoredConfig;
  const task = source.dataset.task as Task;
  const metric = task === "language-modeling" ? "val_loss" : "val_accuracy";
  const step = Number(source.describe.step);
  const { rows } = await readMetrics(source.runDir);
  const row = rows.find((r) => r.step === step);
  const skip = (why: string) => ({ skip: check("run.validation", "warning", `cannot re-score the export on the run's validation data: ${why}`, { step }) });
  if (!config.data) return skip("run.json has no config.data");
  if (!row || typeof row[metric] !== "number") return skip(!row ? `metrics.jsonl has no row for step ${step}` : `the step ${step} row has no ${metric}`);
  const tokenizer = await readRunTokenizer(source.runDir);
  if (!tokenizer) return skip("the run folder has no tokenizer.json");
  const seqLen = source.dataset.inputShape?.[0];
  if (!seqLen) return skip("run.json's dataset has no input shape");
  const provenance = run.provenance as { cwd?: unknown } | undefined;
  let text;
  try {
    text = await loadTextDataset(
      { task, data: config.data, model: config.model ?? {}, tokenizer: config.tokenizer },
      { seqLen, seed: config.seed ?? 42, cwd: typeof provenance?.cwd === "string" ? provenance.cwd : cwd, tokenizer },
    );
  } catch (e) {
    return { skip: check("run.validation", "warning", `cannot reload the run's validation data: ${(e as Error).message.split("\n")[0]}`, { step }) };
  }
  const valid = text.data.valid;
  if (valid.n === 0) return { skip: check("run.validation", "warning", "the run has no validation windows to re-score", { step }) };
  const chunk = Math.max(config.batchSize ?? 32, 256);
  const x = tf.tensor2d(Int32Array.from(valid.x), [valid.n, seqLen], "int32");
  const score =
    task === "language-modeling"
      ? (model: tf.LayersModel) => {
          const y = tf.tensor2d(Int32Array.from(valid.y), [valid.n, seqLen], "int32");
          try {
            return scoreLanguageModel(tf, (xb) => model.predict(xb) as tf.Tensor, { x, y }, valid.n, chunk, text.vocabSize).val_loss;
          } finally {
            y.dispose();
          }
        }
      : undefined;
  return { value: { x, y: valid.y, task, chunk, metric, recorded: row[metric] as number, step, score } };
}
