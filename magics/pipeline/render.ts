// %pipeline rendering: a live table (one row per stage: status, the fold and
// epoch it is at, its out-of-fold metrics once done) updated in place, then
// the result: every stage's out-of-fold metrics beside the mean ± spread of
// its folds, and the final stage's.
import { escapeHtml } from "../../engine/util/html";
import type { PipelineProgress, PipelineResult, StageView } from "../../engine/pipeline";
import type { StageRecord } from "../../engine/pipeline";
import type { MimeBundle } from "../types";
import { htmlTable, metricText, textTable, type Cell, type Column } from "../runs/table";
import { formatDuration } from "../train/render";

const STATUS_COLOR: Record<string, string> = { completed: "#1a7f37", failed: "#cf222e", stopped: "#9a6700", running: "#0969da", pending: "#888" };
const ORDER = ["val_loss", "val_accuracy", "val_mse", "val_mae", "val_pearson"];

function metricNames(stages: StageRecord[]): string[] {
  const names = new Set(stages.flatMap((s) => Object.keys(s.metrics)));
  return ORDER.filter((m) => names.has(m));
}

/** Which value of a metric is best: accuracy and Pearson r up, losses and errors down. */
const higher = (m: string) => m === "val_accuracy" || m === "val_pearson";

function stageStatus(s: StageRecord & Partial<Pick<StageView, "fold" | "epoch" | "epochs">>, folds: number): string {
  if (s.status !== "running" || !s.fold) return s.status;
  return `fold ${s.fold}/${folds}${s.epochs ? `, epoch ${s.epoch ?? 0}/${s.epochs}` : ""}`;
}

function table(stages: (StageRecord & Partial<Pick<StageView, "fold" | "epoch" | "epochs">>)[], folds: number): { columns: Column[]; cells: Cell[][] } {
  const names = metricNames(stages);
  const hasTest = stages.some((s) => s.test);
  const columns: Column[] = [
    { label: "stage" },
    { label: "inputs" },
    { label: "status" },
    ...names.map((m) => ({ label: `OOF ${m}`, numeric: true })),
    ...names.map((m) => ({ label: `folds ${m} (mean ± sd)`, numeric: true })),
    ...(hasTest ? names.map((m) => ({ label: `test ${m}`, numeric: true })) : []),
    { label: "run" },
  ];
  const best = new Map(
    names.map((m) => {
      const values = stages.map((s) => s.metrics[m]).filter((v): v is number => typeof v === "number");
      return [m, values.length > 1 ? (higher(m) ? Math.max(...values) : Math.min(...values)) : undefined];
    }),
  );
  const cells = stages.map((s): Cell[] => [
    { text: s.name },
    { text: s.inputs.length ? s.inputs.join(", ") : "-" },
    { text: stageStatus(s, folds), color: STATUS_COLOR[s.status], title: s.diagnosis ?? undefined },
    ...names.map((m) => ({ text: metricText(s.metrics[m]), best: s.metrics[m] !== undefined && s.metrics[m] === best.get(m) })),
    ...names.map((m) => ({ text: s.mean[m] === undefined ? "-" : `${metricText(s.mean[m])} ± ${metricText(s.std[m] ?? 0)}` })),
    ...(hasTest ? names.map((m) => ({ text: metricText(s.test?.[m]) })) : []),
    { text: s.runId ?? "-" },
  ]);
  return { columns, cells };
}

export function progressBundle(p: PipelineProgress): MimeBundle {
  const { columns, cells } = table(p.stages, p.folds);
  const done = p.stages.filter((s) => s.status === "completed").length;
  const head = `pipeline ${p.pipelineId}: ${done}/${p.stages.length} stages completed, ${p.folds} folds each`;
  return {
    "text/plain": `${head}\n${textTable(columns, cells)}`,
    "text/html": `<div class="tscolab-pipeline"><div><b>${escapeHtml(head)}</b></div>${htmlTable(columns, cells, { sortable: false })}</div>`,
  };
}

export function pipelineText(r: PipelineResult): string {
  const { columns, cells } = table(r.stages, r.folds);
  const lines = [`pipeline ${r.pipelineId}: ${r.status}, ${r.stages.length} stage(s), ${r.folds} folds each, in ${formatDuration(r.durationMs)}`];
  if (r.diagnosis) lines.push(`  ${r.diagnosis}`);
  lines.push(
    ...textTable(columns, cells)
      .split("\n")
      .map((l) => `  ${l}`),
  );
  if (r.final)
    lines.push(
      `  final stage ${r.final.stage}: out-of-fold ${Object.entries(r.final.metrics)
        .map(([m, v]) => `${m} ${metricText(v)}`)
        .join(", ")} (run ${r.final.runId})`,
    );
  for (const n of r.notes) lines.push(`  ${n}`);
  lines.push(`  pipeline folder: ${r.pipelineDir}`);
  return lines.join("\n");
}

export function pipelineBundle(r: PipelineResult): MimeBundle {
  const { columns, cells } = table(r.stages, r.folds);
  const html =
    `<div class="tscolab-pipeline"><b>pipeline ${escapeHtml(r.pipelineId)}</b>: ${escapeHtml(r.status)}, ${r.stages.length} stage(s), ${r.folds} folds each, ${formatDuration(r.durationMs)}` +
    (r.diagnosis ? `<div style="color:#c33">${escapeHtml(r.diagnosis)}</div>` : "") +
    htmlTable(columns, cells, { sortable: false }) +
    (r.final ? `<div>final stage <b>${escapeHtml(r.final.stage)}</b>: run <code>${escapeHtml(r.final.runId)}</code></div>` : "") +
    r.notes.map((n) => `<div style="color:#555">${escapeHtml(n)}</div>`).join("") +
    `<div><code>${escapeHtml(r.pipelineDir)}</code></div></div>`;
  return { "text/plain": pipelineText(r), "text/html": html };
}
