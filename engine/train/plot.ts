// A small SVG line plot of the per-epoch history (loss and validation
// metrics): no plotting library, no network, renders in any notebook. A
// loss that spans more than two decades is drawn on a log axis.
import { escapeHtml } from "../util/html";
import { axisStep, CHAR_W, panelScale, tickLabel } from "../util/plot_scale";
import type { Task } from "../data/schema";
import type { EpochRow } from "./progress";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];

interface Series {
  name: string;
  points: [number, number][];
}

function panel(title: string, series: Series[], x0: number, width: number, height: number): string {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) return "";
  const xs = all.map(([x]) => x);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const scale = panelScale(all.map(([, y]) => y));
  const step = axisStep(scale);
  const labels = scale.ticks.map((t) => tickLabel(t, step, scale.log));
  // The left margin fits the longest tick label, so small values are never clipped.
  const pad = { l: Math.ceil(Math.max(...labels.map((l) => l.length)) * CHAR_W) + 8, r: 8, t: 18, b: 24 };
  const f = (v: number) => (scale.log ? Math.log10(v) : v);
  const sx = (x: number) => x0 + pad.l + ((x - xMin) / (xMax - xMin)) * (width - pad.l - pad.r);
  const sy = (y: number) => pad.t + (1 - (f(y) - f(scale.min)) / (f(scale.max) - f(scale.min))) * (height - pad.t - pad.b);
  const lines = series
    .map((s, i) => {
      const pts = s.points.filter(([, y]) => Number.isFinite(y));
      if (!pts.length) return "";
      const d = pts.map(([x, y], k) => `${k ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      const dots = pts.length === 1 ? `<circle cx="${sx(pts[0][0]).toFixed(1)}" cy="${sy(pts[0][1]).toFixed(1)}" r="2.5" fill="${COLORS[i % 4]}"/>` : "";
      return (
        `<path d="${d}" fill="none" stroke="${COLORS[i % 4]}" stroke-width="1.8"/>${dots}` +
        `<text x="${x0 + pad.l + 6 + i * 90}" y="12" font-size="11" fill="${COLORS[i % 4]}">${escapeHtml(s.name)}</text>`
      );
    })
    .join("");
  const ticks = scale.ticks
    .map(
      (t, i) =>
        `<line x1="${x0 + pad.l}" x2="${x0 + width - pad.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>` +
        `<text class="tick" x="${x0 + pad.l - 4}" y="${(sy(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${labels[i]}</text>`,
    )
    .join("");
  const axes =
    ticks +
    `<line x1="${x0 + pad.l}" y1="${height - pad.b}" x2="${x0 + width - pad.r}" y2="${height - pad.b}" stroke="#999"/>` +
    `<line x1="${x0 + pad.l}" y1="${pad.t}" x2="${x0 + pad.l}" y2="${height - pad.b}" stroke="#999"/>` +
    `<text x="${x0 + pad.l}" y="${height - 8}" font-size="10">epoch ${xMin}</text>` +
    `<text x="${x0 + width - pad.r}" y="${height - 8}" font-size="10" text-anchor="end">${escapeHtml(title)}${scale.log ? " (log)" : ""} · epoch ${xMax}</text>`;
  return `<g class="panel" data-metric="${escapeHtml(title)}" data-scale="${scale.log ? "log" : "linear"}">${axes}${lines}</g>`;
}

/** Loss (train and validation) on the left, the task's validation metric on the right. */
export function historySvg(history: EpochRow[], task: Task): string {
  if (history.length === 0) return "";
  const col = (key: string): [number, number][] => history.filter((r) => typeof r[key] === "number").map((r) => [r.epoch, r[key]]);
  const metric = task === "regression" ? "val_pearson" : task === "language-modeling" ? "val_perplexity" : "val_accuracy";
  const w = 300;
  const h = 170;
  const left = panel(
    "loss",
    [
      { name: "loss", points: col("loss") },
      { name: "val_loss", points: col("val_loss") },
    ],
    0,
    w,
    h,
  );
  const right = panel(metric, [{ name: metric, points: col(metric) }], w, w, h);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${h}" viewBox="0 0 ${2 * w} ${h}" font-family="sans-serif">${left}${right}</svg>`;
}
