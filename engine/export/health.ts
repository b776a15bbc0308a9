// The export's health report: every check with name, status, message and
// details; healthScore = (passed + 0.5 · warnings) / total · 100; written as
// DIR/health_report.json and DIR/health_report.md.
import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { architectureSummary, parameterStats, type ArchitectureSummary, type ParameterStats } from "./architecture";
import { recommendation, type Recommendation } from "./recommend";

export const checkStatus = z.enum(["passed", "warning", "failed"]);
export type CheckStatus = z.infer<typeof checkStatus>;

export const healthCheck = z.object({
  name: z.string(),
  status: checkStatus,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).default({}),
  /** Wall time the check's work took. */
  durationMs: z.number().optional(),
});
export type HealthCheck = z.infer<typeof healthCheck>;

export function check(name: string, status: CheckStatus, message: string, details: Record<string, unknown> = {}, durationMs?: number): HealthCheck {
  return durationMs === undefined ? { name, status, message, details } : { name, status, message, details, durationMs: Math.round(durationMs * 100) / 100 };
}

/**
 * Times consecutive pieces of work: each call returns the milliseconds since
 * the previous one (or since the stopwatch started), for the check that work
 * produced.
 */
export function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = now - last;
    last = now;
    return ms;
  };
}

export function healthScore(checks: HealthCheck[]): number {
  if (!checks.length) return 0;
  const passed = checks.filter((c) => c.status === "passed").length;
  const warnings = checks.filter((c) => c.status === "warning").length;
  return ((passed + 0.5 * warnings) / checks.length) * 100;
}

/** The worst status among checks: one failure fails the whole. */
export function worstStatus(checks: HealthCheck[]): CheckStatus {
  if (checks.some((c) => c.status === "failed")) return "failed";
  if (checks.some((c) => c.status === "warning")) return "warning";
  return "passed";
}

export const formatSummary = z.object({
  path: z.string().nullable(),
  bytes: z.number().nullable(),
  weightBytes: z.number().nullable(),
  maxAbsDiff: z.number().nullable(),
  maxRelDiff: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  status: checkStatus,
});
export type FormatSummary = z.infer<typeof formatSummary>;

export const healthReport = z.object({
  tool: z.string(),
  createdAt: z.string(),
  out: z.string(),
  source: z.record(z.string(), z.unknown()),
  environment: z.record(z.string(), z.unknown()),
  formats: z.record(z.string(), formatSummary),
  counts: z.object({ passed: z.number(), warning: z.number(), failed: z.number(), total: z.number() }),
  healthScore: z.number(),
  status: checkStatus,
  checks: z.array(healthCheck),
  architecture: architectureSummary.optional(),
  parameterStats: parameterStats.optional(),
  recommendations: z.array(recommendation).default([]),
});
export type HealthReport = z.infer<typeof healthReport>;

export function countChecks(checks: HealthCheck[]): HealthReport["counts"] {
  return {
    passed: checks.filter((c) => c.status === "passed").length,
    warning: checks.filter((c) => c.status === "warning").length,
    failed: checks.filter((c) => c.status === "failed").length,
    total: checks.length,
  };
}

const ICON: Record<CheckStatus, string> = { passed: "✅", warning: "⚠️", failed: "❌" };

export function fmtNumber(v: number | null | undefined, digits = 3): string {
  if (v == null || Number.isNaN(v)) return "–";
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 0.01 && Math.abs(v) < 1e6 ? v.toFixed(digits) : v.toExponential(2);
}

export function fmtBytes(n: number | null | undefined): string {
  if (n == null) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function healthMarkdown(r: HealthReport): string {
  const lines = [
    `# Export health report`,
    ``,
    `- health score: **${fmtNumber(r.healthScore, 1)}** (${r.counts.passed} passed, ${r.counts.warning} warnings, ${r.counts.failed} failed of ${r.counts.total}; score = (passed + 0.5 · warnings) / total · 100)`,
    `- status: **${r.status}**`,
    `- source: ${mdCell(
      Object.entries(r.source)
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(", "),
    )}`,
    `- created: ${r.createdAt} by ${r.tool}`,
    ``,
    `## Formats`,
    ``,
    `| format | status | path | size | weights | max abs diff | max rel diff | p50 ms | p95 ms |`,
    `| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...Object.entries(r.formats).map(
      ([name, f]) =>
        `| ${name} | ${ICON[f.status]} ${f.status} | ${f.path ? mdCell(path.relative(r.out, f.path) || ".") : "–"} | ${fmtBytes(f.bytes)} | ${fmtBytes(f.weightBytes)} | ${fmtNumber(f.maxAbsDiff)} | ${fmtNumber(f.maxRelDiff)} | ${fmtNumber(f.p50Ms)} | ${fmtNumber(f.p95Ms)} |`,
    ),
    ``,
    `## Checks`,
    ``,
    `| check | status | ms | message |`,
    `| --- | --- | ---: | --- |`,
    ...r.checks.map((c) => `| ${mdCell(c.name)} | ${ICON[c.status]} ${c.status} | ${fmtNumber(c.durationMs, 1)} | ${mdCell(c.message)} |`),
    ``,
    ...recommendationsMarkdown(r.recommendations ?? []),
    ...(r.architecture ? architectureMarkdown(r.architecture) : []),
    ...(r.parameterStats ? parameterMarkdown(r.parameterStats) : []),
  ];
  return lines.join("\n");
}

export async function writeHealthReport(dir: string, report: HealthReport): Promise<{ json: string; md: string }> {
  const json = path.join(dir, "health_report.json");
  const md = path.join(dir, "health_report.md");
  await fs.writeFile(json, JSON.stringify(healthReport.parse(report), null, 2) + "\n");
  await fs.writeFile(md, healthMarkdown(report));
  return { json, md };
}

function recommendationsMarkdown(recs: Recommendation[]): string[] {
  if (!recs.length) return [];
  return [`## Recommendations`, ``, ...recs.map((r) => `- **${r.severity}**: ${r.message}${r.checks.length ? ` (${r.checks.join(", ")})` : ""}`), ``];
}

function architectureMarkdown(a: ArchitectureSummary): string[] {
  const shapes = (list: (number | null)[][]) => list.map((s) => `[${s.map((d) => d ?? "?").join(", ")}]`).join(", ");
  return [
    `## Architecture`,
    ``,
    `- ${a.layers} layers: ${Object.entries(a.byClass)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ")}`,
    `- input ${shapes(a.inputShapes)} → output ${shapes(a.outputShapes)}`,
    `- parameters: ${a.parameters.total} (${a.parameters.trainable} trainable, ${a.parameters.nonTrainable} non-trainable)`,
    `- inputs: ${a.rawInputs}`,
    ``,
  ];
}

function parameterMarkdown(p: ParameterStats): string[] {
  return [
    `## Parameter statistics`,
    ``,
    `| weight | shape | count | mean | std | min | max | zeros | non-finite |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...p.weights.map(
      (w) =>
        `| ${mdCell(w.name)} | [${w.shape.join(", ")}] | ${w.count} | ${fmtNumber(w.mean, 4)} | ${fmtNumber(w.std, 4)} | ${fmtNumber(w.min, 4)} | ${fmtNumber(w.max, 4)} | ${w.zeros} | ${w.nonFinite} |`,
    ),
    `| **all** | | ${p.total} | ${fmtNumber(p.mean, 4)} | ${fmtNumber(p.std, 4)} | ${fmtNumber(p.min, 4)} | ${fmtNumber(p.max, 4)} | ${p.zeros} | ${p.nonFinite} |`,
    ``,
  ];
}
