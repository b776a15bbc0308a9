// The numeric smoke test and GFLOP/s measurement run on every backend
// candidate. The function is self-contained on purpose (it uses only its
// argument and JavaScript globals): native backends are probed in a child
// process, which receives this very function as source text via
// `Function.prototype.toString`, so the in-process and the child-process
// probes can never drift apart.

export interface SmokeOutcome {
  /** True when both matMul checks matched the plain-JavaScript reference. */
  ok: boolean;
  /** Largest absolute difference seen against the reference. */
  maxAbsError: number;
  /** Measured matMul throughput; null when the smoke test failed. */
  gflops: number | null;
  /** Side of the square matrices used for the throughput measurement. */
  size: number;
  error?: string;
}

/**
 * Checks `tf.matMul` against a reference computed in plain JavaScript (a fixed
 * integer case, then a pseudo-random 64x64 case), then measures matMul
 * GFLOP/s for about `budgetMs` milliseconds. `tf` must already have the
 * backend under test selected.
 */
export function smokeTestMatMul(tf: any, budgetMs: number): SmokeOutcome {
  const reference = (a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array => {
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        const av = a[i * k + p];
        for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j];
      }
    return out;
  };
  // A tiny deterministic generator (mulberry32): the test must not depend on tf's RNG.
  let seed = 0x5eed1234;
  const next = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const check = (m: number, k: number, n: number, fill: (i: number) => number): number => {
    const a = new Float32Array(m * k).map((_, i) => fill(i));
    const b = new Float32Array(k * n).map((_, i) => fill(i + 7));
    const want = reference(a, b, m, k, n);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
    const got = product.dataSync() as Float32Array;
    product.dispose();
    if (got.length !== want.length) return Infinity;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
    }
    return worst;
  };
  let maxAbsError = 0;
  try {
    maxAbsError = Math.max(
      check(3, 4, 2, (i) => (i % 5) - 2),
      check(64, 64, 64, () => next()),
    );
  } catch (e) {
    return { ok: false, maxAbsError: Infinity, gflops: null, size: 0, error: String((e as Error)?.message ?? e) };
  }
  // float32 over 64 products of values in [-0.5, 0.5]: 1e-3 is far above rounding noise.
  if (!(maxAbsError <= 1e-3)) {
    return { ok: false, maxAbsError, gflops: null, size: 0, error: `matMul differs from the reference by ${maxAbsError}` };
  }
  const now = (): number => Number(process.hrtime.bigint()) / 1e6;
  // Never return dataSync()'s array from tf.tidy: tidy walks its result
  // element by element looking for tensors, which costs more than the matMul.
  const multiply = (x: any, y: any): void => {
    const product = tf.matMul(x, y);
    product.dataSync();
    product.dispose();
  };
  // Start small so a slow backend (plain-JS cpu: ~0.3 GFLOP/s) stays within
  // the budget; grow (8x the work per doubling) while a product at the next
  // size still fits in half the budget, so fast backends are timed on real
  // work rather than on dataSync overhead.
  let size = 64;
  let a = tf.randomUniform([size, size]);
  let b = tf.randomUniform([size, size]);
  try {
    multiply(a, b); // warm-up: kernel compilation, first allocation
    for (;;) {
      const t = now();
      multiply(a, b);
      if ((now() - t) * 8 > budgetMs / 2 || size >= 512) break;
      a.dispose();
      b.dispose();
      size *= 2;
      a = tf.randomUniform([size, size]);
      b = tf.randomUniform([size, size]);
      multiply(a, b);
    }
    let runs = 0;
    const start = now();
    let elapsed = 0;
    do {
      multiply(a, b);
      runs++;
      elapsed = now() - start;
    } while (elapsed < budgetMs);
    const gflops = (2 * size * size * size * runs) / (elapsed / 1000) / 1e9;
    return { ok: true, maxAbsError, gflops: Math.round(gflops * 100) / 100, size };
  } finally {
    a.dispose();
    b.dispose();
  }
}
