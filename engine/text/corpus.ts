// Reading text for training: a plain .txt corpus, the built-in corpus that
// ships in the repository (data/text/), or a text column of a CSV / JSONL
// file (with its label for text classification). An empty text is an error
// naming the file and line, never silently dropped.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { parseCsvRecord } from "../data/csv_line";
import { malformed, readTable } from "../data/table_reader";
import type { DataSource } from "../data/schema";

/** Built-in text corpora, shipped under data/text/ (nothing is downloaded). */
export const TEXT_BUILTINS: Record<string, { file: string; description: string }> = {
  genesis: { file: "genesis.txt", description: "the Book of Genesis, King James Version (public domain), 197 KB" },
};

export const isTextBuiltin = (src: DataSource | undefined): boolean => typeof src === "object" && src.builtin in TEXT_BUILTINS;
export const isTxtFile = (src: DataSource | undefined): boolean => typeof src === "string" && /\.(txt|text|md)$/i.test(src);

/** The repository's data/text folder, from the source tree or from dist/. */
function textDataDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "data", "text");
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new TscolabError("the built-in text corpora (data/text/) are missing from this installation", "reinstall tscolab");
  }
}

export function describeSource(src: DataSource): string {
  return typeof src === "string" ? src : `builtin:${src.builtin}`;
}

function normalizeNewlines(text: string): string {
  return text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
}

/** A corpus: one string (a .txt file or a built-in). */
export function readCorpus(src: DataSource, cwd: string): string {
  if (typeof src !== "string") {
    const entry = TEXT_BUILTINS[src.builtin];
    if (!entry) throw new TscolabError(`builtin:${src.builtin} is not a text corpus`, `use one of: ${Object.keys(TEXT_BUILTINS).join(", ")}`);
    const text = normalizeNewlines(fs.readFileSync(path.join(textDataDir(), entry.file), "utf8"));
    return src.limit ? text.slice(0, src.limit) : text;
  }
  const file = path.resolve(cwd, src);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TscolabError(`data file ${file} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`, "check data.train / data.valid in the config");
  }
  text = normalizeNewlines(text);
  if (!text.trim()) throw new TscolabError(`data file ${file} holds no text`, "give data.train a file with text");
  return text;
}

/** Whether a .csv / .jsonl file's first row has a text-named column (text, sentence, ...) holding words rather than a number. */
export async function hasTextColumn(src: string, cwd: string): Promise<boolean> {
  const file = path.resolve(cwd, src);
  if (!/\.(csv|jsonl|ndjson)$/i.test(file) || !fs.existsSync(file)) return false;
  // The first 64 KiB hold the header and the first row of any sensible table; problems are the table reader's to report.
  const fd = fs.openSync(file, "r");
  const head = Buffer.alloc(65536);
  const n = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const lines = head
    .subarray(0, n)
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/);
  let values: Record<string, unknown> | undefined;
  try {
    if (/\.csv$/i.test(file)) {
      const records: string[][] = [];
      let pending = "";
      for (const line of lines) {
        if (!pending && !line.trim()) continue;
        const record = pending ? `${pending}\n${line}` : line;
        const parsed = parseCsvRecord(record);
        pending = parsed.complete ? "" : record;
        if (parsed.complete) records.push(parsed.fields);
        if (records.length === 2) break;
      }
      if (records.length === 2) values = Object.fromEntries(records[0].map((h, i) => [h, records[1][i]]));
    } else {
      const first = lines.find((l) => l.trim());
      values = first ? (JSON.parse(first) as Record<string, unknown>) : undefined;
    }
  } catch {
    return false;
  }
  const column = values && DEFAULT_TEXT.find((c) => c in values!);
  const v = column ? values![column] : undefined;
  return typeof v === "string" && v.trim() !== "" && !Number.isFinite(Number(v));
}

export interface TextRows {
  source: string;
  texts: string[];
  /** Raw labels (null when the table has no label column and none was asked for). */
  labels: string[] | null;
  lines: number[];
  textColumn: string;
  labelColumn: string | null;
}

const DEFAULT_TEXT = ["text", "sentence", "content", "review", "document"];
const DEFAULT_LABELS = ["label", "y", "target", "class"];

/** The rows of a CSV / JSONL file: its text column and, when there is one, its label column. */
export async function readTextRows(src: string, cwd: string, opts: { text?: string; label?: string; needLabel: boolean }): Promise<TextRows> {
  const file = path.resolve(cwd, src);
  let textColumn = "";
  let labelColumn: string | null = null;
  const texts: string[] = [];
  const labels: string[] = [];
  const lines: number[] = [];
  await readTable(
    file,
    (columns) => {
      const list = columns.join(", ");
      textColumn = opts.text ?? DEFAULT_TEXT.find((c) => columns.includes(c)) ?? "";
      if (!textColumn)
        throw new TscolabError(`${file} has no text column (looked for ${DEFAULT_TEXT.join(", ")}); its columns are: ${list}`, "name it with data.text (--text COLUMN)");
      if (!columns.includes(textColumn))
        throw new TscolabError(`data.text "${textColumn}" is not a column of ${file}; its columns are: ${list}`, "set data.text to one of those columns");
      labelColumn = opts.label ?? DEFAULT_LABELS.find((c) => columns.includes(c) && c !== textColumn) ?? null;
      if (labelColumn && !columns.includes(labelColumn))
        throw new TscolabError(`data.label "${labelColumn}" is not a column of ${file}; its columns are: ${list}`, "set data.label to one of those columns");
      if (opts.needLabel && !labelColumn)
        throw new TscolabError(`${file} has no label column for text classification; its columns are: ${list}`, "name it with data.label (--label COLUMN)");
      if (labelColumn === textColumn) throw new TscolabError(`data.text and data.label both name "${textColumn}"`, "use different columns for the text and the label");
    },
    (row) => {
      const value = row.values[textColumn];
      if (value === undefined || value === null || (typeof value === "string" && value.trim() === ""))
        throw malformed(file, row.line, `text column "${textColumn}" is empty`, "fill in the text or remove the row");
      if (typeof value !== "string") throw malformed(file, row.line, `text column "${textColumn}" is ${JSON.stringify(value)}, not a string`, "write the text as a string");
      texts.push(normalizeNewlines(value));
      lines.push(row.line);
      if (labelColumn && opts.needLabel) {
        const l = row.values[labelColumn];
        if (l === undefined || l === null || l === "") throw malformed(file, row.line, `label column "${labelColumn}" is missing or empty`, "fill in the label or remove the row");
        labels.push(String(l));
      }
    },
  );
  return { source: file, texts, labels: opts.needLabel ? labels : null, lines, textColumn, labelColumn };
}
