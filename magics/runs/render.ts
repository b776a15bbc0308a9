// %runs rendering: one row per run (newest first unless sorted), one column
// per metric with the best value of each marked; unreadable folders listed
// with their reason.
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { RunsList } from "../../engine/experiments/runs_index";
import type { RunRow } from "../../engine/experiments/run_row";
import { modelText } from "../../engine/experiments/run_row";
import { lowerIsBetter } from "../../engine/experiments/compare";
import { durationText, htmlTable, metricText, paramsText, textTable, type Cell, type Column } from "./table";

/** At most this many rows go into the notebook's HTML, and into the text (the JSON has them all). */
export const HTML_ROW_LIMIT = 500;
export const TEXT_ROW_LIMIT = 2000;

const STATUS_COLOR: Record<string, string> = { completed: "#1a7f37", failed: "#cf222e", unreadable: "#cf222e", stopped: "#9a6700", running: "#0969da" };

/** Metric columns: every final metric any listed run has, val_loss first. */
export function metricColumns(rows: RunRow[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metrics)) names.add(k);
  return [...names].sort((a, b) => (a === "val_loss" ? -1 : b === "val_loss" ? 1 : a.localeCompare(b)));
}

function bestIndex(rows: RunRow[], metric: string): number {
  let best = -1;
  const lower = lowerIsBetter(metric);
  rows.forEach((r, i) => {
    const v = r.metrics[metric];
    if (v === undefined || !Number.isFinite(v)) return;
    const b = best >= 0 ? rows[best]!.metrics[metric]! : undefined;
    if (b === undefined || (lower ? v < b : v > b)) best = i;
  });
  return best;
}

function table(rows: RunRow[]): { columns: Column[]; cells: Cell[][] } {
  const metrics = metricColumns(rows);
  const sweeps = rows.some((r) => r.sweepId);
  const bests = metrics.map((m) => bestIndex(rows, m));
  const columns: Column[] = [
    { label: "run" },
    { label: "status" },
    { label: "created" },
    { label: "duration", numeric: true },
    { label: "task" },
    { label: "model" },
    ...(sweeps ? [{ label: "sweep" }, { label: "params" }] : []),
    { label: "epochs", numeric: true },
    ...metrics.map((m) => ({ label: m, numeric: true })),
  ];
  const cells = rows.map((r, i): Cell[] => [
    { text: r.runId, title: r.runDir },
    { text: r.status, color: STATUS_COLOR[r.status], title: r.reason ?? undefined },
    { text: r.createdAt ? r.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-", sort: r.createdAt },
    { text: durationText(r.durationS), sort: r.durationS },
    { text: r.task ?? "-" },
    { text: modelText(r.model) },
    ...(sweeps ? [{ text: r.sweepId ?? "-" }, { text: paramsText(r.sweepParams) }] : []),
    { text: r.epochs === null ? "-" : String(r.epochs), sort: r.epochs },
    ...metrics.map((m, k): Cell => ({ text: metricText(r.metrics[m]), sort: r.metrics[m] ?? null, best: bests[k] === i })),
  ]);
  return { columns, cells };
}

function heading(list: RunsList): string {
  const filtered = list.matched !== list.total ? `, ${list.matched} match` : "";
  const shown = list.runs.length !== list.matched ? `, showing ${list.runs.length}` : "";
  return `${list.total} run(s) under ${list.driveRoot}${filtered}${shown}`;
}

export function runsText(list: RunsList): string {
  if (!list.runs.length) return `${heading(list)}${list.total ? "" : " (start one with %train or %sweep)"}`;
  const shown = list.runs.slice(0, TEXT_ROW_LIMIT);
  const { columns, cells } = table(shown);
  const unreadable = list.runs.filter((r) => r.status === "unreadable");
  return [
    heading(list),
    "",
    textTable(columns, cells),
    ...(list.runs.length > shown.length ? [`... and ${list.runs.length - shown.length} more (narrow with --where or --limit; --json prints them all)`] : []),
    ...(metricColumns(list.runs).length ? ["", "* best value of the column"] : []),
    ...(unreadable.length ? ["", "Unreadable run folders:", ...unreadable.map((r) => `  ${r.runId}: ${r.reason}`)] : []),
  ].join("\n");
}

export function runsBundle(list: RunsList): MimeBundle {
  const text = runsText(list);
  const shown = list.runs.slice(0, HTML_ROW_LIMIT);
  const { columns, cells } = table(shown);
  const unreadable = list.runs.filter((r) => r.status === "unreadable");
  const html =
    `<div class="tscolab-runs"><div>${escapeHtml(heading(list))}${list.runs.length > HTML_ROW_LIMIT ? ` (the first ${HTML_ROW_LIMIT} here; narrow with --where or --limit)` : ""}` +
    `${shown.length ? ' · click a column header to sort · <span style="background:#d4f7d4;font-weight:bold">★ best</span> of each metric' : ""}</div>` +
    (shown.length ? htmlTable(columns, cells) : "") +
    (unreadable.length
      ? `<div><b>Unreadable run folders</b><ul>${unreadable.map((r) => `<li><code>${escapeHtml(r.runId)}</code>: ${escapeHtml(r.reason ?? "")}</li>`).join("")}</ul></div>`
      : "") +
    `</div>`;
  return { "text/plain": text, "text/html": html };
}
