// Evaluation results for people: metrics, per-class table and the confusion
// matrix, as text for terminals and HTML tables for notebooks.
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { EvaluateResult } from "../../engine/evaluate/evaluate";
import type { ClassificationMetrics, RegressionMetrics } from "../../engine/evaluate/metrics";

const num = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));

export function sourceText(source: Record<string, unknown>): string {
  if (source.kind === "run") return `run ${String(source.runId)} (${String(source.checkpoint)}: step ${String(source.step)}, epoch ${String(source.epoch)})`;
  return `export ${String(source.modelJson)}`;
}

function pad(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
}

export function confusionText(m: ClassificationMetrics): string[] {
  const { labels, matrix } = m.confusionMatrix;
  return ["confusion matrix (rows: true, columns: predicted)", ...pad([["", ...labels], ...labels.map((l, i) => [l, ...matrix[i].map(String)])])];
}

export function confusionHtml(m: ClassificationMetrics): string {
  const { labels, matrix } = m.confusionMatrix;
  const max = Math.max(1, ...matrix.flat());
  const cell = (v: number, diagonal: boolean) => {
    const alpha = (0.1 + 0.6 * (v / max)).toFixed(2);
    const color = diagonal ? `rgba(26,127,55,${alpha})` : v ? `rgba(207,34,46,${alpha})` : "transparent";
    return `<td style="background:${color};text-align:right">${v}</td>`;
  };
  return (
    `<table><caption style="caption-side:top;text-align:left">confusion matrix (rows: true, columns: predicted)</caption>` +
    `<thead><tr><th></th>${labels.map((l) => `<th>${escapeHtml(l)}</th>`).join("")}</tr></thead><tbody>` +
    labels.map((l, i) => `<tr><th style="text-align:left">${escapeHtml(l)}</th>${matrix[i].map((v, j) => cell(v, i === j)).join("")}</tr>`).join("") +
    `</tbody></table>`
  );
}

function perClassRows(m: ClassificationMetrics): string[][] {
  return Object.entries(m.perClass).map(([l, c]) => [l, num(c.precision), num(c.recall), num(c.f1), String(c.support)]);
}

export function evaluateText(r: EvaluateResult): string {
  const head = `Evaluation of ${sourceText(r.source)} on ${r.data}: ${r.rows} rows`;
  if (r.task === "regression") {
    const m = r.metrics as RegressionMetrics;
    return [
      head,
      ...pad([
        ["mse", num(m.mse)],
        ["rmse", num(m.rmse)],
        ["mae", num(m.mae)],
        ["pearson r", num(m.pearson)],
        ["R²", num(m.r2)],
      ]),
    ].join("\n");
  }
  const m = r.metrics as ClassificationMetrics;
  return [
    head,
    `accuracy ${num(m.accuracy)} · macro F1 ${num(m.macroF1)} · macro precision ${num(m.macroPrecision)} · macro recall ${num(m.macroRecall)} · log loss ${num(m.logLoss)}`,
    "",
    ...pad([["class", "precision", "recall", "f1", "support"], ...perClassRows(m)]),
    "",
    ...confusionText(m),
  ].join("\n");
}

export function evaluateHtml(r: EvaluateResult): string {
  const head = `<div><b>Evaluation</b> of ${escapeHtml(sourceText(r.source))} on <code>${escapeHtml(r.data)}</code>: ${r.rows} rows</div>`;
  if (r.task === "regression") {
    const m = r.metrics as RegressionMetrics;
    const rows: [string, number][] = [
      ["MSE", m.mse],
      ["RMSE", m.rmse],
      ["MAE", m.mae],
      ["Pearson r", m.pearson],
      ["R²", m.r2],
    ];
    return `<div>${head}<table><tbody>${rows.map(([k, v]) => `<tr><th style="text-align:left">${k}</th><td style="text-align:right">${num(v)}</td></tr>`).join("")}</tbody></table></div>`;
  }
  const m = r.metrics as ClassificationMetrics;
  const summary = `<div>accuracy <b>${num(m.accuracy)}</b> · macro F1 <b>${num(m.macroF1)}</b> · macro precision ${num(m.macroPrecision)} · macro recall ${num(m.macroRecall)} · log loss ${num(m.logLoss)}</div>`;
  const perClass =
    `<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>` +
    perClassRows(m)
      .map(([l, ...v]) => `<tr><th style="text-align:left">${escapeHtml(l)}</th>${v.map((x) => `<td style="text-align:right">${x}</td>`).join("")}</tr>`)
      .join("") +
    `</tbody></table>`;
  return `<div>${head}${summary}<div style="display:flex;gap:2em;align-items:flex-start">${perClass}${confusionHtml(m)}</div></div>`;
}

export function evaluateBundle(r: EvaluateResult, asJson: boolean): MimeBundle {
  if (asJson) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  return { "text/plain": evaluateText(r), "text/html": evaluateHtml(r) };
}
