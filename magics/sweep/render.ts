// %sweep rendering: a live table (one row per trial: status, epoch, objective
// so far) updated in place while the sweep runs, then the result sorted by
// the objective with the best trial marked.
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { SweepProgress, SweepResult, TrialRecord, TrialView } from "../../engine/experiments";
import { durationText, htmlTable, metricText, paramsText, textTable, type Cell, type Column } from "../runs/table";

const STATUS_COLOR: Record<string, string> = { completed: "#1a7f37", failed: "#cf222e", interrupted: "#9a6700", running: "#0969da", pending: "#888" };

function liveStatus(t: TrialView): string {
  if (t.status !== "running") return t.status;
  if (!t.phase || t.phase === "starting") return "starting";
  return t.phase === "tier1" ? "tier 1 (smoke)" : t.phase === "tier2" ? "tier 2 (dev)" : t.phase === "tier3" ? "training" : t.phase;
}

export function progressBundle(p: SweepProgress): MimeBundle {
  const columns: Column[] = [
    { label: "trial" },
    { label: "params" },
    { label: "status" },
    { label: "epoch", numeric: true },
    { label: `${p.objective} (${p.mode})`, numeric: true },
    { label: "run" },
  ];
  const cells = p.trials.map((t): Cell[] => [
    { text: t.name },
    { text: paramsText(t.params) },
    { text: liveStatus(t), color: STATUS_COLOR[t.status], title: t.diagnosis ?? undefined },
    { text: t.status === "running" && t.epoch !== null ? `${t.epoch}/${t.epochsPlanned ?? "?"}` : t.epochs !== null ? String(t.epochs) : "-" },
    { text: metricText(t.value) },
    { text: t.runId ?? "-" },
  ]);
  const done = p.trials.filter((t) => t.status === "completed" || t.status === "failed").length;
  const running = p.trials.filter((t) => t.status === "running").length;
  const head = `sweep ${p.sweepId}: ${done}/${p.trials.length} finished, ${running} running`;
  return {
    "text/plain": `${head}\n${textTable(columns, cells)}`,
    "text/html": `<div class="tscolab-sweep"><div><b>${escapeHtml(head)}</b></div>${htmlTable(columns, cells, { sortable: false })}</div>`,
  };
}

const ORDER: Record<string, number> = { completed: 0, interrupted: 1, running: 1, pending: 2, failed: 3 };

/** Completed trials by objective (best first), then the unfinished, then the failed. */
export function rankTrials(r: Pick<SweepResult, "trials" | "mode">): TrialRecord[] {
  return [...r.trials].sort((a, b) => {
    const oa = ORDER[a.status] ?? 4;
    const ob = ORDER[b.status] ?? 4;
    if (oa !== ob) return oa - ob;
    if (a.value === null || b.value === null) return a.value === null ? (b.value === null ? 0 : 1) : -1;
    return r.mode === "min" ? a.value - b.value : b.value - a.value;
  });
}

function resultTable(r: SweepResult): { columns: Column[]; cells: Cell[][] } {
  const ranked = rankTrials(r);
  const metricNames = [...new Set(ranked.flatMap((t) => Object.keys(t.metrics)))].filter((m) => m !== r.objective).sort();
  const columns: Column[] = [
    { label: "rank", numeric: true },
    { label: "trial" },
    { label: "params" },
    { label: "status" },
    { label: "epochs", numeric: true },
    { label: `${r.objective} (${r.mode})`, numeric: true },
    ...metricNames.map((m) => ({ label: m, numeric: true })),
    { label: "time", numeric: true },
    { label: "run" },
  ];
  const cells = ranked.map((t, i): Cell[] => [
    { text: t.status === "completed" ? String(i + 1) : "-", sort: t.status === "completed" ? i + 1 : null },
    { text: t.name },
    { text: paramsText(t.params) },
    { text: t.status, color: STATUS_COLOR[t.status], title: t.diagnosis ?? undefined },
    { text: t.epochs === null ? "-" : String(t.epochs), sort: t.epochs },
    { text: t.status === "completed" ? metricText(t.value) : "-", sort: t.status === "completed" ? t.value : null, best: !!r.best && r.best.trial === t.name },
    ...metricNames.map((m): Cell => ({ text: metricText(t.metrics[m]), sort: t.metrics[m] ?? null })),
    { text: durationText(t.durationMs === null ? null : t.durationMs / 1000), sort: t.durationMs },
    { text: t.runId ?? "-" },
  ]);
  return { columns, cells };
}

function headline(r: SweepResult): string {
  const rest = r.trials.length - r.completed - r.failed;
  return (
    `sweep ${r.sweepId} ${r.status}: ${r.completed} completed, ${r.failed} failed${rest ? `, ${rest} not finished (resume: --resume ${r.sweepId})` : ""}` +
    (r.best ? `\nbest: ${r.best.trial} (${paramsText(r.best.params)}) ${r.objective} ${metricText(r.best.value)} — run ${r.best.runId}` : `\nno trial completed`)
  );
}

export function sweepText(r: SweepResult): string {
  const { columns, cells } = resultTable(r);
  const failures = r.trials.filter((t) => t.status === "failed" || t.status === "interrupted");
  return [
    headline(r),
    "",
    textTable(columns, cells),
    ...(failures.length ? ["", ...failures.map((t) => `${t.name} ${t.status}: ${t.diagnosis ?? "no diagnosis"}`)] : []),
    ...(r.notes.length ? ["", ...r.notes] : []),
    "",
    `record: ${r.sweepDir}/sweep.json`,
  ].join("\n");
}

export function sweepBundle(r: SweepResult): MimeBundle {
  const { columns, cells } = resultTable(r);
  const failures = r.trials.filter((t) => t.status === "failed" || t.status === "interrupted");
  const html =
    `<div class="tscolab-sweep"><div>${headline(r)
      .split("\n")
      .map((l, i) => (i === 0 ? `<b>${escapeHtml(l)}</b>` : escapeHtml(l)))
      .join("<br>")}</div>` +
    htmlTable(columns, cells) +
    (failures.length ? `<ul>${failures.map((t) => `<li><code>${escapeHtml(t.name)}</code> ${escapeHtml(t.status)}: ${escapeHtml(t.diagnosis ?? "")}</li>`).join("")}</ul>` : "") +
    (r.notes.length ? `<div>${r.notes.map(escapeHtml).join("<br>")}</div>` : "") +
    `<div>record: <code>${escapeHtml(r.sweepDir)}/sweep.json</code></div></div>`;
  return { "text/plain": sweepText(r), "text/html": html };
}
