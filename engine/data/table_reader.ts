// Streams the rows of a .csv (header row) or .jsonl file without reading it
// into one giant string. Every row carries its 1-based line number so errors
// can say exactly where a file is malformed: a bad row is an error, never
// silently dropped.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { TscolabError } from "../errors";
import { parseCsvRecord } from "./csv_line";

export interface TableRow {
  line: number;
  /** Column name → raw value (CSV cells are strings; JSONL keeps JSON types). */
  values: Record<string, unknown>;
}

export type TableFormat = "csv" | "jsonl";

/** The data file extensions read, and the format of each. */
export const TABLE_EXTENSIONS: Readonly<Record<string, TableFormat>> = { ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl" };

export function tableFormat(file: string): TableFormat {
  const format = TABLE_EXTENSIONS[path.extname(file).toLowerCase()];
  if (format) return format;
  const ext = path.extname(file).toLowerCase();
  throw new TscolabError(`data file ${file} has extension "${ext || "(none)"}"; only .csv and .jsonl are read`, "convert it to CSV with a header row or to JSON Lines");
}

export function malformed(file: string, line: number, problem: string, fix: string): MalformedRow {
  return new MalformedRow(file, line, problem, fix);
}

/** One row that cannot be read: file, line, what is wrong, how to fix it. */
export class MalformedRow extends TscolabError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    readonly fixText: string,
  ) {
    super(`malformed row at ${file}:${line}: ${problem}`, fixText);
  }
}

/** Bad rows named in one error, the rest only counted. */
const SHOWN_BAD_ROWS = 5;

/**
 * The malformed rows of one file: reading goes on past a bad row so that one
 * error can name the first few (file and line) and count them all, instead of
 * a fix-and-rerun loop per row. Nothing is dropped silently: any bad row fails
 * the read.
 */
export class BadRows {
  private readonly rows: MalformedRow[] = [];
  count = 0;

  constructor(readonly file: string) {}

  add(row: MalformedRow): void {
    this.count++;
    if (this.rows.length < SHOWN_BAD_ROWS) this.rows.push(row);
  }

  /** Throws the one error for every bad row seen, if any. */
  throwIfAny(): void {
    if (this.count === 0) return;
    if (this.count === 1) throw this.rows[0];
    const shown = this.rows.map((r) => `line ${r.line}: ${r.problem}`).join("; ");
    const which = this.rows.length < this.count ? `; the first ${this.rows.length}` : "";
    const fixes = [...new Set(this.rows.map((r) => r.fixText))];
    throw new TscolabError(`${this.count} malformed rows in ${this.file}${which}: ${shown}`, fixes.length === 1 ? fixes[0] : "fix or remove each of these rows");
  }
}

async function* lines(file: string): AsyncGenerator<[number, string]> {
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { encoding: "utf8" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TscolabError(
      `data file ${file} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`,
      "check data.train / data.valid in the config (relative paths start at the notebook or CLI folder)",
    );
  }
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) yield [++n, n === 1 ? text.replace(/^\uFEFF/, "") : text];
}

async function* csvRows(file: string, bad: BadRows): AsyncGenerator<TableRow, string[]> {
  let header: string[] | undefined;
  let pending = "";
  let startLine = 0;
  for await (const [line, text] of lines(file)) {
    if (!pending && text.trim() === "") continue;
    if (!pending) startLine = line;
    const record = pending ? `${pending}\n${text}` : text;
    const parsed = parseCsvRecord(record);
    if (!parsed.complete) {
      pending = record;
      continue;
    }
    pending = "";
    if (!header) {
      header = parsed.fields;
      const dup = header.find((h, i) => header!.indexOf(h) !== i);
      if (header.some((h) => h === "")) throw malformed(file, startLine, "the header row has an empty column name", "give every column a name in the first line");
      if (dup) throw malformed(file, startLine, `the header names column "${dup}" twice`, "make column names unique");
      continue;
    }
    if (parsed.fields.length !== header.length) {
      bad.add(malformed(file, startLine, `${parsed.fields.length} fields where the header has ${header.length}`, "fix the row (quote values that contain commas)"));
      continue;
    }
    const values: Record<string, unknown> = {};
    header.forEach((h, i) => (values[h] = parsed.fields[i]));
    yield { line: startLine, values };
  }
  if (pending) bad.add(malformed(file, startLine, "a quoted field is never closed", 'close the quote (write "" for a quote inside a field)'));
  if (!header) throw new TscolabError(`data file ${file} is empty`, "a CSV needs a header row and at least one data row");
  return header;
}

async function* jsonlRows(file: string, bad: BadRows): AsyncGenerator<TableRow, string[]> {
  let columns: string[] | undefined;
  for await (const [line, text] of lines(file)) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      bad.add(malformed(file, line, `not valid JSON (${(e as Error).message})`, "each line must be one JSON object"));
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      bad.add(malformed(file, line, 'expected a JSON object like {"x": [1, 2], "y": "cat"}', "each line must be one JSON object"));
      continue;
    }
    columns ??= Object.keys(value);
    yield { line, values: value as Record<string, unknown> };
  }
  return columns ?? [];
}

/**
 * Reads a table. `onHeader` is called once with the column names (the CSV
 * header, or the keys of the first JSONL object) before the first row.
 * `onRow` may throw a MalformedRow: like the reader's own, it is collected,
 * the row skipped, and once the file is read one error names the bad rows.
 */
export async function readTable(file: string, onHeader: (columns: string[]) => void, onRow: (row: TableRow) => void): Promise<void> {
  const format = tableFormat(file);
  const bad = new BadRows(file);
  const rows = format === "csv" ? csvRows(file, bad) : jsonlRows(file, bad);
  let headerSeen = false;
  let sawRow = false;
  for (;;) {
    const next = await rows.next();
    if (next.done) {
      if (!headerSeen) onHeader(next.value);
      break;
    }
    if (!headerSeen) {
      onHeader(Object.keys(next.value.values));
      headerSeen = true;
    }
    sawRow = true;
    try {
      onRow(next.value);
    } catch (e) {
      if (!(e instanceof MalformedRow)) throw e;
      bad.add(e);
    }
  }
  bad.throwIfAny();
  if (!sawRow) throw new TscolabError(`data file ${file} has no data rows`, "add rows below the header");
}
