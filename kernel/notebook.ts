// nbformat 4 notebooks: reading (validated with zod), papermill-style
// parameter injection, outputs from iopub messages, and writing nbformat 4.5
// (cell ids, multiline strings as lists of lines, as Jupyter writes them).
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { z } from "zod";
import { TscolabError } from "../magics/types";

const multiline = z.union([z.string(), z.array(z.string())]);
const toText = (v: z.infer<typeof multiline>) => (Array.isArray(v) ? v.join("") : v);

export const cellSchema = z.looseObject({
  cell_type: z.enum(["code", "markdown", "raw"]),
  id: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  source: multiline.transform(toText),
  outputs: z.array(z.record(z.string(), z.unknown())).optional(),
  execution_count: z.number().int().nullable().optional(),
});
export type Cell = z.infer<typeof cellSchema>;

export const notebookSchema = z.looseObject({
  nbformat: z.literal(4, { message: "only nbformat 4 notebooks are supported; convert it with `jupyter nbconvert --to notebook`" }),
  nbformat_minor: z.number().int(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  cells: z.array(cellSchema),
});
export type Notebook = z.infer<typeof notebookSchema>;

export function readNotebook(file: string): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw new TscolabError(`notebook not found: ${file}`, "check the path");
    throw new TscolabError(`cannot read notebook ${file}: ${err.message}`, "it must be a .ipynb JSON file");
  }
  const parsed = notebookSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TscolabError(`${file} is not a valid notebook: ${issue.path.join(".") || "top level"}: ${issue.message}`, "open and re-save it in Jupyter");
  }
  return parsed.data;
}

/** `k=v` → a TypeScript literal: numbers and booleans as such, JSON as JSON, anything else as a string. */
export function parameterLiteral(raw: string): string {
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw) || raw === "true" || raw === "false" || raw === "null") return raw;
  if (/^[[{"]/.test(raw)) {
    try {
      return JSON.stringify(JSON.parse(raw));
    } catch {
      /* a plain string that happens to start with a bracket */
    }
  }
  return JSON.stringify(raw);
}

export function parseParams(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_$][A-Za-z0-9_$]*)=(.*)$/s.exec(pair);
    if (!m) throw new TscolabError(`--param ${JSON.stringify(pair)} is not NAME=VALUE`, "write it like --param epochs=5");
    out[m[1]] = m[2];
  }
  return out;
}

const hasTag = (cell: Cell, tag: string) => Array.isArray(cell.metadata.tags) && (cell.metadata.tags as unknown[]).includes(tag);

/**
 * Papermill's convention: a cell assigning the new values goes right after
 * the cell tagged `parameters` (which declares them with `let`). Without such
 * a cell, the values are declared at the top and a warning is returned.
 */
export function injectParameters(nb: Notebook, params: Record<string, string>): string | undefined {
  const names = Object.keys(params);
  if (names.length === 0) return undefined;
  const at = nb.cells.findIndex((c) => c.cell_type === "code" && hasTag(c, "parameters"));
  const keyword = at >= 0 ? "" : "let ";
  const source = ["// Injected parameters (tscolab run --param)", ...names.map((k) => `${keyword}${k} = ${parameterLiteral(params[k])};`)].join("\n");
  const cell: Cell = { cell_type: "code", id: randomUUID().slice(0, 8), metadata: { tags: ["injected-parameters"] }, source, outputs: [], execution_count: null };
  nb.cells.splice(at + 1, 0, cell);
  return at >= 0 ? undefined : "no cell is tagged `parameters`: the parameters were declared in a new first cell";
}

/** Jupyter stores multiline strings as lists of lines, each keeping its newline. */
export function toLines(text: string): string[] {
  return text.split(/(?<=\n)/);
}

function serializeCell(cell: Cell): Record<string, unknown> {
  const base: Record<string, unknown> = { ...cell, id: cell.id ?? randomUUID().slice(0, 8), source: toLines(cell.source), metadata: cell.metadata ?? {} };
  if (cell.cell_type === "code") {
    base.outputs = cell.outputs ?? [];
    base.execution_count = cell.execution_count ?? null;
  } else {
    delete base.outputs;
    delete base.execution_count;
  }
  return base;
}

export function writeNotebook(file: string, nb: Notebook): void {
  const out = { ...nb, nbformat: 4, nbformat_minor: Math.max(5, nb.nbformat_minor), cells: nb.cells.map(serializeCell) };
  fs.writeFileSync(file + ".tmp", JSON.stringify(out, null, 1) + "\n");
  fs.renameSync(file + ".tmp", file);
}
