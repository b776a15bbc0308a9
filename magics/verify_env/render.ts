// Rendering of the report: a compact HTML table (status, finding, fix) for
// notebooks, aligned text for terminals and as the text/plain fallback, and
// the JSON object for `--json`.
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { CheckStatus, VerifyEnvReport } from "../../engine/env/report";

const ICON: Record<CheckStatus, string> = { ok: "✔", warn: "⚠", fail: "✖" };
const COLOR: Record<CheckStatus, string> = { ok: "#1a7f37", warn: "#9a6700", fail: "#cf222e" };

/** One line: overall status, backend, profile, GPU. */
export function summaryLine(r: VerifyEnvReport): string {
  const sel = r.backend.candidates.find((c) => c.name === r.backend.selected);
  const backend = sel ? `${sel.name}${sel.gflops !== null ? ` (${sel.gflops} GFLOP/s)` : ""}` : "none";
  const gpu = r.gpu.present ? r.gpu.devices.map((d) => `${d.name} [${d.tier}]`).join(", ") : "none";
  const native = r.backend.selected === "wasm" ? ` + native ${r.backend.native.on ? "MLAS" : "off"}` : "";
  return `verify_env: ${r.status.toUpperCase()} · backend ${backend}${native} · profile ${r.profile.name} · GPU ${gpu} · ${(r.elapsedMs / 1000).toFixed(1)} s`;
}

export function renderText(r: VerifyEnvReport): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = [summaryLine(r), ""];
  for (const c of r.checks) {
    lines.push(`${ICON[c.status]} ${c.status.padEnd(4)} ${c.id.padEnd(width)}  ${c.message}`);
    if (c.fix) lines.push(`${" ".repeat(width + 9)}fix: ${c.fix}`);
  }
  lines.push("", `profile ${r.profile.name}: ${r.profile.reason}`);
  return lines.join("\n");
}

export function renderHtml(r: VerifyEnvReport): string {
  const cell = "padding:2px 8px;text-align:left;vertical-align:top";
  const rows = r.checks
    .map(
      (c) =>
        `<tr><td style="${cell};color:${COLOR[c.status]};white-space:nowrap"><b>${ICON[c.status]} ${c.status}</b></td>` +
        `<td style="${cell}"><code>${escapeHtml(c.id)}</code></td>` +
        `<td style="${cell}">${escapeHtml(c.message)}</td>` +
        `<td style="${cell}">${c.fix ? escapeHtml(c.fix) : ""}</td></tr>`,
    )
    .join("");
  return (
    `<div class="tscolab-verify-env"><p style="margin:4px 0"><b style="color:${COLOR[r.status]}">${escapeHtml(summaryLine(r))}</b></p>` +
    `<table style="border-collapse:collapse;font-size:90%"><thead><tr>` +
    ["status", "check", "finding", "fix"].map((h) => `<th style="${cell}">${h}</th>`).join("") +
    `</tr></thead><tbody>${rows}</tbody></table>` +
    `<p style="margin:4px 0">Profile <b>${escapeHtml(r.profile.name)}</b>: ${escapeHtml(r.profile.reason)}</p></div>`
  );
}

export function renderReport(r: VerifyEnvReport, json: boolean): MimeBundle {
  if (json) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  return { "text/plain": renderText(r), "text/html": renderHtml(r) };
}
