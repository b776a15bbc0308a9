// evaluate() and predict(): the engine behind %evaluate / `tscolab evaluate`
// and %predict / `tscolab predict`. Both score a data file with a run's
// checkpoint or an export folder; evaluate compares with the file's labels,
// predict writes one row per input row.
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ensureBackend } from "../backend";
import { TscolabError, UsageError } from "../errors";
import type { Task } from "../data/schema";
import { makeDirs } from "../store/durable_fs";
import { classificationMetrics, regressionReport, type EvaluationMetrics } from "./metrics";
import { modelOutputs, outputColumns, type ModelOutputs } from "./outputs";
import { openScoringModel, type ScoringModel, type ScoringSourceOptions } from "./source";
import { readScoringTable, type ScoringTable } from "./table";

export interface EvaluateOptions {
  run?: string;
  checkpoint?: "best" | "last";
  /** An export folder. */
  model?: string;
  /** A .csv / .jsonl file with the model's feature columns (and its label column), or a built-in data set. */
  data: string;
  drive?: string;
  cwd?: string;
}

export interface EvaluateResult {
  source: Record<string, unknown>;
  data: string;
  rows: number;
  task: Task;
  labels: string[] | null;
  metrics: EvaluationMetrics;
}

export interface PredictOptions extends EvaluateOptions {
  /** Where the predictions go: .csv or .jsonl. */
  out: string;
}

export interface PredictResult {
  source: Record<string, unknown>;
  data: string;
  out: string;
  rows: number;
  task: Task;
  columns: string[];
  /** The first rows written, for a quick look. */
  preview: Record<string, string | number>[];
}

/** A model applied to a table: outputs in the table's row order. */
export interface Scored {
  scoring: ScoringModel;
  table: ScoringTable;
  outputs: ModelOutputs;
}

function sourceOptions(o: EvaluateOptions): ScoringSourceOptions {
  return { run: o.run, checkpoint: o.checkpoint, model: o.model, drive: o.drive, cwd: o.cwd ?? process.cwd() };
}

/** The model's outputs on the table's raw rows (normalised first when the model needs it). */
export function scoreRows(scoring: ScoringModel, table: ScoringTable): ModelOutputs {
  let x = table.x;
  const norm = scoring.normalization;
  if (norm) {
    x = Float32Array.from(table.x);
    const k = norm.mean.length;
    for (let i = 0; i < x.length; i++) x[i] = (x[i] - norm.mean[i % k]) / norm.std[i % k];
  }
  return modelOutputs(tf, scoring.model, scoring.head, x, table.rows, scoring.inputShape);
}

/** Label values as class indices (or numbers for regression); an unknown class names its line. */
export function encodeTruth(scoring: ScoringModel, table: ScoringTable): Int32Array | Float64Array {
  const values = table.labels!;
  if (scoring.task === "regression") {
    return Float64Array.from(values, (v, i) => {
      const n = typeof v === "number" ? v : Number(v);
      if (!Number.isFinite(n))
        throw new TscolabError(`label "${scoring.label}" at ${table.source}:${table.lines[i]} is ${JSON.stringify(v)}, not a number`, "fix or remove the row");
      return n;
    });
  }
  const index = new Map((scoring.labels ?? []).map((l, i) => [l, i]));
  return Int32Array.from(values, (v, i) => {
    const k = index.get(String(v));
    if (k === undefined)
      throw new TscolabError(
        `label ${JSON.stringify(v)} at ${table.source}:${table.lines[i]} is not one of the model's classes (${scoring.labels?.join(", ")})`,
        "score with rows of the classes the model was trained on",
      );
    return k;
  });
}

export function metricsOf(scoring: ScoringModel, outputs: ModelOutputs, truth: Int32Array | Float64Array): EvaluationMetrics {
  if (scoring.task === "classification") return classificationMetrics(truth, outputs.classes!, outputs.probabilities!, scoring.labels ?? []);
  return regressionReport(outputs.values!, truth);
}

/** Loads the model and the table and scores it; the caller disposes `scoring`. */
export async function scoreData(o: EvaluateOptions, requireLabel: boolean): Promise<Scored> {
  await ensureBackend();
  const scoring = await openScoringModel(sourceOptions(o));
  try {
    const table = await readScoringTable(
      o.data,
      { features: scoring.features, label: scoring.label, inputShape: scoring.inputShape, requireLabel, image: scoring.image },
      o.cwd ?? process.cwd(),
    );
    if (table.rows === 0) throw new TscolabError(`${table.source} has no rows to score`, "pass a file with data rows");
    return { scoring, table, outputs: scoreRows(scoring, table) };
  } catch (e) {
    scoring.dispose();
    throw e;
  }
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluateResult> {
  if (!options.data) throw new UsageError("--data: give the file to evaluate on (.csv or .jsonl with the label column)");
  const { scoring, table, outputs } = await scoreData(options, true);
  try {
    const metrics = metricsOf(scoring, outputs, encodeTruth(scoring, table));
    return { source: scoring.describe, data: table.source, rows: table.rows, task: scoring.task, labels: scoring.labels, metrics };
  } finally {
    scoring.dispose();
  }
}

const csvCell = (v: string | number) => (typeof v === "number" ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export async function predict(options: PredictOptions): Promise<PredictResult> {
  if (!options.data) throw new UsageError("--data: give the file to predict on (.csv or .jsonl with the model's feature columns)");
  if (!options.out) throw new UsageError("--out: give the file to write the predictions to (.csv or .jsonl)");
  const out = path.resolve(options.cwd ?? process.cwd(), options.out);
  const format = /\.jsonl$|\.ndjson$/i.test(out) ? "jsonl" : /\.csv$/i.test(out) ? "csv" : null;
  if (!format) throw new UsageError(`--out: ${options.out} must end in .csv or .jsonl`);
  const { scoring, table, outputs } = await scoreData(options, false);
  try {
    const columns = outputColumns(outputs, scoring.labels);
    const names = ["row", "prediction", ...(outputs.values ? [] : columns.map((c) => c.name))];
    const rows: Record<string, string | number>[] = [];
    for (let r = 0; r < table.rows; r++) {
      const row: Record<string, string | number> = { row: r + 1 };
      if (outputs.values) row.prediction = outputs.values[r];
      else {
        row.prediction = scoring.labels?.[outputs.classes![r]] ?? outputs.classes![r];
        for (const c of columns) row[c.name] = c.values[r];
      }
      rows.push(row);
    }
    makeDirs(path.dirname(out));
    const text =
      format === "jsonl"
        ? rows.map((r) => JSON.stringify(r)).join("\n") + "\n"
        : [names.join(","), ...rows.map((r) => names.map((n) => csvCell(r[n])).join(","))].join("\n") + "\n";
    await fs.promises.writeFile(out, text);
    return { source: scoring.describe, data: table.source, out, rows: table.rows, task: scoring.task, columns: names, preview: rows.slice(0, 5) };
  } finally {
    scoring.dispose();
  }
}
