// %compare rendering: config keys that differ, final and best metrics side by
// side with deltas against the first run, then the overlaid learning curves.
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { CompareResult } from "../../engine/experiments/compare";
import { htmlTable, metricText, paramsText, textTable, type Cell, type Column } from "../runs/table";

const valueText = (v: unknown) => (v === null || v === undefined ? "-" : typeof v === "string" ? v : JSON.stringify(v));

function deltaText(d: number | null): string {
  if (d === null || !Number.isFinite(d)) return "";
  return d === 0 ? "±0" : `${d > 0 ? "+" : ""}${metricText(d)}`;
}

function tables(r: CompareResult) {
  const ids = r.runs.map((x) => x.runId);
  const runCols: Column[] = r.runs.map((x, i) => ({ label: i === 0 ? `${x.runId} (baseline)` : x.runId }));
  const config: Cell[][] = Object.entries(r.configDiff).map(([key, byRun]) => [{ text: key }, ...ids.map((id) => ({ text: valueText(byRun[id]) }))]);
  const metrics: Cell[][] = Object.keys(r.metrics).map((name) => [
    { text: name },
    ...ids.map((id, i): Cell => {
      const v = r.metrics[name]![id] ?? null;
      const b = r.best[name]![id];
      const delta = i === 0 ? "" : deltaText(r.deltas[name]![id] ?? null);
      const bestPart = b ? ` (best ${metricText(b.value)} @${b.epoch})` : "";
      return { text: `${metricText(v)}${delta ? ` ${delta}` : ""}${bestPart}`, sort: v, best: r.winner[name] === id && ids.length > 1 };
    }),
  ]);
  return { runCols, config, metrics };
}

export function compareText(r: CompareResult): string {
  const { runCols, config, metrics } = tables(r);
  const runs = r.runs.map(
    (x, i) => `  ${i === 0 ? "baseline " : "         "}${x.runId}  ${x.status}, ${x.epochs} epoch(s)${x.sweepParams ? `, ${paramsText(x.sweepParams)}` : ""}`,
  );
  return [
    `Comparing ${r.runs.length} runs:`,
    ...runs,
    "",
    config.length ? `Config keys that differ:\n${textTable([{ label: "key" }, ...runCols], config)}` : "Config: no key differs.",
    "",
    `Metrics: final, delta against the baseline, (best over epochs @epoch); * best final value:\n${textTable([{ label: "metric" }, ...runCols], metrics)}`,
    ...(r.out ? ["", `Learning curves: ${r.out}`] : ["", "Learning curves: in the notebook, or write them with --out FILE.svg"]),
  ].join("\n");
}

export function compareBundle(r: CompareResult): MimeBundle {
  const { runCols, config, metrics } = tables(r);
  const html =
    `<div class="tscolab-compare">` +
    `<div><b>Comparing ${r.runs.length} runs</b> · deltas against <code>${escapeHtml(r.baseline)}</code> · <span style="background:#d4f7d4;font-weight:bold">★ best</span> final value</div>` +
    (config.length ? `<div><b>Config keys that differ</b></div>${htmlTable([{ label: "key" }, ...runCols], config, { sortable: false })}` : `<div>Config: no key differs.</div>`) +
    `<div><b>Metrics</b>: final, delta, (best over epochs @epoch)</div>${htmlTable([{ label: "metric" }, ...runCols], metrics, { sortable: false })}` +
    (r.svg ?? "") +
    (r.out ? `<div>SVG: <code>${escapeHtml(r.out)}</code></div>` : "") +
    `</div>`;
  return { "text/plain": compareText(r), "text/html": html };
}
