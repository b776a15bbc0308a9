// The table a stacked stage trains on: its own scalar feature columns (if
// any) plus its input stages' out-of-fold predictions, one column per class
// probability (`mlp:cat`) or one per regression stage (`mlp`), with the label,
// row for row in the training table's order. Because every stage uses the
// same fold assignment, the predictions in a fold-k row come from the input
// stage's fold-k model, which never trained on that row, and the stacked
// stage's fold-k model trains only on rows whose predictions came from models
// that never saw them either: no leakage. The test table takes the average
// of the input stages' fold models instead (their test.jsonl).
//
// Both files are written atomically into `<pipeline>/stages/<name>/`; they
// depend only on the inputs' predictions and the data, so writing them again
// gives the same bytes.
import fs from "node:fs";
import path from "node:path";
import { readTrainingTable } from "../data/dataset";
import type { DataConfigInput } from "../data/schema";
import { TscolabError } from "../errors";
import { makeDirs, writeFileAtomic } from "../store/durable_fs";

type Obj = Record<string, unknown>;

export interface StageInput {
  name: string;
  oofFile: string;
  testFile: string | null;
}

interface Predictions {
  labels: unknown[];
  columns: string[];
  /** Row-major, `labels.length × columns.length`. */
  values: number[];
}

function readPredictions(input: StageInput, file: string): Predictions {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new TscolabError(`stage "${input.name}"'s predictions ${file} cannot be read`, `resume the pipeline: stage "${input.name}" writes them again when it completes`);
  }
  const labels: unknown[] = [];
  const values: number[] = [];
  let columns: string[] | null = null;
  text
    .split("\n")
    .filter((l) => l.trim())
    .forEach((l, i) => {
      const row = JSON.parse(l) as { row: number; label: unknown; prediction: unknown; probabilities?: Record<string, number> };
      if (row.row !== i) throw new TscolabError(`${file}:${i + 1} is row ${row.row}, expected row ${i}`, `resume the pipeline to rewrite stage "${input.name}"'s predictions`);
      const cols = row.probabilities ? Object.keys(row.probabilities).map((c) => `${input.name}:${c}`) : [input.name];
      columns ??= cols;
      labels.push(row.label);
      if (row.probabilities) values.push(...Object.values(row.probabilities));
      else values.push(row.prediction as number);
    });
  return { labels, columns: columns ?? [], values };
}

export interface StackedData {
  /** The stacked stage's data section: the written tables, its features and label. */
  data: Obj;
  features: string[];
}

async function writeTable(file: string, ownNames: string[], own: { x: Float32Array; n: number } | null, preds: Predictions[], label: string): Promise<void> {
  const n = preds[0]!.labels.length;
  const lines: string[] = [];
  for (let r = 0; r < n; r++) {
    const row: Obj = {};
    ownNames.forEach((name, j) => (row[name] = own!.x[r * ownNames.length + j]));
    for (const p of preds) p.columns.forEach((c, j) => (row[c] = p.values[r * p.columns.length + j]));
    row[label] = preds[0]!.labels[r];
    lines.push(JSON.stringify(row));
  }
  await writeFileAtomic(file, lines.join("\n") + "\n");
}

/** Writes a stacked stage's training (and test) table and returns the data section that reads them. */
export async function writeStackedData(dir: string, stage: string, data: Obj, inputs: StageInput[], cwd: string): Promise<StackedData> {
  makeDirs(dir);
  const ownNames = Array.isArray(data.features) ? (data.features as string[]) : [];
  const label = typeof data.label === "string" ? data.label : "label";
  const train = inputs.map((i) => readPredictions(i, i.oofFile));
  const check = (preds: Predictions[], what: string) => {
    const [first, ...rest] = preds;
    for (const [k, p] of rest.entries()) {
      const other = inputs[k + 1]!.name;
      if (p.labels.length !== first!.labels.length || p.labels.some((l, r) => l !== first!.labels[r]))
        throw new TscolabError(
          `stage "${stage}": the ${what} predictions of "${inputs[0]!.name}" and "${other}" are not for the same rows`,
          "give the stages the same data.train, data.valid and data.label",
        );
    }
  };
  check(train, "out-of-fold");
  const oofColumns = train.flatMap((p) => p.columns);
  const clash = ownNames.find((c) => oofColumns.includes(c) || c === label);
  if (clash) throw new TscolabError(`stage "${stage}": feature column "${clash}" has the name of a prediction column or of the label`, "rename the column, or the input stage");
  const readOwn = async (source: unknown) => {
    if (!ownNames.length) return null;
    const table = await readTrainingTable({ train: source, features: ownNames, label: data.label } as DataConfigInput, cwd);
    return { x: table.x, n: table.labels.length };
  };
  const ownTrain = await readOwn(data.train);
  if (ownTrain && ownTrain.n !== train[0]!.labels.length)
    throw new TscolabError(
      `stage "${stage}": ${String(data.train)} has ${ownTrain.n} rows but its inputs predicted ${train[0]!.labels.length}`,
      "the stages must read the same rows",
    );
  const trainFile = path.join(dir, "train.jsonl");
  await writeTable(trainFile, ownNames, ownTrain, train, label);
  const { features: _features, imageSize: _size, channels: _channels, augment: _augment, valid, ...rest } = data;
  const stacked: Obj = { ...rest, train: trainFile, features: [...ownNames, ...oofColumns], label };
  if (valid !== undefined) {
    const missing = inputs.find((i) => !i.testFile);
    if (missing)
      throw new TscolabError(
        `stage "${stage}": input "${missing.name}" has no test predictions for data.valid`,
        `resume the pipeline so that "${missing.name}" predicts data.valid`,
      );
    const test = inputs.map((i) => readPredictions(i, i.testFile!));
    check(test, "test");
    const ownTest = await readOwn(valid);
    if (ownTest && ownTest.n !== test[0]!.labels.length)
      throw new TscolabError(`stage "${stage}": ${String(valid)} has ${ownTest.n} rows but its inputs predicted ${test[0]!.labels.length}`, "the stages must read the same rows");
    const testFile = path.join(dir, "test.jsonl");
    await writeTable(testFile, ownNames, ownTest, test, label);
    stacked.valid = testFile;
  }
  return { data: stacked, features: stacked.features as string[] };
}
