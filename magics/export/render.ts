// The export result for people: a text table for terminals and a compact
// HTML summary for notebooks (formats table, then every check, failures first).
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { ExportResult } from "../../engine/export/export";
import { fmtBytes, fmtNumber, type CheckStatus } from "../../engine/export/health";

const COLOR: Record<CheckStatus, string> = { passed: "#1a7f37", warning: "#9a6700", failed: "#cf222e" };
const ORDER: Record<CheckStatus, number> = { failed: 0, warning: 1, passed: 2 };

function sourceLine(r: ExportResult): string {
  const s = r.source;
  return s.kind === "run" ? `run ${String(s.runId)} (${String(s.checkpoint)}: step ${String(s.step)}, epoch ${String(s.epoch)})` : `model ${String(s.modelName)} (in memory)`;
}

export function exportText(r: ExportResult): string {
  const rows = Object.entries(r.formats).map(([name, f]) => [name, f.status, fmtBytes(f.bytes), fmtNumber(f.maxAbsDiff), fmtNumber(f.p50Ms), fmtNumber(f.p95Ms), f.path ?? "–"]);
  const head = ["format", "status", "size", "max|diff|", "p50 ms", "p95 ms", "path"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const problems = r.checks.filter((c) => c.status !== "passed").sort((a, b) => ORDER[a.status] - ORDER[b.status]);
  return [
    `Export of ${sourceLine(r)} → ${r.out}`,
    `health score ${fmtNumber(r.healthScore, 1)} · status ${r.status} · ${r.checks.length} checks`,
    "",
    line(head),
    ...rows.map(line),
    ...(problems.length ? ["", ...problems.map((c) => `${c.status.toUpperCase()} ${c.name}: ${c.message}`)] : []),
    ...(r.recommendations?.length ? ["", "recommendations:", ...r.recommendations.map((x) => `  - ${x.severity}: ${x.message}`)] : []),
    "",
    `report: ${r.healthReport.md}${r.bundle ? `\nbundle: ${r.bundle.path} (${fmtBytes(r.bundle.bytes)})` : ""}`,
  ].join("\n");
}

export function exportHtml(r: ExportResult): string {
  const badge = (s: CheckStatus) => `<span style="color:${COLOR[s]};font-weight:600">${s}</span>`;
  const formatRows = Object.entries(r.formats)
    .map(
      ([name, f]) =>
        `<tr><td><code>${escapeHtml(name)}</code></td><td>${badge(f.status)}</td><td>${fmtBytes(f.bytes)}</td><td>${fmtBytes(f.weightBytes)}</td><td>${fmtNumber(f.maxAbsDiff)}</td><td>${fmtNumber(f.maxRelDiff)}</td><td>${fmtNumber(f.p50Ms)}</td><td>${fmtNumber(f.p95Ms)}</td></tr>`,
    )
    .join("");
  const checks = [...r.checks].sort((a, b) => ORDER[a.status] - ORDER[b.status]);
  const checkRows = checks
    .map(
      (c) =>
        `<tr><td><code>${escapeHtml(c.name)}</code></td><td>${badge(c.status)}</td><td style="text-align:right">${fmtNumber(c.durationMs, 1)} ms</td><td style="text-align:left">${escapeHtml(c.message)}</td></tr>`,
    )
    .join("");
  const recommendations = r.recommendations?.length
    ? `<div><b>Recommendations</b><ul>${r.recommendations.map((x) => `<li><i>${x.severity}</i>: ${escapeHtml(x.message)}</li>`).join("")}</ul></div>`
    : "";
  const open = r.status === "passed" ? "" : " open";
  const counts = (["failed", "warning", "passed"] as const)
    .map((st) => [st, r.checks.filter((c) => c.status === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n} ${st}`)
    .join(", ");
  // Notebook CSS often hides the browser's own disclosure triangle: the summary draws its own (▸, turned ▾ when open).
  const style =
    `<style>details.tscolab-checks>summary{cursor:pointer;list-style:none}details.tscolab-checks>summary::-webkit-details-marker{display:none}` +
    `details.tscolab-checks[open]>summary .tscolab-marker{transform:rotate(90deg)}</style>`;
  const summary = `<summary><span class="tscolab-marker" style="display:inline-block">▸</span> ${r.checks.length} checks${counts ? ` (${counts})` : ""}</summary>`;
  return (
    `<div>` +
    `<div><b>Export</b> of ${escapeHtml(sourceLine(r))} → <code>${escapeHtml(r.out)}</code></div>` +
    `<div>health score <b style="color:${COLOR[r.status]}">${fmtNumber(r.healthScore, 1)}</b> · status ${badge(r.status)}</div>` +
    `<table><thead><tr><th>format</th><th>status</th><th>size</th><th>weights</th><th>max abs diff</th><th>max rel diff</th><th>p50 ms</th><th>p95 ms</th></tr></thead><tbody>${formatRows}</tbody></table>` +
    recommendations +
    style +
    `<details class="tscolab-checks"${open}>${summary}<table><tbody>${checkRows}</tbody></table></details>` +
    `<div style="font-size:smaller">report: <code>${escapeHtml(r.healthReport.md)}</code>${r.bundle ? ` · bundle: <code>${escapeHtml(r.bundle.path)}</code>` : ""}</div>` +
    `</div>`
  );
}

export function exportBundle(r: ExportResult, asJson: boolean): MimeBundle {
  if (asJson) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  return { "text/plain": exportText(r), "text/html": exportHtml(r) };
}
