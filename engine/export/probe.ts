// Measurements shared by every format's validation: seeded probe inputs,
// forward passes, numeric parity, latency percentiles, parameter finiteness.
import * as tf from "@tensorflow/tfjs";

export interface Outputs {
  shapes: number[][];
  dtypes: string[];
  values: Float32Array[];
}

/** Inputs for a model: seeded N(0,1) floats (features are normalised), or ids for integer inputs. */
export function probeInputs(model: tf.LayersModel, batch: number, seed: number): tf.Tensor[] {
  const vocab = model.layers
    .filter((l) => l.getClassName() === "Embedding")
    .map((l) => Number((l.getConfig() as { inputDim?: number }).inputDim))
    .filter((n) => Number.isFinite(n) && n > 0);
  const maxId = vocab.length ? Math.min(...vocab) : 10;
  return model.inputs.map((input, i) => {
    const shape = input.shape.map((d, axis) => (axis === 0 ? batch : (d ?? 8)));
    if (input.dtype === "int32") return tf.randomUniform(shape, 0, maxId, "int32", seed + i);
    return tf.randomNormal(shape, 0, 1, "float32", seed + i);
  });
}

/** Rows [start, start+count) of each input, for forward passes at other batch sizes. */
export function sliceRows(inputs: tf.Tensor[], count: number): tf.Tensor[] {
  return inputs.map((t) => t.slice(0, Math.min(count, t.shape[0]!)));
}

export function forward(model: tf.LayersModel, inputs: tf.Tensor[]): Outputs {
  return tf.tidy(() => {
    const out = model.predict(inputs.length === 1 ? inputs[0] : inputs);
    const list = Array.isArray(out) ? out : [out];
    return {
      shapes: list.map((t) => t.shape.slice()),
      dtypes: list.map((t) => t.dtype),
      values: list.map((t) => Float32Array.from(t.dataSync() as ArrayLike<number>)),
    };
  });
}

export function allFinite(values: Float32Array[]): boolean {
  return values.every((arr) => arr.every((v) => Number.isFinite(v)));
}

export interface Parity {
  maxAbsDiff: number;
  /** max |got - ref| / max(|ref|, 1e-6) */
  maxRelDiff: number;
  /** max |got - ref| / (atol + rtol·|ref|): ≤ 1 means every element within the bar. */
  worstToleranceRatio: number;
  /** Share of rows whose argmax agrees (outputs with more than one column). */
  argmaxAgreement: number | null;
  elements: number;
}

export function parity(ref: Outputs, got: Outputs, atol: number, rtol: number): Parity {
  let maxAbs = 0;
  let maxRel = 0;
  let worst = 0;
  let elements = 0;
  let rows = 0;
  let agree = 0;
  ref.values.forEach((r, k) => {
    const g = got.values[k];
    for (let i = 0; i < r.length; i++) {
      const d = Math.abs(g[i] - r[i]);
      const diff = Number.isNaN(d) ? Infinity : d;
      maxAbs = Math.max(maxAbs, diff);
      maxRel = Math.max(maxRel, diff / Math.max(Math.abs(r[i]), 1e-6));
      worst = Math.max(worst, diff / (atol + rtol * Math.abs(r[i])));
    }
    elements += r.length;
    const shape = ref.shapes[k];
    const cols = shape.length >= 2 ? shape[shape.length - 1] : 1;
    if (cols > 1) {
      for (let row = 0; row * cols < r.length; row++) {
        rows++;
        if (argmax(r, row * cols, cols) === argmax(g, row * cols, cols)) agree++;
      }
    }
  });
  return { maxAbsDiff: maxAbs, maxRelDiff: maxRel, worstToleranceRatio: worst, argmaxAgreement: rows ? agree / rows : null, elements };
}

function argmax(a: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i] > a[from + best]) best = i;
  return best;
}

export interface Latency {
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
  runs: number;
  warmup: number;
  batch: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function summarize(times: number[], warmup: number, batch: number): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), meanMs: mean, runs: sorted.length, warmup, batch };
}

/**
 * Latency of `candidate` measured side by side with `baseline`: warm-up runs
 * of both first (kernel compilation, allocator), then timed runs alternating
 * between the two, so a busy machine slows both alike and the comparison
 * stays fair even when the absolute numbers are noisy.
 */
export async function measureSideBySide(
  baseline: () => Promise<void> | void,
  candidate: () => Promise<void> | void,
  opts: { warmup: number; runs: number; batch: number },
): Promise<{ baseline: Latency; candidate: Latency }> {
  for (let i = 0; i < opts.warmup; i++) {
    await baseline();
    await candidate();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // Alternate which goes first, so neither always runs on a warmer cache.
    const order = i % 2 === 0 ? ([baseline, a, candidate, b] as const) : ([candidate, b, baseline, a] as const);
    for (const [fn, into] of [
      [order[0], order[1]],
      [order[2], order[3]],
    ] as const) {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    }
  }
  return { baseline: summarize(a, opts.warmup, opts.batch), candidate: summarize(b, opts.warmup, opts.batch) };
}

/** One forward pass, read back to the host (so the time includes the result's transfer). */
export function forwardRunner(model: tf.LayersModel, inputs: tf.Tensor[]): () => void {
  return () => {
    forward(model, inputs);
  };
}

export interface ParamScan {
  parameters: number;
  nonFinite: number;
  badWeights: string[];
}

export function scanParameters(model: tf.LayersModel): ParamScan {
  let parameters = 0;
  let nonFinite = 0;
  const badWeights: string[] = [];
  for (const w of model.weights) {
    const values = w.read().dataSync();
    parameters += values.length;
    let bad = 0;
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad++;
    if (bad) {
      nonFinite += bad;
      badWeights.push(w.name);
    }
  }
  return { parameters, nonFinite, badWeights };
}
