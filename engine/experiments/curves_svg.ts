// Learning curves of several runs overlaid: one panel per metric, every run
// in its own colour on the same axes, the epoch range shared by all panels.
// A panel whose values span more than two decades gets a log axis; the left
// margin is sized to the longest tick label, so 0.000581 is never clipped.
import { escapeHtml } from "../util/html";
import { axisStep, niceStep, panelScale, tickLabel, CHAR_W } from "../util/plot_scale";

export const RUN_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export interface CurveRun {
  label: string;
  /** One row per epoch: `epoch` plus metric values. */
  rows: Record<string, unknown>[];
}

/** Overlaid curves of `runs` for each metric in `metrics` (panels with no data are left out); "" when nothing to draw. */
export function curvesSvg(runs: CurveRun[], metrics: string[], opts: { panelWidth?: number; panelHeight?: number; columns?: number } = {}): string {
  const pw = opts.panelWidth ?? 380;
  const ph = opts.panelHeight ?? 240;
  const points = (run: CurveRun, metric: string): [number, number][] =>
    run.rows
      .filter((r) => typeof r.epoch === "number" && typeof r[metric] === "number" && Number.isFinite(r[metric] as number))
      .map((r) => [r.epoch as number, r[metric] as number]);
  const drawn = metrics.filter((m) => runs.some((r) => points(r, m).length > 0));
  if (!drawn.length) return "";
  const epochs = runs.flatMap((r) => r.rows.map((row) => row.epoch)).filter((e): e is number => typeof e === "number");
  const xMin = Math.min(...epochs);
  const xMax = Math.max(...epochs, xMin + 1);
  const xStep = Math.max(1, Math.round(niceStep(xMax - xMin)));
  const xTicks: number[] = [];
  for (let t = Math.ceil(xMin / xStep) * xStep; t <= xMax; t += xStep) xTicks.push(t);
  if (!xTicks.length || xTicks[0]! - xMin >= xStep / 2) xTicks.unshift(xMin);

  const cols = Math.min(opts.columns ?? 2, drawn.length);
  // Legend: one run per line, as long as the figure is wide.
  const legendRowH = 16;
  const maxChars = Math.floor((cols * pw - 40) / 6.5);
  const legendH = runs.length * legendRowH + 8;
  const legend = runs
    .map((r, i) => {
      const y = 14 + i * legendRowH;
      const label = r.label.length > maxChars ? `${r.label.slice(0, maxChars - 1)}…` : r.label;
      return `<rect x="10" y="${y - 6}" width="16" height="4" fill="${RUN_COLORS[i % RUN_COLORS.length]}"/><text x="32" y="${y}" font-size="11"><title>${escapeHtml(r.label)}</title>${escapeHtml(label)}</text>`;
    })
    .join("");

  const panels = drawn.map((metric, k) => {
    const ox = (k % cols) * pw;
    const oy = legendH + Math.floor(k / cols) * ph;
    const series = runs.map((r) => points(r, metric));
    const scale = panelScale(series.flat().map(([, y]) => y));
    const step = axisStep(scale);
    const labels = scale.ticks.map((t) => tickLabel(t, step, scale.log));
    const pad = { l: Math.ceil(Math.max(...labels.map((l) => l.length)) * CHAR_W) + 26, r: 12, t: 22, b: 34 };
    const x0 = ox + pad.l;
    const x1 = ox + pw - pad.r;
    const y0 = oy + pad.t;
    const y1 = oy + ph - pad.b;
    const sx = (x: number) => x0 + ((x - xMin) / (xMax - xMin)) * (x1 - x0);
    const f = (v: number) => (scale.log ? Math.log10(v) : v);
    const sy = (y: number) => y1 - ((f(y) - f(scale.min)) / (f(scale.max) - f(scale.min))) * (y1 - y0);
    const grid = scale.ticks
      .map(
        (t, i) =>
          `<line x1="${x0}" x2="${x1}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/><text x="${x0 - 4}" y="${(sy(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${labels[i]}</text>`,
      )
      .join("");
    const xAxis = xTicks
      .map(
        (t) =>
          `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${y1}" y2="${y1 + 4}" stroke="#999"/><text x="${sx(t).toFixed(1)}" y="${y1 + 15}" font-size="10" text-anchor="middle">${t}</text>`,
      )
      .join("");
    const lines = series
      .map((pts, i) => {
        if (!pts.length) return "";
        const color = RUN_COLORS[i % RUN_COLORS.length];
        if (pts.length === 1) return `<circle cx="${sx(pts[0]![0]).toFixed(1)}" cy="${sy(pts[0]![1]).toFixed(1)}" r="3" fill="${color}"/>`;
        const d = pts.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
        return `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`;
      })
      .join("");
    const cy = (y0 + y1) / 2;
    return (
      `<g class="panel" data-metric="${escapeHtml(metric)}" data-scale="${scale.log ? "log" : "linear"}">` +
      `<text x="${ox + pw / 2}" y="${oy + 14}" font-size="12" text-anchor="middle" font-weight="bold">${escapeHtml(metric)}${scale.log ? " (log scale)" : ""}</text>` +
      grid +
      `<line x1="${x0}" y1="${y1}" x2="${x1}" y2="${y1}" stroke="#999"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#999"/>` +
      xAxis +
      `<text x="${(x0 + x1) / 2}" y="${oy + ph - 6}" font-size="10" text-anchor="middle">epoch</text>` +
      `<text x="${ox + 10}" y="${cy}" font-size="10" text-anchor="middle" transform="rotate(-90 ${ox + 10} ${cy})">${escapeHtml(metric)}</text>` +
      lines +
      `</g>`
    );
  });
  const width = cols * pw;
  const height = legendH + Math.ceil(drawn.length / cols) * ph;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${legend}${panels.join("")}</svg>`;
}
