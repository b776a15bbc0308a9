// `--where KEY OP VALUE` and `--sort [-]KEY` over run rows, on dotted keys
// (`metrics.val_accuracy>0.9`, `status=completed`, `-metrics.val_loss`).
import { UsageError } from "../errors";
import { closest } from "../util/closest";
import { flatten, getDotted, parseLiteral, sameJson } from "./dotted";
import type { RunRow } from "./run_row";

export const OPS = ["=", "!=", ">", ">=", "<", "<="] as const;
export type Op = (typeof OPS)[number];

export interface Condition {
  key: string;
  op: Op;
  /** The value as typed, and parsed (a number, true/false/null, a JSON array, else the text). */
  raw: string;
  value: unknown;
  text: string;
}

/** Keys every row has (the top level of a dotted key). */
export const ROW_KEYS: (keyof RunRow)[] = [
  "runId",
  "runName",
  "status",
  "reason",
  "createdAt",
  "updatedAt",
  "durationS",
  "task",
  "model",
  "sweepId",
  "sweepParams",
  "metrics",
  "best",
  "tiers",
  "epochs",
  "backend",
  "config",
  "runDir",
];

const COND = /^\s*([A-Za-z_][\w.-]*)\s*(==|!=|>=|<=|=|>|<)\s*(.*?)\s*$/;

export function parseCondition(text: string): Condition {
  const m = COND.exec(text);
  if (!m) throw new UsageError(`--where ${JSON.stringify(text)}: expected KEY OP VALUE with OP one of ${OPS.join(" ")} (e.g. metrics.val_accuracy>0.9, status=completed)`);
  const op = (m[2] === "==" ? "=" : m[2]) as Op;
  const raw = m[3]!.replace(/^(["'])(.*)\1$/, "$2");
  if (raw === "" && op !== "=" && op !== "!=") throw new UsageError(`--where ${JSON.stringify(text)}: no value after ${op}`);
  return { key: m[1]!, op, raw, value: /^(["']).*\1$/.test(m[3]!) ? raw : parseLiteral(raw), text };
}

/** Refuses a key no row can have, with the nearest one that exists. */
export function checkKey(key: string, rows: RunRow[], flag: string): void {
  const top = key.split(".")[0]!;
  if (!(ROW_KEYS as string[]).includes(top)) {
    const guess = closest(top, ROW_KEYS);
    throw new UsageError(`${flag}: unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}; keys: ${ROW_KEYS.join(", ")} (dotted inside, e.g. metrics.val_loss)`);
  }
  if (key === top || rows.length === 0) return;
  if (rows.some((r) => getDotted(r, key) !== undefined)) return;
  const known = new Set<string>();
  for (const r of rows.slice(0, 500)) for (const k of Object.keys(flatten((r as unknown as Record<string, unknown>)[top], top))) known.add(k);
  const guess = closest(key, [...known]);
  throw new UsageError(`${flag}: no run has "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}`);
}

function equals(field: unknown, c: Condition): boolean {
  if (c.value === null) return field === null || field === undefined;
  if (sameJson(field, c.value)) return true;
  return (typeof field === "string" || typeof field === "number" || typeof field === "boolean") && String(field) === c.raw;
}

export function matches(row: RunRow, c: Condition): boolean {
  const field = getDotted(row, c.key);
  if (c.op === "=") return equals(field, c);
  if (c.op === "!=") return !equals(field, c);
  let a: number | string;
  let b: number | string;
  if (typeof field === "number" && typeof c.value === "number") [a, b] = [field, c.value];
  else if (typeof field === "string" && typeof c.value !== "object") [a, b] = [field, c.raw];
  else return false;
  switch (c.op) {
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
  }
}

export interface SortSpec {
  key: string;
  descending: boolean;
}

export function parseSort(text: string): SortSpec {
  const t = text.trim();
  const descending = t.startsWith("-");
  const key = t.replace(/^[-+]/, "");
  if (!/^[A-Za-z_][\w.-]*$/.test(key)) throw new UsageError(`--sort ${JSON.stringify(text)}: expected a dotted key, with - in front for descending (e.g. -metrics.val_accuracy)`);
  return { key, descending };
}

/** Sorted copy; rows without the key go last either way, ties keep their order (newest first). */
export function sortRows(rows: RunRow[], s: SortSpec): RunRow[] {
  const keyed = rows.map((row) => ({ row, v: getDotted(row, s.key) }));
  const rank = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? 0 : typeof v === "string" ? 1 : v === undefined || v === null ? 3 : 2);
  keyed.sort((x, y) => {
    const rx = rank(x.v);
    const ry = rank(y.v);
    if (rx !== ry) return rx - ry;
    let c = 0;
    if (rx === 0) c = (x.v as number) - (y.v as number);
    else if (rx === 1) c = (x.v as string) < (y.v as string) ? -1 : (x.v as string) > (y.v as string) ? 1 : 0;
    else if (rx === 2) c = JSON.stringify(x.v).localeCompare(JSON.stringify(y.v));
    return s.descending ? -c : c;
  });
  return keyed.map((k) => k.row);
}
