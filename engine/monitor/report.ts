// monitor.md: the monitor result as a Markdown report (a CI job can post it
// as a comment or a job summary).
import type { DriftRow, MonitorResult, Status } from "./monitor";

const ICON: Record<Status, string> = { ok: "✅", warn: "⚠️", fail: "❌" };
const f = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));
const cell = (s: string) => s.replace(/\|/g, "\\|");

function driftTable(rows: DriftRow[]): string[] {
  return [
    `| ${rows[0]?.kind === "output" ? "output" : "feature"} | status | PSI | KS | KS p | reference mean | current mean | shift (std) |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map(
      (d) =>
        `| ${cell(d.name)} | ${ICON[d.status]} ${d.status} | ${f(d.psi.value)}${d.psi.significant ? "" : "ⁿ"} | ${f(d.ks.statistic)} | ${d.ks.pValue.toExponential(1)} | ${f(d.referenceMean)} | ${f(d.currentMean)} | ${d.meanShift === null ? "n/a" : d.meanShift.toFixed(2)} |`,
    ),
    ...rows.filter((d) => d.note).map((d) => `- ${cell(d.name)}: ${d.note}`),
  ];
}

export function monitorMarkdown(r: MonitorResult): string {
  const t = r.thresholds;
  const id = (s: Record<string, unknown> | null) => (s ? `${String(s.runId ?? s.modelJson)} (${String(s.checkpoint ?? "")} step ${String(s.step ?? "?")})` : "none");
  const lines = [
    `# Monitor report: ${ICON[r.status]} ${r.status}`,
    ``,
    `- candidate: ${id(r.candidate)}`,
    `- baseline: ${id(r.baseline)}`,
    `- data: ${r.data} (${r.rows} rows)`,
    `- thresholds: PSI warn ${t.psiWarn} / fail ${t.psiFail}, KS warn ${t.ksWarn} / fail ${t.ksFail} (each only when significant at α = ${t.alpha}), max regression ${t.maxRegression}`,
    ``,
    ...(r.reasons.length ? [`## Why`, ``, ...r.reasons.map((x) => `- ${x}`), ``] : []),
    ...(r.notes.length ? [`## Notes`, ``, ...r.notes.map((x) => `- ${x}`), ``] : []),
  ];
  if (r.metrics) {
    const headline = Object.entries(r.metrics).filter(([, v]) => typeof v === "number") as [string, number][];
    lines.push(`## Evaluation`, ``, `| metric | value |`, `| --- | ---: |`, ...headline.map(([k, v]) => `| ${k} | ${f(v)} |`), ``);
  }
  if (r.comparison.length) {
    lines.push(
      `## Baseline comparison`,
      ``,
      `| metric | baseline | candidate | delta | status |`,
      `| --- | ---: | ---: | ---: | --- |`,
      ...r.comparison.map((c) => `| ${c.metric} | ${f(c.baseline)} | ${f(c.candidate)} | ${c.delta >= 0 ? "+" : ""}${f(c.delta)} | ${ICON[c.status]} ${c.status} |`),
      ``,
    );
  }
  if (r.drift) {
    lines.push(`## Input drift`, ``, ...driftTable(r.drift.inputs), ``);
    if (r.drift.outputs.length) lines.push(`## Output drift`, ``, ...driftTable(r.drift.outputs), ``);
    lines.push(`ⁿ: PSI not significant at α = ${t.alpha} for these sample sizes (its noise floor is (bins − 1)(1/n + 1/m)).`, ``);
  }
  return lines.join("\n");
}
