// From a `data` config to training and validation arrays: read (streamed),
// choose the task, encode labels with a stored vocabulary, split with a
// seeded permutation, and standardise with statistics of the training split.
import path from "node:path";
import { TscolabError } from "../errors";
import { assignFolds, foldRows } from "../folds/assign";
import { Rng } from "../util/rng";
import { builtinTable } from "./builtin";
import { imageFolderTable, isFolder, type ImageInfo } from "./images/folder";
import { chooseColumns, readRawTable, type RawTable } from "./raw_table";
import { BadRows, malformed } from "./table_reader";
import { dataConfig, type DataConfigInput, type DataSource, type DatasetInfo, type Task } from "./schema";

export interface Split {
  /** Row-major features, `n × prod(inputShape)`. */
  x: Float32Array;
  /** Class index (classification) or target value (regression). */
  y: Float32Array;
  n: number;
}

export interface LoadedDataset {
  info: DatasetInfo;
  /** Output units: number of classes, or 1 for regression. */
  outputs: number;
  train: Split;
  valid: Split;
  /** With `data.fold`: the held-out fold validates, and `data.valid`, when given, is this test split. */
  test?: Split;
  /** With `data.fold`: the rows (0-based, in the training table's order) of train and valid. */
  rows?: { train: Int32Array; valid: Int32Array };
}

export interface LoadDatasetOptions {
  task?: Task;
  seed: number;
  cwd?: string;
}

function describeSource(src: DataSource): string {
  return typeof src === "string" ? src : `builtin:${src.builtin}`;
}

type ImageKeys = Pick<DataConfigInput, "imageSize" | "channels">;

async function readSource(
  src: DataSource,
  cwd: string,
  choose: Parameters<typeof readRawTable>[1],
  label?: string,
  features?: string | string[],
  image: ImageKeys & { classes?: string[] } = {},
): Promise<RawTable & { image?: ImageInfo }> {
  if (typeof src === "string" && isFolder(path.resolve(cwd, src))) {
    // An image folder: the class is the subfolder, the feature is the image.
    if (label !== undefined || features !== undefined)
      throw new TscolabError(
        `data.${label !== undefined ? "label" : "features"} does not apply to the image folder ${src}: its classes are its subfolders`,
        "drop it from the config",
      );
    return imageFolderTable(path.resolve(cwd, src), image);
  }
  if (typeof src !== "string") {
    // A built-in table has fixed columns: a label or features naming others must not be silently ignored.
    const table = builtinTable(src.builtin, src.limit);
    const where = `builtin:${src.builtin}`;
    if (label !== undefined && label !== table.label)
      throw new TscolabError(
        `data.label "${label}" is not a column of ${where}; its columns are: ${[...table.features, table.label].join(", ")}`,
        `drop --label, or set it to "${table.label}"`,
      );
    if (features !== undefined && [features].flat().join(",") !== table.features.join(","))
      throw new TscolabError(`data.features: ${where} always uses all its features (${table.features.join(", ")})`, "drop --features for a built-in data set");
    return table;
  }
  if (image.classes) throw new TscolabError(`data.valid ${src} is a table but data.train is an image folder`, "give data.valid a folder of class subfolders too");
  if (image.imageSize || image.channels)
    throw new TscolabError(`data.imageSize and data.channels apply to image folders; ${src} is a table`, "drop them, or point data.train at a folder of class subfolders");
  return readRawTable(path.resolve(cwd, src), choose);
}

/** The training table as read: rows in file order, raw values, labels not yet encoded (for code that derives tables from it). */
export async function readTrainingTable(input: DataConfigInput, cwd = process.cwd()): Promise<RawTable> {
  const data = dataConfig.parse(input);
  return readSource(
    data.train,
    cwd,
    (columns) => chooseColumns(columns, path.resolve(cwd, describeSource(data.train)), data.features, data.label),
    data.label,
    data.features,
    data,
  );
}

const isNumeric = (v: unknown) => (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)));

/** Classification when labels are strings, or integers with few distinct values. */
function inferTask(table: RawTable): Task {
  if (table.source.startsWith("builtin:")) return "classification";
  if (!table.labels.every(isNumeric)) return "classification";
  const values = table.labels.map(Number);
  const distinct = new Set(values);
  return values.every(Number.isInteger) && distinct.size <= 20 && distinct.size * 2 <= values.length ? "classification" : "regression";
}

function vocabulary(labels: unknown[]): string[] {
  const distinct = [...new Set(labels.map(String))];
  return distinct.every((v) => isNumeric(v)) ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
}

function encodeLabels(table: RawTable, task: Task, vocab: string[] | null, isTraining: boolean): Float32Array {
  const y = new Float32Array(table.labels.length);
  const index = new Map(vocab?.map((v, i) => [v, i]));
  const bad = new BadRows(table.source);
  table.labels.forEach((raw, i) => {
    const where = `${table.source}:${table.lines[i]}`;
    if (task === "regression") {
      if (!isNumeric(raw)) {
        bad.add(
          malformed(
            table.source,
            table.lines[i],
            `label "${table.label}" is ${JSON.stringify(raw)}, but a regression label must be a number`,
            'fix the row, or set "task": "classification"',
          ),
        );
        return;
      }
      y[i] = Number(raw);
    } else {
      const k = index.get(String(raw));
      if (k === undefined) {
        throw new TscolabError(
          `label ${JSON.stringify(raw)} at ${where} ${isTraining ? "is unknown" : "never appears in the training data"}`,
          "make the validation labels a subset of the training labels",
        );
      }
      y[i] = k;
    }
  });
  bad.throwIfAny();
  return y;
}

function take(x: Float32Array, y: Float32Array, rowSize: number, rows: ArrayLike<number>): Split {
  const n = rows.length;
  const out = new Float32Array(n * rowSize);
  const outY = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    out.set(x.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
    outY[i] = y[r];
  }
  return { x: out, y: outY, n };
}

/** Per-element mean and std of the training split (std 0 becomes 1: a constant input stays 0). */
export function normalizationStats(x: Float32Array, rowSize: number): { mean: number[]; std: number[] } {
  const n = x.length / rowSize;
  const mean = new Float64Array(rowSize);
  const sq = new Float64Array(rowSize);
  for (let r = 0; r < n; r++) for (let j = 0; j < rowSize; j++) mean[j] += x[r * rowSize + j];
  for (let j = 0; j < rowSize; j++) mean[j] /= Math.max(n, 1);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < rowSize; j++) {
      const d = x[r * rowSize + j] - mean[j];
      sq[j] += d * d;
    }
  const std = Array.from(sq, (s) => {
    const sd = Math.sqrt(s / Math.max(n, 1));
    return sd > 1e-8 ? sd : 1;
  });
  return { mean: Array.from(mean), std };
}

/** Applies `(x - mean) / std` in place; the same formula export and serving use. */
export function applyNormalization(x: Float32Array, stats: { mean: number[]; std: number[] }): void {
  const size = stats.mean.length;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - stats.mean[i % size]) / stats.std[i % size];
}

export async function loadDataset(input: DataConfigInput, opts: LoadDatasetOptions): Promise<LoadedDataset> {
  const parsed = dataConfig.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TscolabError(`config data.${issue.path.join(".")}: ${issue.message}`, "see the data keys in %train --help");
  }
  const data = parsed.data;
  const cwd = opts.cwd ?? process.cwd();
  let trainChoice: ReturnType<typeof chooseColumns> | undefined;
  const train = await readSource(
    data.train,
    cwd,
    (columns) => (trainChoice = chooseColumns(columns, path.resolve(cwd, describeSource(data.train)), data.features, data.label)),
    data.label,
    data.features,
    data,
  );
  const task = opts.task ?? inferTask(train);
  const vocab = task === "classification" ? vocabulary(train.labels) : null;
  if (vocab && vocab.length < 2) throw new TscolabError(`label "${train.label}" has a single value (${vocab[0]}) in ${train.source}`, "classification needs at least two classes");
  const rowSize = train.elementShape.reduce((a, b) => a * b, 1);
  const yAll = encodeLabels(train, task, vocab, true);

  let trainSplit: Split;
  let validSplit: Split;
  let testSplit: Split | undefined;
  let rows: LoadedDataset["rows"];
  let given: Split | undefined;
  if (data.valid !== undefined) {
    // An image folder's validation images are read at the training images' size and channels.
    const image = train.image ? { imageSize: train.image.size, channels: train.image.channels, classes: vocab ?? undefined } : data;
    const valid = await readSource(
      data.valid,
      cwd,
      (columns) => {
        const c = chooseColumns(columns, path.resolve(cwd, describeSource(data.valid!)), trainChoice?.features ?? train.features, train.label);
        return c;
      },
      undefined,
      undefined,
      image,
    );
    if (valid.image && !train.image) throw new TscolabError(`data.valid ${valid.source} is an image folder but data.train is a table`, "give both the same kind of data");
    const validSize = valid.elementShape.reduce((a, b) => a * b, 1);
    if (validSize !== rowSize)
      throw new TscolabError(`${valid.source} has ${validSize} feature values per row where ${train.source} has ${rowSize}`, "use the same feature columns in both files");
    given = { x: valid.x, y: encodeLabels(valid, task, vocab, false), n: valid.labels.length };
  }
  if (data.fold) {
    // A fold run: the held-out fold validates; a given valid file is the test split.
    const fold = assignFolds(yAll, { k: data.fold.of, seed: data.fold.seed, stratified: task === "classification", classes: vocab ?? undefined, source: train.source });
    if (data.fold.holdOut > data.fold.of)
      throw new TscolabError(`data.fold.holdOut ${data.fold.holdOut} is past the last of ${data.fold.of} folds`, "hold out a fold from 1 to data.fold.of");
    rows = foldRows(fold, data.fold.holdOut);
    trainSplit = take(train.x, yAll, rowSize, rows.train);
    validSplit = take(train.x, yAll, rowSize, rows.valid);
    testSplit = given;
  } else if (given) {
    trainSplit = { x: train.x, y: yAll, n: train.labels.length };
    validSplit = given;
  } else {
    const n = train.labels.length;
    let nValid = Math.round(n * data.validationSplit);
    if (data.validationSplit > 0 && nValid === 0 && n > 1) nValid = 1;
    const perm = Rng.create(opts.seed, "split").permutation(n);
    validSplit = take(train.x, yAll, rowSize, perm.subarray(0, nValid));
    trainSplit = take(train.x, yAll, rowSize, perm.subarray(nValid));
  }
  if (trainSplit.n === 0) throw new TscolabError(`no training rows left in ${train.source} after holding out the validation split`, "lower data.validationSplit or add rows");

  let normalization: { mean: number[]; std: number[] } | null = null;
  if (data.normalize) {
    normalization = normalizationStats(trainSplit.x, rowSize);
    applyNormalization(trainSplit.x, normalization);
    applyNormalization(validSplit.x, normalization);
    if (testSplit) applyNormalization(testSplit.x, normalization);
  }
  const info: DatasetInfo = {
    task,
    features: train.features,
    label: train.label,
    labels: vocab,
    normalization,
    inputShape: train.elementShape,
    trainExamples: trainSplit.n,
    validExamples: validSplit.n,
    source: { train: describeSource(data.train), valid: data.valid === undefined ? null : describeSource(data.valid) },
    ...(train.image ? { image: train.image } : {}),
  };
  return { info, outputs: vocab ? vocab.length : 1, train: trainSplit, valid: validSplit, ...(testSplit ? { test: testSplit } : {}), ...(rows ? { rows } : {}) };
}
