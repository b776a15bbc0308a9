// Rows to score: the model's feature columns (by name, in the model's order)
// and, when present, its label column, from a .csv / .jsonl file or a
// built-in data set. Columns the model needs and the file lacks are named in
// one line; extra columns are ignored; a bad cell names its file and line.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { BUILTIN_DATASETS } from "../data/schema";
import { builtinTable } from "../data/builtin";
import { FloatBuilder } from "../data/raw_table";
import { malformed, readTable } from "../data/table_reader";
import { imageFolderTable, isFolder, type ImageInfo } from "../data/images";

export interface ScoringTable {
  /** The file (absolute) or `builtin:NAME`. */
  source: string;
  rows: number;
  /** Raw feature values, row-major. */
  x: Float32Array;
  /** The label column's values, or null when the file has none. */
  labels: unknown[] | null;
  /** 1-based line of each row in its file. */
  lines: number[];
}

export interface TableNeeds {
  features: string[];
  label: string | null;
  inputShape: number[];
  /** Refuse a file without the label column (evaluate); predict does without. */
  requireLabel: boolean;
  /** Set for a model trained on an image folder: a folder of class subfolders is decoded the same way. */
  image: ImageInfo | null;
}

const toNumber = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN);

/** `--data iris` is the built-in set when no such file exists. */
function builtinName(data: string, cwd: string): (typeof BUILTIN_DATASETS)[number] | null {
  const name = data.replace(/^builtin:/, "");
  if (!(BUILTIN_DATASETS as readonly string[]).includes(name)) return null;
  return data.startsWith("builtin:") || !fs.existsSync(path.resolve(cwd, data)) ? (name as (typeof BUILTIN_DATASETS)[number]) : null;
}

export async function readScoringTable(data: string, needs: TableNeeds, cwd: string): Promise<ScoringTable> {
  const size = needs.inputShape.reduce((a, b) => a * b, 1);
  const builtin = builtinName(data, cwd);
  if (builtin) {
    const t = builtinTable(builtin);
    const missing = needs.features.filter((f) => !t.features.includes(f));
    if (missing.length)
      throw new TscolabError(
        `builtin:${builtin} lacks the model's feature column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (it has: ${t.features.join(", ")})`,
        "score with data that has the training features",
      );
    if (needs.requireLabel && needs.label && needs.label !== t.label)
      throw new TscolabError(`builtin:${builtin} has no label column "${needs.label}"`, "score with data that has the training label");
    return { source: `builtin:${builtin}`, rows: t.labels.length, x: t.x, labels: t.labels, lines: t.lines };
  }

  const file = path.resolve(cwd, data);
  if (isFolder(file)) {
    if (!needs.image) throw new TscolabError(`${file} is a folder, but this model was not trained on images`, "score it with a .csv or .jsonl file of its features");
    // The training run's size and channels, so the pixels match what the model saw.
    const t = imageFolderTable(file, { imageSize: needs.image.size, channels: needs.image.channels });
    return { source: file, rows: t.labels.length, x: t.x, labels: t.labels, lines: t.lines };
  }
  const arrayColumn = needs.features.length === 1 && size > 1;
  let hasLabel = false;
  const x = new FloatBuilder();
  const labels: unknown[] = [];
  const lines: number[] = [];
  const onHeader = (columns: string[]) => {
    const missing = needs.features.filter((f) => !columns.includes(f));
    if (missing.length) {
      throw new TscolabError(
        `${file} lacks the model's feature column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (it has: ${columns.join(", ")})`,
        `give the file the columns the model was trained on: ${needs.features.join(", ")}`,
      );
    }
    hasLabel = !!needs.label && columns.includes(needs.label);
    if (needs.requireLabel && !hasLabel)
      throw new TscolabError(
        `${file} has no label column ${needs.label ? `"${needs.label}"` : ""} to score against (it has: ${columns.join(", ")})`,
        "add the label column, or use predict for unlabelled rows",
      );
  };
  const onRow = ({ line, values }: { line: number; values: Record<string, unknown> }) => {
    if (arrayColumn) {
      let v = values[needs.features[0]];
      if (typeof v === "string") {
        try {
          v = JSON.parse(v);
        } catch {
          throw malformed(file, line, `column "${needs.features[0]}" is not a JSON array`, "write the array as [1, 2, 3]");
        }
      }
      const flat = Array.isArray(v) ? (v as unknown[]).flat(Infinity) : [v];
      if (flat.length !== size)
        throw malformed(file, line, `column "${needs.features[0]}" has ${flat.length} values; the model takes ${size}`, "give every row the training shape");
      for (const item of flat) {
        const n = toNumber(item);
        if (!Number.isFinite(n)) throw malformed(file, line, `column "${needs.features[0]}" holds ${JSON.stringify(item)}, not a finite number`, "fix or remove the row");
        x.push(n);
      }
    } else {
      for (const column of needs.features) {
        const n = toNumber(values[column]);
        if (!Number.isFinite(n))
          throw malformed(file, line, `column "${column}" is ${JSON.stringify(values[column])}, not a finite number`, "fix or remove the row; every feature must be numeric");
        x.push(n);
      }
    }
    if (hasLabel) {
      const label = values[needs.label!];
      if (needs.requireLabel && (label === undefined || label === null || label === ""))
        throw malformed(file, line, `label "${needs.label}" is missing or empty`, "fill in the label or remove the row");
      labels.push(label);
    }
    lines.push(line);
  };
  await readTable(file, onHeader, onRow);
  return { source: file, rows: lines.length, x: x.finish(), labels: hasLabel ? labels : null, lines };
}
