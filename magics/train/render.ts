// Rendering for %train: one live progress block (text + HTML with the plot),
// updated in place, and the final summary. The CLI shows the same text
// (redrawn on a TTY, plain lines in a log).
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import { MONITORS } from "../../engine/train/options";
import { historySvg } from "../../engine/train/plot";
import type { ProgressEvent } from "../../engine/train/progress";
import type { TrainSummary } from "../../engine/train/summary";

/** The validation metrics a progress line shows, in the order the options list them. */
const METRIC_KEYS = MONITORS.filter((m) => m !== "loss");

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4));

function tierLine(tiers: ProgressEvent["tiers"], stopped = false): string {
  const line = (["1", "2", "3"] as const)
    .filter((k) => tiers[k])
    .map(
      (k) =>
        `tier ${k} ${k === "3" && stopped && tiers[k]!.status === "passed" ? "stopped" : tiers[k]!.status}${tiers[k]!.status === "skipped" ? "" : ` (${formatDuration(tiers[k]!.durationMs)})`}`,
    )
    .join(" · ");
  // Tier 2's estimate, until tier 3 has its own.
  const eta = tiers["2"]?.status === "passed" && !tiers["3"] ? (tiers["2"].details.etaMs as number | undefined) : undefined;
  return eta !== undefined ? `${line} · tier 3 estimated ${formatDuration(eta)}` : line;
}

function bar(fraction: number, width = 24): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${"#".repeat(full)}${"-".repeat(width - full)}]`;
}

function lastMetrics(e: ProgressEvent): string {
  const last = e.history[e.history.length - 1];
  if (!last) return "";
  return METRIC_KEYS.filter((k) => typeof last[k] === "number")
    .map((k) => `${k} ${num(last[k])}`)
    .join("  ");
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** A local-first run's Drive, when there is something to say: since when it is unavailable and why, and what waits. */
export function driveLine(d: ProgressEvent["drive"]): string {
  if (!d) return "";
  const waits = d.waiting ? ` · ${plural(d.waiting, "checkpoint")} ${d.waiting === 1 ? "waits" : "wait"} locally` : "";
  if (d.state === "unavailable") return `Drive unavailable since ${d.since ? new Date(d.since).toTimeString().slice(0, 8) : "?"} (${d.reason ?? "?"})${waits}; training goes on`;
  // One checkpoint on its way is the normal case; more mean a slow Drive.
  return d.waiting > 1 ? `Drive slow: ${plural(d.waiting, "checkpoint")} wait to be copied` : "";
}

export function progressText(e: ProgressEvent): string {
  const head = `run ${e.runId}`;
  if (e.phase !== "tier3") return [head, tierLine(e.tiers, e.stopped), e.phase === "done" ? "" : (e.message ?? ""), driveLine(e.drive)].filter(Boolean).join("\n");
  const total = e.epochs * e.stepsPerEpoch;
  const line = [
    `epoch ${e.epoch}/${e.epochs}`,
    bar(total ? e.step / total : 0),
    `step ${e.step}/${total}`,
    `loss ${num(e.loss)}`,
    e.samplesPerSec ? `${Math.round(e.samplesPerSec)} samples/s` : "",
    `ETA ${formatDuration(e.etaMs)}`,
  ]
    .filter(Boolean)
    .join("  ");
  return [head, tierLine(e.tiers), line, lastMetrics(e), driveLine(e.drive)].filter(Boolean).join("\n");
}

export function progressBundle(e: ProgressEvent, task: "classification" | "regression"): MimeBundle {
  const text = progressText(e);
  const svg = historySvg(e.history, task);
  const html = `<div class="tscolab-train"><pre style="margin:0">${escapeHtml(text)}</pre>${svg}</div>`;
  return { "text/plain": text, "text/html": html };
}

/** Tier 3 of an interrupted run did not fail, but it did not finish either. */
function tierLabel(s: TrainSummary, k: "1" | "2" | "3"): string {
  return k === "3" && s.status === "stopped" && s.tiers[k].status === "passed" ? "stopped (resumable)" : s.tiers[k].status;
}

function tiersTable(s: TrainSummary): string {
  const rows = (["1", "2", "3"] as const).map((k) => {
    const t = s.tiers[k];
    const color = t.status === "failed" ? "#c33" : t.status === "skipped" || tierLabel(s, k) !== t.status ? "#888" : "#2a7";
    const why = [t.diagnosis, t.fix ? `fix: ${t.fix}` : ""].filter(Boolean).join(" — ");
    return `<tr><td>tier ${k}</td><td style="color:${color}">${tierLabel(s, k)}</td><td>${t.status === "skipped" ? "" : formatDuration(t.durationMs)}</td><td style="text-align:left">${escapeHtml(why)}</td></tr>`;
  });
  return `<table><thead><tr><th>tier</th><th>status</th><th>time</th><th style="text-align:left">details</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

export function summaryText(s: TrainSummary): string {
  const lines = [`run ${s.runId}: ${s.status}${s.stoppedEarly ? " (early stopping)" : ""} after ${s.epochs} epoch(s) in ${formatDuration(s.durationMs)}`];
  if (s.diagnosis) lines.push(`  ${s.diagnosis}${s.fix ? ` (fix: ${s.fix})` : ""}`);
  for (const k of ["1", "2", "3"] as const) {
    const t = s.tiers[k];
    lines.push(
      `  tier ${k}: ${tierLabel(s, k)}${t.status === "skipped" ? "" : ` in ${formatDuration(t.durationMs)}`}${t.diagnosis && t.status !== "passed" ? ` — ${t.diagnosis}` : ""}`,
    );
  }
  const m = Object.entries(s.metrics)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join("  ");
  if (m) lines.push(`  metrics: ${m}`);
  if (s.best) lines.push(`  best: ${s.best.metric} ${num(s.best.value)} at epoch ${s.best.epoch}`);
  if (s.samplesPerSec) lines.push(`  ${s.samplesPerSec} samples/s on ${s.backend}`);
  for (const n of s.notes) lines.push(`  ${n}`);
  lines.push(`  run folder: ${s.runDir}`);
  return lines.join("\n");
}

export function summaryBundle(s: TrainSummary, history: ProgressEvent["history"] = []): MimeBundle {
  const metrics = Object.entries(s.metrics)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${num(v)}</td></tr>`)
    .join("");
  const html =
    `<div class="tscolab-train"><b>run ${escapeHtml(s.runId)}</b>: ${escapeHtml(s.status)}${s.stoppedEarly ? " (early stopping)" : ""}, ${s.epochs} epoch(s), ${formatDuration(s.durationMs)}` +
    (s.diagnosis ? `<div style="color:#c33">${escapeHtml(s.diagnosis)}${s.fix ? ` — fix: ${escapeHtml(s.fix)}` : ""}</div>` : "") +
    tiersTable(s) +
    (metrics ? `<table><tbody>${metrics}</tbody></table>` : "") +
    historySvg(history, s.dataset.task) +
    `<div><code>${escapeHtml(s.runDir)}</code></div></div>`;
  return { "text/plain": summaryText(s), "text/html": html };
}
