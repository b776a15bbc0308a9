// monitor(): the engine behind %monitor and `tscolab monitor`. Scores a
// candidate run on new data, compares it with a baseline run per metric,
// and measures drift of every input feature and of the model's outputs
// against the candidate's reference profile (profile.json). One status:
// ok, warn or fail; a JSON for CI and a Markdown report.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { TscolabError, UsageError } from "../errors";
import { encodeTruth, metricsOf, scoreData } from "../evaluate/evaluate";
import { COMPARED_METRICS, HIGHER_IS_BETTER, headlineMetrics, type EvaluationMetrics } from "../evaluate/metrics";
import { outputColumns } from "../evaluate/outputs";
import { readScoringTable } from "../evaluate/table";
import { stamp } from "../export/out_dir";
import { makeDirs } from "../store/durable_fs";
import { columnsOf, featureColumnNames, readRunProfile, type ReferenceProfile } from "./profile";
import { monitorMarkdown } from "./report";
import { ks, psi, type ColumnProfile } from "./stats";

export type Status = "ok" | "warn" | "fail";

export const DEFAULT_THRESHOLDS = {
  /** PSI at or above: warn / fail (the usual 0.1 and 0.25). */
  psiWarn: 0.1,
  psiFail: 0.25,
  /** KS statistic (largest CDF gap) at or above: warn / fail. */
  ksWarn: 0.1,
  ksFail: 0.2,
  /** A drift counts only when it is also significant at this level (KS p-value; PSI's χ² approximation). */
  alpha: 0.05,
};
export type DriftThresholds = typeof DEFAULT_THRESHOLDS;

/** Largest tolerated regression against the baseline: absolute for scores in [0, 1] (accuracy, F1, r, R²), relative to the baseline for errors (MSE, MAE, log loss). */
export const DEFAULT_MAX_REGRESSION = 0.02;

export const monitorOptions = z.object({
  candidate: z.string().min(1),
  baseline: z.string().min(1).optional(),
  data: z.string().min(1),
  checkpoint: z.enum(["best", "last"]).default("best"),
  maxRegression: z.number().min(0).default(DEFAULT_MAX_REGRESSION),
  thresholds: z
    .object({ psiWarn: z.number().min(0), psiFail: z.number().min(0), ksWarn: z.number().min(0).max(1), ksFail: z.number().min(0).max(1), alpha: z.number().gt(0).max(1) })
    .partial()
    .default({}),
  /** Folder for monitor.json and monitor.md; default <candidate run>/monitor/<time>. */
  out: z.string().optional(),
  drive: z.string().optional(),
  cwd: z.string().optional(),
});
export type MonitorOptions = z.input<typeof monitorOptions>;

export interface MetricComparison {
  metric: string;
  baseline: number;
  candidate: number;
  /** candidate − baseline. */
  delta: number;
  /** How much worse the candidate is (≤ 0: as good or better), in the unit `allowed` uses. */
  worseBy: number;
  allowed: number;
  relative: boolean;
  status: Status;
}

export interface DriftRow {
  name: string;
  kind: "input" | "output";
  referenceMean: number;
  currentMean: number;
  /** (current mean − reference mean) / reference std; null when the reference has no variance. */
  meanShift: number | null;
  psi: { value: number; bins: number; significant: boolean; noiseFloor: number; status: Status };
  ks: { statistic: number; pValue: number; status: Status };
  status: Status;
  note?: string;
}

export interface MonitorResult {
  status: Status;
  /** Why the status is not ok, one line each. */
  reasons: string[];
  notes: string[];
  candidate: Record<string, unknown>;
  baseline: Record<string, unknown> | null;
  data: string;
  rows: number;
  task: "classification" | "regression";
  metrics: EvaluationMetrics | null;
  comparison: MetricComparison[];
  drift: { inputs: DriftRow[]; outputs: DriftRow[] } | null;
  thresholds: DriftThresholds & { maxRegression: number };
  report: { json: string; markdown: string };
}

const ORDER: Record<Status, number> = { ok: 0, warn: 1, fail: 2 };
export const worst = (list: Status[]): Status => list.reduce<Status>((a, b) => (ORDER[b] > ORDER[a] ? b : a), "ok");

function compareMetrics(task: "classification" | "regression", baseline: EvaluationMetrics, candidate: EvaluationMetrics, maxRegression: number): MetricComparison[] {
  const b = headlineMetrics(baseline);
  const c = headlineMetrics(candidate);
  return COMPARED_METRICS[task].map((metric) => {
    const higher = HIGHER_IS_BETTER.has(metric);
    const delta = c[metric] - b[metric];
    const relative = !higher;
    const worseBy = higher ? b[metric] - c[metric] : (c[metric] - b[metric]) / Math.max(Math.abs(b[metric]), 1e-12);
    const status: Status = worseBy > maxRegression ? "fail" : worseBy > maxRegression / 2 ? "warn" : "ok";
    return { metric, baseline: b[metric], candidate: c[metric], delta, worseBy, allowed: maxRegression, relative, status };
  });
}

function driftRow(name: string, kind: DriftRow["kind"], ref: ColumnProfile, current: ArrayLike<number>, t: DriftThresholds): DriftRow {
  const p = psi(ref.sample, current);
  const k = ks(ref.sample, current);
  let sum = 0;
  for (let i = 0; i < current.length; i++) sum += current[i];
  const currentMean = current.length ? sum / current.length : 0;
  const psiStatus: Status = p.significant && p.value >= t.psiFail ? "fail" : p.significant && p.value >= t.psiWarn ? "warn" : "ok";
  const ksStatus: Status = k.pValue < t.alpha && k.statistic >= t.ksFail ? "fail" : k.pValue < t.alpha && k.statistic >= t.ksWarn ? "warn" : "ok";
  const constant = ref.std === 0;
  return {
    name,
    kind,
    referenceMean: ref.mean,
    currentMean,
    meanShift: constant ? null : (currentMean - ref.mean) / ref.std,
    psi: { ...p, status: psiStatus },
    ks: { ...k, status: ksStatus },
    status: worst([psiStatus, ksStatus]),
    ...(constant ? { note: `no variance in the reference (every training value is ${ref.min}): PSI over below / equal / above it, no mean shift in std units` } : {}),
  };
}

export async function monitor(options: MonitorOptions): Promise<MonitorResult> {
  const parsed = monitorOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${issue.path.join(".") || "options"}: ${issue.message}`);
  }
  const o = parsed.data;
  const cwd = o.cwd ?? process.cwd();
  const thresholds: DriftThresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
  if (thresholds.psiWarn > thresholds.psiFail) throw new UsageError(`--psi-warn ${thresholds.psiWarn} is above --psi-fail ${thresholds.psiFail}`);
  if (thresholds.ksWarn > thresholds.ksFail) throw new UsageError(`--ks-warn ${thresholds.ksWarn} is above --ks-fail ${thresholds.ksFail}`);
  const reasons: string[] = [];
  const notes: string[] = [];

  const cand = await scoreData({ run: o.candidate, checkpoint: o.checkpoint, data: o.data, drive: o.drive, cwd }, false);
  try {
    const { scoring, table, outputs } = cand;
    const labelled = table.labels !== null;
    if (!labelled) notes.push(`${table.source} has no label column "${scoring.label}": evaluation and the baseline comparison are skipped, drift is measured`);
    const truth = labelled ? encodeTruth(scoring, table) : null;
    const metrics = truth ? metricsOf(scoring, outputs, truth) : null;

    // Baseline: the same rows, scored by the baseline run; a run of another task (or other classes) is refused.
    let comparison: MetricComparison[] = [];
    let baselineInfo: Record<string, unknown> | null = null;
    if (o.baseline) {
      const base = await scoreData({ run: o.baseline, checkpoint: o.checkpoint, data: o.data, drive: o.drive, cwd }, false);
      try {
        const b = base.scoring;
        baselineInfo = b.describe;
        if (b.task !== scoring.task)
          throw new TscolabError(
            `baseline ${String(b.describe.runId)} is a ${b.task} run but candidate ${String(scoring.describe.runId)} is ${scoring.task}`,
            "compare against a baseline trained for the same task",
          );
        if (JSON.stringify(b.labels) !== JSON.stringify(scoring.labels))
          throw new TscolabError(
            `baseline ${String(b.describe.runId)} predicts classes (${b.labels?.join(", ")}) but candidate ${String(scoring.describe.runId)} predicts (${scoring.labels?.join(", ")})`,
            "compare against a baseline trained on the same classes",
          );
        if (metrics) {
          const baseMetrics = metricsOf(b, base.outputs, encodeTruth(b, base.table));
          comparison = compareMetrics(scoring.task, baseMetrics, metrics, o.maxRegression);
          for (const c of comparison.filter((c) => c.status !== "ok"))
            reasons.push(
              `${c.metric} ${c.status === "fail" ? "regressed" : "slipped"}: ${fmt(c.candidate)} vs baseline ${fmt(c.baseline)} (worse by ${c.relative ? `${(c.worseBy * 100).toFixed(1)}%` : fmt(c.worseBy)}, allowed ${c.relative ? `${(c.allowed * 100).toFixed(1)}%` : fmt(c.allowed)})`,
            );
        }
      } finally {
        base.scoring.dispose();
      }
    }

    // Drift against the candidate's reference profile.
    const profile: ReferenceProfile | null = scoring.runDir ? await readRunProfile(scoring.runDir) : null;
    let drift: MonitorResult["drift"] = null;
    if (!profile) {
      reasons.push(`candidate ${String(scoring.describe.runId)} has no reference profile (profile.json): drift not measured; retrain or resume it to completion to record one`);
    } else {
      const names = featureColumnNames({ features: scoring.features, inputShape: scoring.inputShape });
      const current = columnsOf(table.x, table.rows, names.length, names);
      const byName = new Map(profile.inputs.features.map((f) => [f.name, f]));
      const inputs = current.filter((c) => byName.has(c.name)).map((c) => driftRow(c.name, "input", byName.get(c.name)!, c.values, thresholds));
      const outRef = new Map((profile.outputs?.columns ?? []).map((f) => [f.name, f]));
      const outCols = outputColumns(outputs, scoring.labels);
      const outs = outCols.filter((c) => outRef.has(c.name)).map((c) => driftRow(c.name, "output", outRef.get(c.name)!, c.values, thresholds));
      if (profile.outputs && profile.outputs.checkpoint !== o.checkpoint)
        notes.push(`the reference outputs come from the run's ${profile.outputs.checkpoint} checkpoint; these outputs from its ${o.checkpoint}`);
      drift = { inputs, outputs: outs };
      for (const d of [...inputs, ...outs].filter((d) => d.status !== "ok"))
        reasons.push(
          `${d.kind} ${d.name} drifted (${d.status}): PSI ${fmt(d.psi.value)}, KS ${fmt(d.ks.statistic)} (p ${d.ks.pValue.toExponential(1)})${d.meanShift === null ? "" : `, mean shift ${d.meanShift.toFixed(2)} std`}`,
        );
    }

    const status = worst([...comparison.map((c) => c.status), ...(drift ? [...drift.inputs, ...drift.outputs].map((d) => d.status) : []), profile ? "ok" : "warn"]);
    const out = o.out ? path.resolve(cwd, o.out) : path.join(scoring.runDir!, "monitor", stamp());
    const result: MonitorResult = {
      status,
      reasons,
      notes,
      candidate: scoring.describe,
      baseline: baselineInfo,
      data: table.source,
      rows: table.rows,
      task: scoring.task,
      metrics,
      comparison,
      drift,
      thresholds: { ...thresholds, maxRegression: o.maxRegression },
      report: { json: path.join(out, "monitor.json"), markdown: path.join(out, "monitor.md") },
    };
    makeDirs(out);
    await fs.promises.writeFile(result.report.json, JSON.stringify(result, null, 2) + "\n");
    await fs.promises.writeFile(result.report.markdown, monitorMarkdown(result));
    return result;
  } finally {
    cand.scoring.dispose();
  }
}

export const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));
