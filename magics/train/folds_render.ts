// Rendering of a folds run (%train with "folds"): one row per fold (its run,
// status, epochs, held-out rows and final validation metrics), the mean ± the
// spread of the fold metrics, and the out-of-fold metrics over every row
// (plus the fold-average's test metrics when there is a test set).
import { escapeHtml } from "../../engine/util/html";
import type { FoldsReport } from "../../engine/folds/record";
import type { TrainSummary } from "../../engine/train/summary";
import type { MimeBundle } from "../types";
import { htmlTable, metricText, textTable, type Cell, type Column } from "../runs/table";
import { formatDuration } from "./render";

const STATUS_COLOR: Record<string, string> = { completed: "#1a7f37", failed: "#cf222e", stopped: "#9a6700", running: "#0969da", pending: "#888" };

/** The metric columns: validation metrics in the order the trainer reports them. */
export function metricNames(report: FoldsReport): string[] {
  const order = ["val_loss", "val_accuracy", "val_mse", "val_mae", "val_pearson"];
  const names = new Set([...report.runs.flatMap((r) => Object.keys(r.metrics)), ...Object.keys(report.oof?.metrics ?? {})]);
  return order.filter((m) => names.has(m));
}

const spreadText = (mean: number | undefined, std: number | undefined) => (mean === undefined ? "-" : `${metricText(mean)} ± ${metricText(std ?? 0)}`);

export function foldsTable(report: FoldsReport): { columns: Column[]; cells: Cell[][] } {
  const names = metricNames(report);
  const columns: Column[] = [
    { label: "fold" },
    { label: "status" },
    { label: "epochs", numeric: true },
    { label: "held out", numeric: true },
    ...names.map((m) => ({ label: m, numeric: true })),
    { label: "run" },
  ];
  const cells: Cell[][] = report.runs.map((r) => [
    { text: String(r.fold) },
    { text: r.status, color: STATUS_COLOR[r.status], title: r.diagnosis ?? undefined },
    { text: r.epochs === null ? "-" : String(r.epochs) },
    { text: r.rows === null ? "-" : String(r.rows) },
    ...names.map((m) => ({ text: metricText(r.metrics[m]) })),
    { text: r.runId ?? "-" },
  ]);
  cells.push([{ text: "mean ± sd" }, { text: "" }, { text: "" }, { text: "" }, ...names.map((m) => ({ text: spreadText(report.mean[m], report.std[m]) })), { text: "" }]);
  if (report.oof)
    cells.push([
      { text: "out-of-fold" },
      { text: "" },
      { text: "" },
      { text: String(report.oof.rows) },
      ...names.map((m) => ({ text: metricText(report.oof!.metrics[m]), best: true })),
      { text: "" },
    ]);
  if (report.test)
    cells.push([
      { text: "test (fold average)" },
      { text: "" },
      { text: "" },
      { text: String(report.test.rows) },
      ...names.map((m) => ({ text: metricText(report.test!.metrics[m]) })),
      { text: "" },
    ]);
  return { columns, cells };
}

export function foldsText(s: TrainSummary & { folds: FoldsReport }): string {
  const f = s.folds;
  const lines = [`folds run ${s.runId}: ${s.status}, ${f.k} folds${f.auto ? " (auto)" : ""}${f.stratified ? ", stratified" : ""}, in ${formatDuration(s.durationMs)}`];
  if (s.diagnosis) lines.push(`  ${s.diagnosis}`);
  const { columns, cells } = foldsTable(f);
  lines.push(
    ...textTable(columns, cells)
      .split("\n")
      .map((l) => `  ${l}`),
  );
  if (f.oof) lines.push(`  out-of-fold predictions: ${f.oof.file}`);
  if (f.test) lines.push(`  test predictions (average of the ${f.k} fold models): ${f.test.file}`);
  if (f.bestFold) lines.push(`  returned model: fold ${f.bestFold} (best held-out value)`);
  for (const n of s.notes) lines.push(`  ${n}`);
  lines.push(`  run folder: ${s.runDir}`);
  return lines.join("\n");
}

export function foldsBundle(s: TrainSummary & { folds: FoldsReport }): MimeBundle {
  const f = s.folds;
  const { columns, cells } = foldsTable(f);
  const html =
    `<div class="tscolab-folds"><b>folds run ${escapeHtml(s.runId)}</b>: ${escapeHtml(s.status)}, ${f.k} folds${f.auto ? " (auto)" : ""}${f.stratified ? ", stratified" : ""}, ${formatDuration(s.durationMs)}` +
    (s.diagnosis ? `<div style="color:#c33">${escapeHtml(s.diagnosis)}</div>` : "") +
    htmlTable(columns, cells, { sortable: false }) +
    (f.oof ? `<div>out-of-fold predictions: <code>${escapeHtml(f.oof.file)}</code></div>` : "") +
    (f.test ? `<div>test predictions (average of the ${f.k} fold models): <code>${escapeHtml(f.test.file)}</code></div>` : "") +
    s.notes.map((n) => `<div style="color:#555">${escapeHtml(n)}</div>`).join("") +
    `<div><code>${escapeHtml(s.runDir)}</code></div></div>`;
  return { "text/plain": foldsText(s), "text/html": html };
}
