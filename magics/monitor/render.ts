// The monitor result for people: status and reasons, the metric comparison
// and the drift tables, as text for terminals and HTML for notebooks.
import { escapeHtml } from "../../engine/util/html";
import type { DriftRow, MonitorResult, Status } from "../../engine/monitor/monitor";
import type { MimeBundle } from "../types";
import { sourceText } from "../evaluate/render";

const COLOR: Record<Status, string> = { ok: "#1a7f37", warn: "#9a6700", fail: "#cf222e" };
const f = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
}

const driftCells = (d: DriftRow) => [d.name, d.status, f(d.psi.value), f(d.ks.statistic), d.ks.pValue.toExponential(1), d.meanShift === null ? "n/a" : d.meanShift.toFixed(2)];
const DRIFT_HEAD = ["", "status", "PSI", "KS", "KS p", "shift (std)"];

export function monitorText(r: MonitorResult): string {
  const lines = [`Monitor of ${sourceText(r.candidate)} on ${r.data} (${r.rows} rows): ${r.status.toUpperCase()}`];
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  for (const note of r.notes) lines.push(`  note: ${note}`);
  if (r.comparison.length)
    lines.push("", ...table([["metric", "baseline", "candidate", "delta", "status"], ...r.comparison.map((c) => [c.metric, f(c.baseline), f(c.candidate), f(c.delta), c.status])]));
  if (r.drift) {
    lines.push("", ...table([["input", ...DRIFT_HEAD.slice(1)], ...r.drift.inputs.map(driftCells)]));
    if (r.drift.outputs.length) lines.push("", ...table([["output", ...DRIFT_HEAD.slice(1)], ...r.drift.outputs.map(driftCells)]));
  }
  lines.push("", `report: ${r.report.markdown}`);
  return lines.join("\n");
}

function htmlTable(head: string[], rows: string[][], statusColumn: number): string {
  return (
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>` +
    rows
      .map(
        (row) =>
          `<tr>${row.map((c, i) => (i === statusColumn ? `<td style="color:${COLOR[c as Status]};font-weight:600">${c}</td>` : `<td${i ? ' style="text-align:right"' : ""}>${escapeHtml(c)}</td>`)).join("")}</tr>`,
      )
      .join("") +
    `</tbody></table>`
  );
}

export function monitorHtml(r: MonitorResult): string {
  const parts = [
    `<div><b>Monitor</b> of ${escapeHtml(sourceText(r.candidate))} on <code>${escapeHtml(r.data)}</code> (${r.rows} rows): <b style="color:${COLOR[r.status]}">${r.status}</b></div>`,
  ];
  if (r.reasons.length) parts.push(`<ul>${r.reasons.map((x) => `<li>${escapeHtml(x)}</li>`).join("")}</ul>`);
  if (r.notes.length) parts.push(`<div style="font-size:smaller">${r.notes.map((x) => escapeHtml(x)).join("<br>")}</div>`);
  if (r.comparison.length)
    parts.push(
      htmlTable(
        ["metric", "baseline", "candidate", "delta", "status"],
        r.comparison.map((c) => [c.metric, f(c.baseline), f(c.candidate), f(c.delta), c.status]),
        4,
      ),
    );
  if (r.drift) {
    parts.push(htmlTable(["input", ...DRIFT_HEAD.slice(1)], r.drift.inputs.map(driftCells), 1));
    if (r.drift.outputs.length) parts.push(htmlTable(["output", ...DRIFT_HEAD.slice(1)], r.drift.outputs.map(driftCells), 1));
  }
  parts.push(`<div style="font-size:smaller">report: <code>${escapeHtml(r.report.markdown)}</code></div>`);
  return `<div>${parts.join("")}</div>`;
}

export function monitorBundle(r: MonitorResult, asJson: boolean): MimeBundle {
  if (asJson) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  return { "text/plain": monitorText(r), "text/html": monitorHtml(r) };
}
