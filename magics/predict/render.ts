// Predictions for people: where they went and the first rows, as text and an HTML table.
import { escapeHtml } from "../../engine/util/html";
import type { PredictResult } from "../../engine/evaluate/evaluate";
import { sourceText } from "../evaluate/render";
import type { MimeBundle } from "../types";

export function predictBundle(r: PredictResult, asJson: boolean): MimeBundle {
  if (asJson) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  const head = `Predictions of ${sourceText(r.source)} for ${r.rows} rows of ${r.data} → ${r.out}`;
  const cell = (v: string | number | undefined) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v ?? ""));
  const text = [head, "", r.columns.join("  "), ...r.preview.map((row) => r.columns.map((c) => cell(row[c])).join("  ")), r.rows > r.preview.length ? "…" : ""]
    .join("\n")
    .trimEnd();
  const html =
    `<div><b>Predictions</b> of ${escapeHtml(sourceText(r.source))} for ${r.rows} rows → <code>${escapeHtml(r.out)}</code>` +
    `<table><thead><tr>${r.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>` +
    r.preview.map((row) => `<tr>${r.columns.map((c) => `<td>${escapeHtml(cell(row[c]))}</td>`).join("")}</tr>`).join("") +
    `</tbody></table>${r.rows > r.preview.length ? `<div>… ${r.rows - r.preview.length} more rows in the file</div>` : ""}</div>`;
  return { "text/plain": text, "text/html": html };
}
