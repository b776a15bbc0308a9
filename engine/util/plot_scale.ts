// The y axis of a line plot: a linear scale with round ticks, or a log scale
// (one tick per decade) when every value is positive and they span more than
// two decades, with tick labels short enough to read and long enough to tell
// apart. Both the training plot and the run comparison draw with it.

export interface PanelScale {
  log: boolean;
  min: number;
  max: number;
  ticks: number[];
}

export const CHAR_W = 6.2; // px per character at font-size 10, sans-serif (generous)

/** A round step near `span / 4`: 1, 2 or 5 times a power of ten. */
export function niceStep(span: number): number {
  const raw = span / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Tick label: short, but with enough digits to tell neighbouring ticks apart. */
export function tickLabel(v: number, step: number, log: boolean): string {
  if (v === 0) return "0";
  if (log) return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(0).replace("e+", "e");
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return Math.abs(v) >= 1e6 || (decimals > 6 && Math.abs(v) < 1e-6) ? v.toExponential(2) : v.toFixed(decimals);
}

/** The y scale of one panel: log when every value is positive and max/min > 100. */
export function panelScale(values: number[]): PanelScale {
  const vs = values.filter(Number.isFinite);
  let min = Math.min(...vs);
  let max = Math.max(...vs);
  if (min > 0 && max / min > 100) {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.ceil(Math.log10(max));
    // Number("1e-4") is exactly 0.0001, where 10 ** -4 is 0.00009999999999999999.
    const decade = (e: number) => Number(`1e${e}`);
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e++) ticks.push(decade(e));
    return { log: true, min: decade(lo), max: decade(hi), ticks };
  }
  if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
    const d = Math.abs(max) > 0 ? Math.abs(max) * 0.05 : 0.5;
    [min, max] = [min - d, max + d];
  } else {
    const pad = (max - min) * 0.05;
    [min, max] = [min - pad, max + pad];
  }
  const step = niceStep(max - min);
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return { log: false, min, max, ticks };
}

/** The distance between neighbouring ticks. */
export function axisStep(s: PanelScale): number {
  return s.ticks.length > 1 ? s.ticks[1]! - s.ticks[0]! : Math.abs(s.max - s.min) || 1;
}
