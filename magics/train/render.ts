// Rendering for %train: one live progress block (text + HTML with the plot),
// updated in place, and the final summary. The CLI shows the same text
// (redrawn on a TTY, plain lines in a log).
import path from "node:path";
import { escapeHtml } from "../../engine/util/html";
import { runsDir, userDriveRoot } from "../../engine/store/drive_root";
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
  const tokens = tiers["2"]?.details.tokensPerSec as number | undefined;
  return eta !== undefined ? `${line} · tier 3 estimated ${formatDuration(eta)}${tokens ? ` at ${tokens} tokens/s` : ""}` : line;
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
  const head = e.fold ? `run ${e.runId}, fold ${e.fold.fold}/${e.fold.folds} (run ${e.fold.runId})` : `run ${e.runId}`;
  if (e.phase !== "tier3") return [head, tierLine(e.tiers, e.stopped), e.phase === "done" ? "" : (e.message ?? ""), driveLine(e.drive)].filter(Boolean).join("\n");
  const total = e.epochs * e.stepsPerEpoch;
  const line = [
    `epoch ${e.epoch}/${e.epochs}`,
    bar(total ? e.step / total : 0),
    `step ${e.step}/${total}`,
    `loss ${num(e.loss)}`,
    e.samplesPerSec ? (e.tokensPerSample ? `${Math.round(e.samplesPerSec * e.tokensPerSample)} tokens/s` : `${Math.round(e.samplesPerSec)} samples/s`) : "",
    `ETA ${formatDuration(e.etaMs)}`,
  ]
    .filter(Boolean)
    .join("  ");
  return [head, tierLine(e.tiers), line, lastMetrics(e), driveLine(e.drive)].filter(Boolean).join("\n");
}

/**
 * The live progress block. `chart: false` leaves the plot out (the summary
 * shows it); `endedBy` marks a block whose training threw before a summary.
 * While training runs, the notebook's block says when it was last updated: a
 * block a frontend can no longer update (the kernel was killed, or restarted
 * from a page that stops listening first) then shows its age, instead of an
 * ETA that looks current.
 */
export function progressBundle(e: ProgressEvent, task: ProgressEvent["task"], opts: { chart?: boolean; endedBy?: unknown; now?: Date } = {}): MimeBundle {
  let text = progressText(e);
  const ended = opts.endedBy !== undefined || opts.chart === false || e.phase === "done";
  if (opts.endedBy !== undefined) text += `\nended: ${opts.endedBy instanceof Error ? opts.endedBy.message : String(opts.endedBy)}`;
  const svg = opts.chart === false ? "" : historySvg(e.history, task);
  const stamp = ended ? "" : `<div style="color:#888;font-size:smaller">updated ${clock(opts.now ?? new Date())}</div>`;
  const html = `<div class="tscolab-train"><pre style="margin:0">${escapeHtml(text)}</pre>${stamp}${svg}</div>`;
  return { "text/plain": text, "text/html": html };
}

/** 14:32:05, the kernel's local time. */
const clock = (d: Date) => [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");

/** Tier 3 of an interrupted run did not fail, but it did not finish either. */
function tierLabel(s: TrainSummary, k: "1" | "2" | "3"): string {
  return k === "3" && s.status === "stopped" && s.tiers[k].status === "passed" ? "stopped (resumable)" : s.tiers[k].status;
}

function tiersTable(s: TrainSummary): string {
  const rows = (["1", "2", "3"] as const).map((k) => {
    const t = s.tiers[k];
    const color = t.status === "failed" ? "#c33" : t.status === "skipped" || tierLabel(s, k) !== t.status ? "#888" : "#2a7";
    const why = [t.diagnosis, t.fix ? `fix: ${t.fix}` : "", tierFindings(k, t)].filter(Boolean).join(" — ");
    return `<tr><td>tier ${k}</td><td style="color:${color}">${tierLabel(s, k)}</td><td>${t.status === "skipped" ? "" : formatDuration(t.durationMs)}</td><td style="text-align:left">${escapeHtml(why)}</td></tr>`;
  });
  return `<table><thead><tr><th>tier</th><th>status</th><th>time</th><th style="text-align:left">details</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** What a passed tier 1 or 2 checked, in a line, from its details. */
export function tierFindings(k: "1" | "2" | "3", t: TrainSummary["tiers"]["1"]): string | undefined {
  if (t.status !== "passed") return undefined;
  const d = t.details as Record<string, any>;
  if (k === "1" && Array.isArray(d.batchSizes)) {
    const weights = Array.isArray(d.gradients) ? d.gradients.length : 0;
    const o = d.overfit as { steps?: number; lossBefore?: number; lossAfter?: number } | undefined;
    return [
      `shapes ok at batch sizes ${d.batchSizes.join(", ")}`,
      `finite, non-zero gradients for all ${weights} weights`,
      o ? `one batch overfits (loss ${num(o.lossBefore)} → ${num(o.lossAfter)} in ${o.steps} steps)` : "",
    ]
      .filter(Boolean)
      .join("; ");
  }
  if (k === "2" && typeof d.steps === "number") {
    return `${d.steps} steps on ${d.sliceRows} rows, ${num(d.stepMs)} ms/step (${d.samplesPerSec} samples/s), loss ${num(d.lossFirst)} → ${num(d.lossLast)}, no tensor leak; full run estimated ${formatDuration(d.etaMs ?? null)}`;
  }
  return undefined;
}

/** The headline: a run that stopped at the checks (--tier 1 or 2) says so rather than "after 0 epochs". */
function headline(s: TrainSummary): string {
  const early = s.stoppedEarly ? " (early stopping)" : "";
  const t3 = s.tiers["3"];
  if (t3.status === "skipped" && s.status === "completed") {
    const ran = (["1", "2"] as const).filter((k) => s.tiers[k].status !== "skipped");
    return `run ${s.runId}: checks passed (tier ${ran.join(" and ")}) in ${formatDuration(s.durationMs)}; no epochs trained: tier 3, the full run, was not selected (--tier ${s.config.tier})`;
  }
  return `run ${s.runId}: ${s.status}${early} after ${s.epochs} epoch(s) in ${formatDuration(s.durationMs)}`;
}

export function summaryText(s: TrainSummary): string {
  const lines = [headline(s)];
  if (s.diagnosis) lines.push(`  ${s.diagnosis}${s.fix ? ` (fix: ${s.fix})` : ""}`);
  for (const k of ["1", "2", "3"] as const) {
    const t = s.tiers[k];
    const findings = tierFindings(k, t);
    lines.push(
      `  tier ${k}: ${tierLabel(s, k)}${t.status === "skipped" ? "" : ` in ${formatDuration(t.durationMs)}`}${t.diagnosis && t.status !== "passed" ? ` — ${t.diagnosis}` : ""}${findings ? ` — ${findings}` : ""}`,
    );
  }
  const m = Object.entries(s.metrics)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join("  ");
  if (m) lines.push(`  metrics: ${m}`);
  if (s.best) lines.push(`  best: ${s.best.metric} ${num(s.best.value)} at epoch ${s.best.epoch}`);
  const seqLen = s.dataset.task === "language-modeling" ? Number(s.dataset.text?.seqLen) : 0;
  if (s.samplesPerSec) lines.push(`  ${s.samplesPerSec} samples/s${seqLen ? ` (${s.samplesPerSec * seqLen} tokens/s)` : ""} on ${s.backend}`);
  for (const n of s.notes) lines.push(`  ${n}`);
  lines.push(`  run folder: ${s.runDir}`);
  const note = defaultDriveNote(s.runDir);
  if (note) lines.push(`  ${note}`);
  return lines.join("\n");
}

/** Said when a run went to the default Drive root, so a user knows where runs go and how to choose another. */
function defaultDriveNote(runDir: string): string | undefined {
  const root = userDriveRoot();
  if (!runDir.startsWith(runsDir(root) + path.sep)) return undefined;
  return `on the default Drive root ${root}, shared by all your notebooks and terminals (%drive mount DIR or $TSCOLAB_DRIVE picks another)`;
}

export function summaryBundle(s: TrainSummary, history: ProgressEvent["history"] = []): MimeBundle {
  const metrics = Object.entries(s.metrics)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${num(v)}</td></tr>`)
    .join("");
  const html =
    `<div class="tscolab-train"><b>${escapeHtml(headline(s))}</b>` +
    (s.diagnosis ? `<div style="color:#c33">${escapeHtml(s.diagnosis)}${s.fix ? ` — fix: ${escapeHtml(s.fix)}` : ""}</div>` : "") +
    tiersTable(s) +
    (metrics ? `<table><tbody>${metrics}</tbody></table>` : "") +
    historySvg(history, s.dataset.task) +
    `<div><code>${escapeHtml(s.runDir)}</code></div>` +
    (defaultDriveNote(s.runDir) ? `<div style="font-size:smaller;color:#666">${escapeHtml(defaultDriveNote(s.runDir)!)}</div>` : "") +
    `</div>`;
  return { "text/plain": summaryText(s), "text/html": html };
}
