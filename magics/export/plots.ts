// Training curves as standalone SVG (no plotting library, no browser): one
// chart per metric family, epochs on x. Used by the reproducibility bundle.
import { escapeHtml } from "../registry";

type Row = Record<string, unknown> & { epoch: number };

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];

/** Metric keys grouped into charts: losses together, then each validation metric family. */
export function chartGroups(rows: Row[]): { title: string; keys: string[] }[] {
  const numeric = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === "number" && Number.isFinite(v)) numeric.add(k);
  const groups: { title: string; keys: string[] }[] = [];
  const losses = ["loss", "val_loss"].filter((k) => numeric.has(k));
  if (losses.length) groups.push({ title: "loss", keys: losses });
  for (const base of ["accuracy", "mse", "mae", "pearson"]) {
    const keys = [base, `val_${base}`].filter((k) => numeric.has(k));
    if (keys.length) groups.push({ title: base, keys });
  }
  return groups;
}

export function lineChartSvg(rows: Row[], title: string, keys: string[], width = 480, height = 280): string {
  const pad = { l: 56, r: 16, t: 28, b: 36 };
  const pts = keys.map((k) => rows.filter((r) => typeof r[k] === "number" && Number.isFinite(r[k] as number)).map((r) => [r.epoch, r[k] as number] as const));
  const all = pts.flat();
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const lines = pts
    .map((p, i) => `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")}"/>`)
    .join("");
  const legend = keys.map((k, i) => `<text x="${pad.l + 8 + i * 110}" y="${pad.t - 10}" fill="${COLORS[i % COLORS.length]}" font-size="12">${escapeHtml(k)}</text>`).join("");
  const axis =
    `<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#444"/>` +
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#444"/>` +
    `<text x="${pad.l - 6}" y="${sy(y1) + 4}" font-size="11" text-anchor="end">${+y1.toPrecision(3)}</text>` +
    `<text x="${pad.l - 6}" y="${sy(y0) + 4}" font-size="11" text-anchor="end">${+y0.toPrecision(3)}</text>` +
    `<text x="${sx(x0)}" y="${height - pad.b + 16}" font-size="11" text-anchor="middle">${x0}</text>` +
    `<text x="${sx(x1)}" y="${height - pad.b + 16}" font-size="11" text-anchor="middle">${x1}</text>` +
    `<text x="${(width + pad.l) / 2}" y="${height - 6}" font-size="12" text-anchor="middle">epoch</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><title>${escapeHtml(title)}</title>${axis}${lines}${legend}</svg>\n`;
}

/** `plots/<title>.svg` for every chart the rows can draw. */
export function metricPlots(rows: Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (rows.length === 0) return out;
  for (const g of chartGroups(rows)) out[`plots/${g.title}.svg`] = lineChartSvg(rows, g.title, g.keys);
  return out;
}
