// A table read into flat typed storage: features as one Float32Array
// (row-major, `elementShape` per row) and labels kept raw until the label
// vocabulary is known. Column selection and per-cell validation live here.
import { TscolabError } from "../errors";
import { malformed, readTable, type TableRow } from "./table_reader";

export interface RawTable {
  source: string;
  features: string[];
  label: string;
  elementShape: number[];
  x: Float32Array;
  labels: unknown[];
  lines: number[];
}

/** Column layout chosen from the header (or fixed by the training table for valid). */
export interface ColumnChoice {
  features: string[];
  label: string;
  /** One column holding an array per row (an image, an embedding). */
  arrayColumn: boolean;
}

const DEFAULT_LABELS = ["label", "y", "target", "class"];

/** A growing Float32Array, so large files never become arrays of JS numbers. */
export class FloatBuilder {
  private buf = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  finish(): Float32Array {
    return this.buf.slice(0, this.length);
  }
}

export function chooseColumns(columns: string[], file: string, features: string[] | string | undefined, label: string | undefined): ColumnChoice {
  const list = columns.join(", ");
  const chosenLabel = label ?? DEFAULT_LABELS.find((c) => columns.includes(c)) ?? columns[columns.length - 1];
  if (!columns.includes(chosenLabel)) {
    throw new TscolabError(`data.label "${chosenLabel}" is not a column of ${file}; its columns are: ${list}`, "set data.label to one of those columns");
  }
  if (typeof features === "string") features = [features];
  const chosen = features ?? columns.filter((c) => c !== chosenLabel);
  const missing = chosen.find((c) => !columns.includes(c));
  if (missing) throw new TscolabError(`data.features names "${missing}", which is not a column of ${file}; its columns are: ${list}`, "list existing columns in data.features");
  if (chosen.includes(chosenLabel)) throw new TscolabError(`data.features includes the label column "${chosenLabel}"`, "remove the label from data.features");
  if (chosen.length === 0) throw new TscolabError(`${file} has no feature columns besides the label "${chosenLabel}"`, "add feature columns or set data.label");
  return { features: chosen, label: chosenLabel, arrayColumn: false };
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return NaN;
}

function shapeOf(v: unknown): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

export async function readRawTable(file: string, choose: (columns: string[]) => ColumnChoice): Promise<RawTable> {
  let choice!: ColumnChoice;
  let elementShape: number[] | undefined;
  let rowSize = 0;
  const x = new FloatBuilder();
  const labels: unknown[] = [];
  const lines: number[] = [];

  // A row is checked whole before any of it is stored: a bad row (reported with the others) leaves nothing behind.
  const numberOf = (v: unknown, column: string, line: number): number => {
    const n = toNumber(v);
    if (!Number.isFinite(n)) throw malformed(file, line, `column "${column}" is ${JSON.stringify(v)}, not a finite number`, "fix or remove the row; every feature must be numeric");
    return n;
  };

  const onRow = (row: TableRow) => {
    const { line, values } = row;
    for (const column of [...choice.features, choice.label]) {
      const v = values[column];
      if (v === undefined || v === null || v === "") throw malformed(file, line, `column "${column}" is missing or empty`, "fill in the value or remove the row");
    }
    let shape = elementShape;
    let size = rowSize;
    if (!shape) {
      const first = values[choice.features[0]];
      let arr = first;
      if (typeof first === "string" && first.trim().startsWith("[")) {
        try {
          arr = JSON.parse(first);
        } catch {
          /* reported below as not a number */
        }
      }
      choice.arrayColumn = choice.features.length === 1 && Array.isArray(arr);
      shape = choice.arrayColumn ? shapeOf(arr) : [choice.features.length];
      size = shape.reduce((a, b) => a * b, 1);
      if (size === 0) throw malformed(file, line, `column "${choice.features[0]}" holds an empty array`, "each row needs at least one feature value");
    }
    let numbers: number[];
    if (choice.arrayColumn) {
      let v = values[choice.features[0]];
      if (typeof v === "string") {
        try {
          v = JSON.parse(v);
        } catch {
          throw malformed(file, line, `column "${choice.features[0]}" is not a JSON array`, "write the array as [1, 2, 3]");
        }
      }
      const flat = Array.isArray(v) ? (v as unknown[]).flat(Infinity) : [v];
      if (flat.length !== size)
        throw malformed(file, line, `column "${choice.features[0]}" has ${flat.length} values where the first row has ${size}`, "every row's array must have the same shape");
      numbers = flat.map((item) => numberOf(item, choice.features[0], line));
    } else {
      numbers = choice.features.map((column) => numberOf(values[column], column, line));
    }
    elementShape = shape;
    rowSize = size;
    for (const n of numbers) x.push(n);
    labels.push(values[choice.label]);
    lines.push(line);
  };

  await readTable(file, (columns) => (choice = choose(columns)), onRow);
  return { source: file, features: choice.features, label: choice.label, elementShape: elementShape!, x: x.finish(), labels, lines };
}
