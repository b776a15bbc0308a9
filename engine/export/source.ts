// Where the model to export comes from: a run in the Drive store (its best/
// or newest valid checkpoint, loaded with the store's own loader) or a
// tf.LayersModel already in memory (a notebook variable).
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { resolveDriveRoot } from "../store/drive_root";
import { isLayersModel } from "../models";
import "../models/transformer/register";
import { trainedDataset } from "../models/trained_with";
import { BEST_DIR, listValidCheckpoints, loadModelFromFiles, MANIFEST_NAME, openRun, readCheckpoint, type RunJson } from "../store";
import { TscolabError, UsageError } from "../errors";
import { headOf, type Head } from "../train/head";
import { exportDatasetInfo, type ExportDatasetInfo } from "./metadata";

export interface ModelSource {
  model: tf.LayersModel;
  kind: "run" | "memory";
  dataset?: ExportDatasetInfo;
  runDir?: string;
  runJson?: RunJson;
  /** Facts recorded in the metadata, the report and the bundle. */
  describe: Record<string, unknown>;
  /** Problems found while choosing the checkpoint (e.g. a corrupt newer one). */
  warnings: string[];
}

export function memorySource(model: unknown, dataset?: unknown): ModelSource {
  if (!isLayersModel(model)) {
    throw new UsageError(`<model> must be a tf.LayersModel (got ${model === null ? "null" : typeof model}); pass a notebook variable holding one, or --run RUN`);
  }
  dataset ??= trainedDataset(model);
  const parsed = dataset === undefined ? undefined : exportDatasetInfo.safeParse(dataset);
  if (parsed && !parsed.success)
    throw new UsageError(`dataset: ${parsed.error.issues[0]?.message ?? "invalid"}; expected run.json's dataset section ({ labels, normalization, ... })`);
  return { model, kind: "memory", dataset: parsed?.data, describe: { kind: "memory", modelName: model.name }, warnings: [] };
}

export async function runSource(ref: string, checkpoint: "best" | "last", opts: { drive?: string; cwd: string }): Promise<ModelSource> {
  const run = await openRun(resolveDriveRoot(opts.drive, opts.cwd), ref, { cwd: opts.cwd });
  const warnings: string[] = [];
  let dir: string;
  if (checkpoint === "best") {
    dir = path.join(run.runDir, BEST_DIR);
    if (!fs.existsSync(path.join(dir, MANIFEST_NAME))) {
      throw new TscolabError(
        `run ${run.runId} has no best checkpoint (no ${BEST_DIR}/${MANIFEST_NAME})`,
        "export the newest checkpoint with --checkpoint last, or train with checkpoint.keepBest",
      );
    }
  } else {
    const { valid, corrupt } = await listValidCheckpoints(run.runDir);
    for (const c of corrupt.filter((c) => !valid.length || c.step > valid[0].step)) warnings.push(`${c.message}; skipped it`);
    if (!valid.length) {
      throw new TscolabError(
        `run ${run.runId} has no valid checkpoint${corrupt.length ? ` (${corrupt.length} corrupt)` : ""}`,
        "train (or resume) the run until it commits a checkpoint",
      );
    }
    dir = valid[0].dir;
  }
  const loaded = await readCheckpoint(dir);
  const model = await loadModelFromFiles(loaded.files, tf);
  const rawDataset = (run.runJson as Record<string, unknown>).dataset;
  const parsed = rawDataset === undefined ? undefined : exportDatasetInfo.safeParse(rawDataset);
  if (parsed && !parsed.success) warnings.push(`run.json dataset section is not readable (${parsed.error.issues[0]?.message}); exported without labels/normalization`);
  if (rawDataset === undefined) warnings.push("run.json has no dataset section; exported without labels/normalization");
  return {
    model,
    kind: "run",
    dataset: parsed?.success ? parsed.data : undefined,
    runDir: run.runDir,
    runJson: run.runJson,
    describe: { kind: "run", runId: run.runId, runDir: run.runDir, checkpoint, checkpointDir: dir, step: loaded.step, epoch: loaded.epoch },
    warnings,
  };
}

/** How the source model's outputs read (softmax, sigmoid, ...), when its dataset says the task; undefined when unknown or mismatched. */
export function headForSource(source: ModelSource): Head | undefined {
  const task = source.dataset?.task;
  if (!task) return undefined;
  try {
    return headOf(source.model, task, task === "classification" ? (source.dataset?.labels?.length ?? 0) : 1, "the model");
  } catch {
    return undefined;
  }
}
