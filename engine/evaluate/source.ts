// The model evaluate, predict and monitor score with: a run's checkpoint
// (best/ or the newest valid one), which takes normalised inputs, or an
// export folder, whose metadata names the features and labels and says
// whether the normalisation is inside its graph. Either way the caller gets
// raw-input scoring: `normalization` is what still has to be applied.
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { ImageInfo } from "../data/images";
import { TscolabError, UsageError } from "../errors";
import type { Task as AnyTask } from "../data/schema";
import { exportMetadata } from "../export/metadata";
import { runSource } from "../export/source";
import { fileLoadHandler } from "../export/tfjs_files";
import { headOf, type Head } from "../train/head";

/** The tasks scored here; text models are scored by their run's val_perplexity / val_accuracy and by %generate. */
type Task = Extract<AnyTask, "classification" | "regression">;

function tableTask(task: AnyTask, where: string): Task {
  if (task === "classification" || task === "regression") return task;
  throw new TscolabError(
    `${where} is a ${task} model; evaluate, predict and monitor score classification and regression models`,
    "read the run's validation metrics (val_perplexity, val_accuracy) or use %generate",
  );
}

export interface Normalization {
  mean: number[];
  std: number[];
}

export interface ScoringModel {
  model: tf.LayersModel;
  head: Head;
  task: Task;
  /** Columns the data must have, in the model's order. */
  features: string[];
  /** The label column the run was trained on. */
  label: string | null;
  labels: string[] | null;
  inputShape: number[];
  /** Applied to raw rows before the model (a run's checkpoint); null when the model takes raw inputs. */
  normalization: Normalization | null;
  /** How images become input, for a model trained on an image folder; null otherwise. */
  image: ImageInfo | null;
  /** What was loaded, for results and reports. */
  describe: Record<string, unknown>;
  runDir?: string;
  dispose(): void;
}

export interface ScoringSourceOptions {
  /** Run id, run folder or "last". */
  run?: string;
  checkpoint?: "best" | "last";
  /** An export folder (or its tfjs / tfjs-float16 / tfjs-uint8 folder, or a model.json). */
  model?: string;
  drive?: string;
  cwd: string;
}

const EXPORT_FOLDERS = ["", "tfjs", "tfjs-float16", "tfjs-uint8"];

function modelJsonIn(dir: string): string | null {
  if (dir.endsWith(".json") && fs.existsSync(dir)) return dir;
  for (const sub of EXPORT_FOLDERS) {
    const file = path.join(dir, sub, "model.json");
    if (fs.existsSync(file)) return file;
  }
  return null;
}

const shapeOf = (model: tf.LayersModel) => (model.inputs[0]?.shape.slice(1) ?? []).map((d) => d ?? 1);

export async function openScoringModel(opts: ScoringSourceOptions): Promise<ScoringModel> {
  if (opts.run !== undefined && opts.model !== undefined) throw new UsageError("pass either --run RUN or --model DIR, not both");
  if (opts.run === undefined && opts.model === undefined)
    throw new UsageError("nothing to score with: pass --run RUN (a run id, folder or last) or --model DIR (an export folder)");
  return opts.run !== undefined ? fromRun(opts.run, opts) : fromExport(opts.model!, opts.cwd);
}

async function fromRun(ref: string, opts: ScoringSourceOptions): Promise<ScoringModel> {
  const source = await runSource(ref, opts.checkpoint ?? "best", { drive: opts.drive, cwd: opts.cwd });
  const d = source.dataset;
  const where = `run ${String(source.describe.runId)}`;
  if (!d?.task || !d.features || !d.inputShape) {
    source.model.dispose();
    throw new TscolabError(`${where} has no dataset section in run.json (task, features, input shape)`, "score a run trained by tscolab train, or an export folder with --model");
  }
  const labels = d.labels ? d.labels.map(String) : null;
  let task: Task;
  try {
    task = tableTask(d.task, where);
  } catch (e) {
    source.model.dispose();
    throw e;
  }
  const head = headOf(source.model, task, d.task === "classification" ? (labels?.length ?? 0) : 1, `the model of ${where}`, labels);
  return {
    model: source.model,
    head,
    task,
    features: d.features,
    label: d.label ?? null,
    labels,
    inputShape: d.inputShape.map((n) => n ?? 1),
    normalization: d.normalization ?? null,
    image: d.image ?? null,
    describe: { ...source.describe, warnings: source.warnings },
    runDir: source.runDir,
    dispose: () => source.model.dispose(),
  };
}

async function fromExport(dir: string, cwd: string): Promise<ScoringModel> {
  const resolved = path.resolve(cwd, dir);
  const modelJson = modelJsonIn(resolved);
  if (!modelJson)
    throw new TscolabError(`no tfjs export in ${resolved} (no model.json there or in tfjs/, tfjs-float16/, tfjs-uint8/)`, "pass the folder %export wrote (--out), or --run RUN");
  const model = await tf.loadLayersModel(fileLoadHandler(modelJson));
  const parsed = exportMetadata.partial().safeParse(model.getUserDefinedMetadata() ?? {});
  const meta = parsed.success ? parsed.data : {};
  const where = `the export ${modelJson}`;
  if (!meta.task || !meta.features) {
    model.dispose();
    throw new TscolabError(`${where} has no task and feature names in its metadata`, "export it from a run (%export --run RUN), which records them");
  }
  const labels = meta.labels ? meta.labels.map(String) : null;
  let task: Task;
  try {
    task = tableTask(meta.task, where);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const head = headOf(model, task, meta.task === "classification" ? (labels?.length ?? 0) : 1, where, labels);
  // Exports written before the normalisation moved into the graph say so by lacking `inputs: "raw"`.
  const outside = meta.normalization && meta.inputs !== "raw" && !meta.normalization.inGraph;
  return {
    model,
    head,
    task,
    features: meta.features,
    label: meta.label ?? null,
    labels,
    inputShape: shapeOf(model),
    normalization: outside ? { mean: meta.normalization!.mean, std: meta.normalization!.std } : null,
    image: meta.image ?? null,
    describe: { kind: "export", modelJson, source: meta.source ?? null },
    dispose: () => model.dispose(),
  };
}
