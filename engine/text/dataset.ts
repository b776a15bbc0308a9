// From a text config to training and validation arrays, the tokenizer and
// the objective:
//   language-modeling: the corpus (a .txt file, a built-in, or a text column
//     joined by newlines) is split into training text and a held-out tail
//     (or data.valid), the tokenizer is trained on the training text only,
//     and each part is cut into windows of seqLen tokens whose targets are
//     the same tokens shifted by one.
//   text-classification: each row's text is encoded, cut or padded to
//     seqLen tokens; labels as for tabular classification.
// The tokenizer is stored in the run folder (tokenizer.json); a resumed run
// reads it back instead of training it again.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import type { LoadedDataset, Split } from "../data/dataset";
import type { DataConfig, DatasetInfo, Task } from "../data/schema";
import { writeFileSynced } from "../store/durable_fs";
import type { Objective } from "../train/objective";
import { Rng } from "../util/rng";
import { describeSource, hasTextColumn, isTextBuiltin, isTxtFile, readCorpus, readTextRows, type TextRows } from "./corpus";
import { languageModelObjective } from "./lm_objective";
import { TOKENIZER_FILE, tokenizerFromJson, trainTokenizer, type Tokenizer, type TokenizerSpec } from "./tokenizer";

export const TEXT_TASKS = ["language-modeling", "text-classification"] as const;
export type TextTask = (typeof TEXT_TASKS)[number];
export const isTextTask = (task: unknown): task is TextTask => (TEXT_TASKS as readonly unknown[]).includes(task);

interface TextConfig {
  task?: Task | null;
  data: DataConfig;
  model: { zoo?: string };
  tokenizer?: TokenizerSpec | null;
}

/**
 * A config trains on text when its task says so, or its data or model can
 * only mean text: a text column named, a .txt file or built-in corpus, the
 * transformer (or its options), or a table whose text-named column holds words.
 */
export async function isTextConfig(c: TextConfig, cwd: string): Promise<boolean> {
  if (c.task) return isTextTask(c.task);
  const m = c.model as Record<string, unknown>;
  if (c.data.text !== undefined || isTxtFile(c.data.train) || isTextBuiltin(c.data.train) || m.zoo === "transformer") return true;
  if (["seqLen", "layers", "heads", "dModel"].some((k) => m[k] !== undefined)) return true;
  return typeof c.data.train === "string" && (await hasTextColumn(c.data.train, cwd));
}

/** Text data trains the zoo "transformer" unless the config names another model. */
export function withTextModelDefault<C extends TextConfig & { model: { zoo?: string; file?: string; git?: unknown } }>(resolved: C, written: { model?: unknown }): C {
  const named = written.model && typeof written.model === "object" && ["zoo", "file", "git"].some((k) => k in (written.model as object));
  if (named) return resolved;
  return { ...resolved, model: { ...resolved.model, zoo: "transformer" } };
}

/** Language modeling unless a table with a label column is given (or the task says otherwise). */
async function inferTextTask(c: TextConfig, cwd: string): Promise<TextTask> {
  if (isTextTask(c.task)) return c.task;
  const src = c.data.train;
  if (typeof src !== "string" || isTxtFile(src)) return "language-modeling";
  const probe = await readTextRows(src, cwd, { text: c.data.text, label: c.data.label, needLabel: false });
  return probe.labelColumn ? "text-classification" : "language-modeling";
}

export interface TextDataset {
  data: LoadedDataset;
  tokenizer: Tokenizer;
  vocabSize: number;
  /** Language modeling's objective; text classification uses the built-in classification one. */
  objective?: Objective;
  /** One line each, for the run's notes (baselines, truncation). */
  notes: string[];
}

export interface LoadTextOptions {
  seqLen: number;
  seed: number;
  cwd: string;
  /** The run's stored tokenizer (resume); absent: train one on the training text. */
  tokenizer?: Tokenizer;
}

export async function readRunTokenizer(runDir: string): Promise<Tokenizer | undefined> {
  const file = path.join(runDir, TOKENIZER_FILE);
  if (!fs.existsSync(file)) return undefined;
  return tokenizerFromJson(JSON.parse(fs.readFileSync(file, "utf8")), file);
}

export async function writeRunTokenizer(runDir: string, tokenizer: Tokenizer): Promise<void> {
  await writeFileSynced(path.join(runDir, TOKENIZER_FILE), JSON.stringify(tokenizer.toJSON()));
}

function fmt(v: number): number {
  return Number(v.toPrecision(5));
}

/**
 * Windows of `seqLen` tokens with stride seqLen: x = ids[i·T .. i·T+T),
 * y = ids[i·T+1 .. i·T+T+1). Every token but the first is a target once.
 */
export function windows(ids: ArrayLike<number>, seqLen: number): Split {
  const n = Math.max(0, Math.floor((ids.length - 1) / seqLen));
  const x = new Float32Array(n * seqLen);
  const y = new Float32Array(n * seqLen);
  for (let w = 0; w < n; w++)
    for (let t = 0; t < seqLen; t++) {
      x[w * seqLen + t] = ids[w * seqLen + t];
      y[w * seqLen + t] = ids[w * seqLen + t + 1];
    }
  return { x, y, n };
}

/** Perplexity of a unigram model of the training tokens (add-one smoothing) on the validation targets: the bar a language model must clear. */
export function unigramPerplexity(trainIds: ArrayLike<number>, targets: ArrayLike<number>, vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < trainIds.length; i++) counts[trainIds[i]]++;
  const total = trainIds.length + vocabSize;
  let nll = 0;
  for (let i = 0; i < targets.length; i++) nll -= Math.log((counts[targets[i]] + 1) / total);
  return Math.exp(nll / Math.max(1, targets.length));
}

/** The training text and the held-out tail: the last `fraction` of the corpus, cut at a line break when one is near. */
function holdOutTail(text: string, fraction: number): [string, string] {
  if (fraction <= 0) return [text, ""];
  let cut = Math.round(text.length * (1 - fraction));
  const newline = text.indexOf("\n", cut);
  if (newline >= 0 && newline - cut < 2000) cut = newline + 1;
  return [text.slice(0, cut), text.slice(cut)];
}

function tooShort(what: string, tokens: number, seqLen: number, where: string): TscolabError {
  return new TscolabError(
    `model.seqLen ${seqLen} is larger than the ${what}: ${where} has ${tokens} token${tokens === 1 ? "" : "s"}, and one window needs seqLen + 1 = ${seqLen + 1}`,
    `lower model.seqLen (at most ${Math.max(1, tokens - 1)}), or give more text`,
  );
}

async function languageModeling(c: TextConfig, opts: LoadTextOptions): Promise<TextDataset> {
  const data = c.data;
  const readAll = async (src: typeof data.train): Promise<string> => {
    if (typeof src === "string" && !isTxtFile(src)) return (await readTextRows(src, opts.cwd, { text: data.text, needLabel: false })).texts.join("\n");
    return readCorpus(src, opts.cwd);
  };
  const corpus = await readAll(data.train);
  const [trainText, validText] = data.valid !== undefined ? [corpus, await readAll(data.valid)] : holdOutTail(corpus, data.validationSplit);
  const tokenizer = opts.tokenizer ?? trainTokenizer(trainText, c.tokenizer ?? { type: "char" });
  const trainIds = tokenizer.encode(trainText);
  const validIds = tokenizer.encode(validText);
  const T = opts.seqLen;
  const train = windows(trainIds, T);
  if (train.n === 0) throw tooShort("training text", trainIds.length, T, describeSource(data.train));
  const valid = windows(validIds, T);
  if (validIds.length > 0 && valid.n === 0) throw tooShort("validation text", validIds.length, T, data.valid !== undefined ? describeSource(data.valid) : "the held-out tail");
  const baseline = unigramPerplexity(trainIds, valid.n ? valid.y : train.y, tokenizer.vocabSize);
  const info: DatasetInfo = {
    task: "language-modeling",
    features: [data.text ?? "text"],
    label: "next token",
    labels: null,
    normalization: null,
    inputShape: [T],
    trainExamples: train.n,
    validExamples: valid.n,
    source: { train: describeSource(data.train), valid: data.valid === undefined ? null : describeSource(data.valid) },
    text: {
      tokenizer: tokenizer.type,
      vocabSize: tokenizer.vocabSize,
      seqLen: T,
      trainTokens: trainIds.length,
      validTokens: validIds.length,
      unigramPerplexity: fmt(baseline),
    },
  };
  const notes = [
    `${tokenizer.type} tokenizer, ${tokenizer.vocabSize} tokens; ${trainIds.length} training and ${validIds.length} validation tokens in windows of ${T}; unigram baseline perplexity ${fmt(baseline)}`,
  ];
  return {
    data: { info, outputs: tokenizer.vocabSize, train, valid },
    tokenizer,
    vocabSize: tokenizer.vocabSize,
    objective: languageModelObjective(T, tokenizer.vocabSize),
    notes,
  };
}

function labelVocabulary(labels: string[]): string[] {
  const distinct = [...new Set(labels)];
  const numeric = distinct.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
  return numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
}

async function textClassification(c: TextConfig, opts: LoadTextOptions): Promise<TextDataset> {
  const data = c.data;
  const read = async (src: typeof data.train): Promise<TextRows> => {
    if (typeof src !== "string" || isTxtFile(src))
      throw new TscolabError(
        `text classification reads a .csv or .jsonl file with a text and a label column; ${describeSource(src)} is a plain corpus`,
        'use "task": "language-modeling" for it',
      );
    return readTextRows(src, opts.cwd, { text: data.text, label: data.label, needLabel: true });
  };
  const all = await read(data.train);
  let trainRows: number[];
  let validRows: number[];
  let validTable: TextRows | null = null;
  if (data.valid !== undefined) {
    validTable = await read(data.valid);
    trainRows = all.texts.map((_, i) => i);
    validRows = [];
  } else {
    const n = all.texts.length;
    let nValid = Math.round(n * data.validationSplit);
    if (data.validationSplit > 0 && nValid === 0 && n > 1) nValid = 1;
    const perm = Rng.create(opts.seed, "split").permutation(n);
    validRows = Array.from(perm.subarray(0, nValid));
    trainRows = Array.from(perm.subarray(nValid));
  }
  if (trainRows.length === 0) throw new TscolabError(`no training rows left in ${all.source} after holding out the validation split`, "lower data.validationSplit or add rows");
  const trainLabels = trainRows.map((i) => all.labels![i]);
  const vocab = labelVocabulary(trainLabels);
  if (vocab.length < 2) throw new TscolabError(`label "${all.labelColumn}" has a single value (${vocab[0]}) in ${all.source}`, "classification needs at least two classes");
  const tokenizer = opts.tokenizer ?? trainTokenizer(trainRows.map((i) => all.texts[i]).join("\n"), c.tokenizer ?? { type: "char" });
  const T = opts.seqLen;
  const index = new Map(vocab.map((v, i) => [v, i]));
  let truncated = 0;
  const encode = (texts: string[], labels: string[], lines: number[], source: string, rows: number[]): Split => {
    const x = new Float32Array(rows.length * T).fill(tokenizer.padId);
    const y = new Float32Array(rows.length);
    rows.forEach((r, i) => {
      const ids = tokenizer.encode(texts[r]);
      if (ids.length > T) truncated++;
      for (let t = 0; t < Math.min(T, ids.length); t++) x[i * T + t] = ids[t];
      const k = index.get(labels[r]);
      if (k === undefined)
        throw new TscolabError(
          `label ${JSON.stringify(labels[r])} at ${source}:${lines[r]} never appears in the training data`,
          "make the validation labels a subset of the training labels",
        );
      y[i] = k;
    });
    return { x, y, n: rows.length };
  };
  const train = encode(all.texts, all.labels!, all.lines, all.source, trainRows);
  const valid = validTable
    ? encode(
        validTable.texts,
        validTable.labels!,
        validTable.lines,
        validTable.source,
        validTable.texts.map((_, i) => i),
      )
    : encode(all.texts, all.labels!, all.lines, all.source, validRows);
  const info: DatasetInfo = {
    task: "text-classification",
    features: [all.textColumn],
    label: all.labelColumn!,
    labels: vocab,
    normalization: null,
    inputShape: [T],
    trainExamples: train.n,
    validExamples: valid.n,
    source: { train: describeSource(data.train), valid: data.valid === undefined ? null : describeSource(data.valid) },
    text: { tokenizer: tokenizer.type, vocabSize: tokenizer.vocabSize, seqLen: T, padId: tokenizer.padId, truncated },
  };
  const notes = [`${tokenizer.type} tokenizer, ${tokenizer.vocabSize} tokens; texts cut or padded to ${T} tokens`];
  if (truncated) notes.push(`${truncated} text${truncated === 1 ? " was" : "s were"} longer than model.seqLen ${T} and cut`);
  return { data: { info, outputs: vocab.length, train, valid }, tokenizer, vocabSize: tokenizer.vocabSize, notes };
}

export async function loadTextDataset(c: TextConfig, opts: LoadTextOptions): Promise<TextDataset> {
  const task = await inferTextTask(c, opts.cwd);
  return task === "language-modeling" ? languageModeling(c, opts) : textClassification(c, opts);
}
