// Column statistics for reference profiles, and the two drift tests that
// compare a new sample with a profile: the population stability index (PSI)
// and the two-sample Kolmogorov–Smirnov test. Descriptive statistics come
// from simple-statistics.
import { chiSquaredDistributionTable, mean as meanOf, quantileSorted, standardDeviation } from "simple-statistics";
import { z } from "zod";

/** The quantiles a profile keeps per column. */
export const PROFILE_QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;
const HISTOGRAM_BINS = 10;
/** Values kept per column for the drift tests: every value up to this many, else evenly spaced order statistics. */
export const SAMPLE_CAP = 1000;

export const columnProfile = z.object({
  name: z.string(),
  count: z.number().int(),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
  quantiles: z.record(z.string(), z.number()),
  /** Equal-width bins between min and max (one bin when the column is constant). */
  histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number().int()) }),
  /** Sorted values: all of them, or `SAMPLE_CAP`-ish evenly spaced order statistics (a quantile sketch). */
  sample: z.array(z.number()),
});
export type ColumnProfile = z.infer<typeof columnProfile>;

function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** `cap` evenly spaced order statistics of sorted values (all of them when there are fewer). */
export function sketch(sortedValues: ArrayLike<number>, cap = SAMPLE_CAP): number[] {
  const n = sortedValues.length;
  if (n <= cap) return Array.from(sortedValues);
  return Array.from({ length: cap }, (_, i) => sortedValues[Math.round((i * (n - 1)) / (cap - 1))]);
}

export function describeColumn(name: string, values: ArrayLike<number>, cap = SAMPLE_CAP): ColumnProfile {
  const s = sorted(values);
  const n = s.length;
  if (n === 0) return { name, count: 0, mean: 0, std: 0, min: 0, max: 0, quantiles: {}, histogram: { edges: [], counts: [] }, sample: [] };
  const list = Array.from(s);
  const min = s[0];
  const max = s[n - 1];
  const quantiles = Object.fromEntries(Object.entries(PROFILE_QUANTILES).map(([k, p]) => [k, quantileSorted(list, p)]));
  let edges: number[];
  let counts: number[];
  if (max === min) {
    edges = [min, max];
    counts = [n];
  } else {
    const width = (max - min) / HISTOGRAM_BINS;
    edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => (i === HISTOGRAM_BINS ? max : min + i * width));
    counts = new Array<number>(HISTOGRAM_BINS).fill(0);
    for (const v of list) counts[Math.min(HISTOGRAM_BINS - 1, Math.floor((v - min) / width))]++;
  }
  return { name, count: n, mean: meanOf(list), std: n > 1 ? standardDeviation(list) : 0, min, max, quantiles, histogram: { edges, counts }, sample: sketch(s, cap) };
}

/** Smallest share a bin is given in PSI, so an empty bin contributes a large but finite term. */
const PSI_FLOOR = 1e-4;

export interface PsiResult {
  value: number;
  bins: number;
  /** PSI · n·m / (n + m) is roughly χ² with bins − 1 degrees of freedom when nothing drifted; true when it lies beyond the 95th percentile. */
  significant: boolean;
  /** PSI's expected value on undrifted samples of these sizes, (bins − 1)(1/n + 1/m): PSI below it is noise. */
  noiseFloor: number;
}

/**
 * PSI of `current` against the sorted `reference` sample: bins at the
 * reference's deciles (fewer when values repeat), a constant reference split
 * into below / equal / above; Σ (c − r) · ln(c / r) over bin shares.
 */
export function psi(reference: readonly number[], current: ArrayLike<number>): PsiResult {
  const n = reference.length;
  const m = current.length;
  if (!n || !m) return { value: 0, bins: 0, significant: false, noiseFloor: 0 };
  let size: number;
  let bin: (v: number) => number;
  if (reference[0] === reference[n - 1]) {
    const c = reference[0];
    size = 3;
    bin = (v) => (v < c ? 0 : v === c ? 1 : 2);
  } else {
    const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => quantileSorted(reference as number[], d / 10)))];
    size = edges.length + 1;
    // The count of edges strictly below v: bins (-inf, e1], (e1, e2], ..., (ek, inf).
    bin = (v) => {
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edges[mid] < v) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
  }
  const ref = new Array<number>(size).fill(0);
  const cur = new Array<number>(size).fill(0);
  for (const v of reference) ref[bin(v)]++;
  for (let i = 0; i < m; i++) cur[bin(current[i])]++;
  let value = 0;
  for (let b = 0; b < size; b++) {
    const r = Math.max(ref[b] / n, PSI_FLOOR);
    const c = Math.max(cur[b] / m, PSI_FLOOR);
    if (ref[b] === 0 && cur[b] === 0) continue;
    value += (c - r) * Math.log(c / r);
  }
  const used = ref.map((r, b) => r + cur[b]).filter((x) => x > 0).length;
  const dof = Math.max(1, used - 1);
  const scale = 1 / n + 1 / m;
  const critical = chiSquared95(dof);
  return { value, bins: size, significant: value / scale > critical, noiseFloor: dof * scale };
}

/** The 95th percentile of χ² with `dof` degrees of freedom (simple-statistics' table; Wilson–Hilferty beyond it). */
function chiSquared95(dof: number): number {
  const table = chiSquaredDistributionTable as unknown as Record<number, Record<string, number>>;
  const row = table[dof];
  if (row) return row["0.05"];
  const z = 1.6448536269514722;
  return dof * Math.pow(1 - 2 / (9 * dof) + z * Math.sqrt(2 / (9 * dof)), 3);
}

export interface KsResult {
  /** The largest gap between the two empirical CDFs. */
  statistic: number;
  /** Asymptotic two-sided p-value (Kolmogorov's distribution with Stephens' small-sample correction). */
  pValue: number;
}

/** Two-sample Kolmogorov–Smirnov test of `current` against the sorted `reference`. */
export function ks(reference: readonly number[], current: ArrayLike<number>): KsResult {
  const n = reference.length;
  const m = current.length;
  if (!n || !m) return { statistic: 0, pValue: 1 };
  const cur = sorted(current);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(reference[i], cur[j]);
    while (i < n && reference[i] === v) i++;
    while (j < m && cur[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovSurvival((en + 0.12 + 0.11 / en) * d) };
}

/** P(K > λ) for Kolmogorov's distribution: 2 Σ (−1)^(k−1) exp(−2k²λ²). */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  let sign = 1;
  let previous = 0;
  for (let k = 1; k <= 100; k++) {
    const term = sign * 2 * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) <= 1e-3 * previous || Math.abs(term) <= 1e-10 * sum) return Math.min(1, Math.max(0, sum));
    previous = Math.abs(term);
    sign = -sign;
  }
  return 1;
}
