// The reference profile every run stores in profile.json: statistics of each
// training input feature (raw values, before normalisation) and of the
// model's outputs on the validation rows, so monitor can tell later data
// apart from what the model was trained and validated on.
import path from "node:path";
import fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { LoadedDataset } from "../data/dataset";
import { taskName, type DatasetInfo } from "../data/schema";
import { modelOutputs, outputColumns } from "../evaluate/outputs";
import { BEST_DIR, loadModelFromFiles, MANIFEST_NAME, readCheckpoint, readProfileFile, writeProfileFile } from "../store";
import { headOf } from "../train/head";
import { columnProfile, describeColumn, SAMPLE_CAP } from "./stats";

export const PROFILE_FORMAT = "tscolab-profile/1";

export const referenceProfile = z.object({
  format: z.literal(PROFILE_FORMAT),
  createdAt: z.string(),
  task: taskName,
  labels: z.array(z.string()).nullable(),
  inputs: z.object({ source: z.string(), rows: z.number().int(), features: z.array(columnProfile) }),
  outputs: z
    .object({
      /** The rows the outputs were computed on: the validation split, or the training rows when there is none. */
      source: z.enum(["validation", "training"]),
      /** The model: the run's best checkpoint, or its final weights when it keeps no best. */
      checkpoint: z.enum(["best", "last"]),
      step: z.number().int(),
      rows: z.number().int(),
      columns: z.array(columnProfile),
      /** How often each class was predicted (classification). */
      predictedClasses: z.record(z.string(), z.number().int()).nullable(),
    })
    .nullable(),
});
export type ReferenceProfile = z.infer<typeof referenceProfile>;

/** One name per value of a row: the feature names, or `name[i]` for one column holding an array. */
export function featureColumnNames(info: Pick<DatasetInfo, "features" | "inputShape">): string[] {
  const size = info.inputShape.reduce((a, b) => a * b, 1);
  return info.features.length === size ? info.features : Array.from({ length: size }, (_, i) => `${info.features[0] ?? "x"}[${i}]`);
}

/** Per-column sample size: everything up to SAMPLE_CAP, fewer per column for wide inputs (about 200 000 values in all). */
export const sampleCapFor = (columns: number) => Math.max(100, Math.min(SAMPLE_CAP, Math.floor(200_000 / Math.max(columns, 1))));

/** Columns of row-major values: column j of `rows × width`. */
export function columnsOf(x: ArrayLike<number>, rows: number, width: number, names: string[], map?: (v: number, j: number) => number): { name: string; values: Float64Array }[] {
  return names.map((name, j) => {
    const values = new Float64Array(rows);
    for (let r = 0; r < rows; r++) values[r] = map ? map(x[r * width + j], j) : x[r * width + j];
    return { name, values };
  });
}

export function profileOutputs(
  model: tf.LayersModel,
  info: DatasetInfo,
  x: Float32Array,
  rows: number,
  from: { source: "validation" | "training"; checkpoint: "best" | "last"; step: number },
) {
  const classes = info.task === "classification" ? (info.labels?.length ?? 0) : 1;
  const head = headOf(model, info.task, classes, "the model", info.labels);
  const out = modelOutputs(tf, model, head, x, rows, info.inputShape);
  const columns = outputColumns(out, info.labels);
  const counts = out.classes ? Object.fromEntries((info.labels ?? []).map((l, c) => [l, out.classes!.filter((k) => k === c).length])) : null;
  return { ...from, rows, columns: columns.map((c) => describeColumn(c.name, c.values)), predictedClasses: counts };
}

/**
 * The profile of a run at the end of training: `data` as the trainer holds
 * it (normalised; mapped back to raw values here), the model of best/ when
 * the run keeps one, else `finalModel`.
 */
export async function buildRunProfile(runDir: string, data: LoadedDataset, finalModel: tf.LayersModel, finalStep: number): Promise<ReferenceProfile> {
  const info = data.info;
  const names = featureColumnNames(info);
  const width = names.length;
  const norm = info.normalization;
  const raw = (v: number, j: number) => (norm ? v * norm.std[j] + norm.mean[j] : v);
  const cap = sampleCapFor(width);
  const features = columnsOf(data.train.x, data.train.n, width, names, raw).map((c) => describeColumn(c.name, c.values, cap));

  let model = finalModel;
  let checkpoint: "best" | "last" = "last";
  let step = finalStep;
  const bestDir = path.join(runDir, BEST_DIR);
  if (fs.existsSync(path.join(bestDir, MANIFEST_NAME))) {
    const best = await readCheckpoint(bestDir);
    model = await loadModelFromFiles(best.files, tf);
    checkpoint = "best";
    step = best.step;
  }
  try {
    const split = data.valid.n > 0 ? { source: "validation" as const, x: data.valid.x, n: data.valid.n } : { source: "training" as const, x: data.train.x, n: data.train.n };
    const outputs = profileOutputs(model, info, split.x, split.n, { source: split.source, checkpoint, step });
    return {
      format: PROFILE_FORMAT,
      createdAt: new Date().toISOString(),
      task: info.task,
      labels: info.labels,
      inputs: { source: "training", rows: data.train.n, features },
      outputs,
    };
  } finally {
    if (model !== finalModel) model.dispose();
  }
}

export async function writeRunProfile(runDir: string, data: LoadedDataset, finalModel: tf.LayersModel, finalStep: number): Promise<string> {
  return writeProfileFile(runDir, await buildRunProfile(runDir, data, finalModel, finalStep));
}

/** The run's profile.json, validated; null when the run has none (trained before profiles existed). */
export async function readRunProfile(runDir: string): Promise<ReferenceProfile | null> {
  const raw = await readProfileFile(runDir);
  if (raw === null) return null;
  const parsed = referenceProfile.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
