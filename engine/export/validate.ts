// The checks a reloaded export must pass: parameters finite, forward at
// several batch sizes, parity with the in-memory model (shape, dtype, max
// abs/rel difference against the format's bar), latency, size.
import * as tf from "@tensorflow/tfjs";
import { FORMAT_RULES, type FormatName } from "./formats";
import { check, stopwatch, type CheckStatus, type HealthCheck } from "./health";
import { allFinite, forward, forwardRunner, measureSideBySide, parity, scanParameters, sliceRows, type Latency, type Outputs, type Parity } from "./probe";
import type { Reference } from "./reference";

export interface Validation {
  checks: HealthCheck[];
  parity?: Parity;
  latency?: Latency;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** passed inside the bar, warning inside ten bars, failed beyond (or on NaN). */
export function parityStatus(worstToleranceRatio: number): CheckStatus {
  if (!(worstToleranceRatio <= 10)) return "failed";
  return worstToleranceRatio <= 1 ? "passed" : "warning";
}

export function parityCheck(format: FormatName, ref: Outputs, got: Outputs, probeSource = "seeded-normal"): { check: HealthCheck; parity?: Parity } {
  const rule = FORMAT_RULES[format];
  const name = `${format}.parity`;
  if (ref.values.length !== got.values.length) return { check: check(name, "failed", `${got.values.length} outputs, the model has ${ref.values.length}`) };
  for (let k = 0; k < ref.shapes.length; k++) {
    if (!sameShape(ref.shapes[k], got.shapes[k])) return { check: check(name, "failed", `output ${k} has shape [${got.shapes[k]}], the model gives [${ref.shapes[k]}]`) };
    if (ref.dtypes[k] !== got.dtypes[k]) return { check: check(name, "failed", `output ${k} has dtype ${got.dtypes[k]}, the model gives ${ref.dtypes[k]}`) };
  }
  const p = parity(ref, got, rule.atol, rule.rtol);
  const status = parityStatus(p.worstToleranceRatio);
  const bar = `|diff| <= ${rule.atol} + ${rule.rtol}·|ref|`;
  const agreement = p.argmaxAgreement == null ? "" : `, argmax agrees on ${(p.argmaxAgreement * 100).toFixed(1)}% of rows`;
  const message =
    status === "passed"
      ? `agrees with the in-memory model: max abs diff ${p.maxAbsDiff.toExponential(2)}, max rel diff ${p.maxRelDiff.toExponential(2)} (bar ${bar})${agreement}`
      : `differs from the in-memory model beyond the bar (${bar}) by ${p.worstToleranceRatio.toFixed(1)}x: max abs diff ${p.maxAbsDiff.toExponential(2)}${agreement}`;
  return {
    check: check(name, status, message, { ...p, atol: rule.atol, rtol: rule.rtol, why: rule.why, shapes: ref.shapes, dtypes: ref.dtypes, rows: ref.shapes[0]?.[0], probeSource }),
    parity: p,
  };
}

/**
 * An export is slow when its median is over twice the in-memory model's,
 * measured side by side (plus 1 ms for timer noise).
 */
export function latencyCheck(format: FormatName, got: Latency, ref: Latency): HealthCheck {
  const slow = got.p50Ms > 2 * ref.p50Ms + 1;
  const details = { ...got, referenceP50Ms: ref.p50Ms, referenceP95Ms: ref.p95Ms, p50Ratio: ref.p50Ms > 0 ? got.p50Ms / ref.p50Ms : null };
  const text = `p50 ${got.p50Ms.toFixed(3)} ms, p95 ${got.p95Ms.toFixed(3)} ms at batch ${got.batch} (${got.warmup} warm-up, ${got.runs} timed, interleaved with the in-memory model: p50 ${ref.p50Ms.toFixed(3)} ms, p95 ${ref.p95Ms.toFixed(3)} ms)`;
  return slow ? check(`${format}.latency`, "warning", `slower than the in-memory model: ${text}`, details) : check(`${format}.latency`, "passed", text, details);
}

export function sizeCheck(format: FormatName, weightBytes: number, totalBytes: number, float32WeightBytes: number): HealthCheck {
  const expected = FORMAT_RULES[format].weightRatio;
  const ratio = float32WeightBytes ? weightBytes / float32WeightBytes : 1;
  const details = { bytes: totalBytes, weightBytes, float32WeightBytes, ratio, expectedRatio: expected };
  const text = `${totalBytes} bytes on disk, weights ${weightBytes} bytes = ${ratio.toFixed(3)} of float32`;
  if (expected == null) return check(`${format}.size`, "passed", text, details);
  // Only float32 weights shrink; a model with integer weights sits above the ideal ratio.
  const ok = Math.abs(ratio - expected) <= 0.05 * expected + 1e-9;
  return ok ? check(`${format}.size`, "passed", `${text} (expected ${expected})`, details) : check(`${format}.size`, "warning", `${text}, expected about ${expected}`, details);
}

export async function validateReloaded(
  format: FormatName,
  model: tf.LayersModel,
  ref: Reference,
  opts: { batchSizes: number[]; warmupRuns: number; latencyRuns: number },
): Promise<Validation> {
  const checks: HealthCheck[] = [];
  const lap = stopwatch();

  const scan = scanParameters(model);
  checks.push(
    scan.nonFinite === 0
      ? check(`${format}.params_finite`, "passed", `${scan.parameters} parameters, all finite`, { ...scan }, lap())
      : check(`${format}.params_finite`, "failed", `${scan.nonFinite} of ${scan.parameters} parameters are NaN or Inf (in ${scan.badWeights.join(", ")})`, { ...scan }, lap()),
  );

  const batchProblems: string[] = [];
  const perBatch: Record<string, number[][]> = {};
  for (const b of opts.batchSizes) {
    const rows = sliceRows(ref.exportProbe, b);
    try {
      const out = forward(model, rows);
      perBatch[String(b)] = out.shapes;
      const want = ref.outputs.shapes.map((s) => [Math.min(b, ref.probe[0].shape[0]!), ...s.slice(1)]);
      if (!out.shapes.every((s, k) => sameShape(s, want[k]))) batchProblems.push(`batch ${b}: shape ${JSON.stringify(out.shapes)}, expected ${JSON.stringify(want)}`);
      else if (!allFinite(out.values)) batchProblems.push(`batch ${b}: non-finite outputs`);
    } catch (e) {
      batchProblems.push(`batch ${b}: ${(e as Error).message.split("\n")[0]}`);
    } finally {
      tf.dispose(rows);
    }
  }
  checks.push(
    batchProblems.length
      ? check(`${format}.forward`, "failed", batchProblems.join("; "), { batchSizes: opts.batchSizes, shapes: perBatch }, lap())
      : check(
          `${format}.forward`,
          "passed",
          `forward pass at batch sizes ${opts.batchSizes.join(", ")}: shapes right, outputs finite`,
          {
            batchSizes: opts.batchSizes,
            shapes: perBatch,
          },
          lap(),
        ),
  );

  const got = forward(model, ref.exportProbe);
  const par = parityCheck(format, ref.outputs, got, ref.probeSource);
  checks.push({ ...par.check, durationMs: lap() });

  const timed = await measureSideBySide(forwardRunner(ref.model, ref.latencyInputs), forwardRunner(model, ref.exportLatencyInputs), {
    warmup: opts.warmupRuns,
    runs: opts.latencyRuns,
    batch: ref.latencyInputs[0]?.shape[0] ?? 1,
  });
  checks.push({ ...latencyCheck(format, timed.candidate, timed.baseline), durationMs: lap() });
  return { checks, parity: par.parity, latency: timed.candidate };
}
