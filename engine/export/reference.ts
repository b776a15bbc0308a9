// What every export is compared against: the in-memory model's outputs on
// probe rows (validation rows or seeded noise) and its float32 weight bytes.
// The export itself takes raw inputs when the training normalisation was
// moved into its graph (./raw_inputs.ts): it is fed the same probe rows
// mapped back to raw values (x · std + mean), so every parity check proves
// raw input → export ≡ normalised input → trained model.
import * as tf from "@tensorflow/tfjs";
import { forward, probeInputs, sliceRows, type Outputs } from "./probe";
import type { Normalization } from "./raw_inputs";
import type { CapturedModel } from "./tfjs_files";

export interface Reference {
  /** The trained model (normalised inputs). */
  model: tf.LayersModel;
  /** The model the formats are written from (raw inputs when the normalisation is in its graph). */
  exported: tf.LayersModel;
  captured: CapturedModel;
  /** Probe rows for the trained model (kept alive for the whole export; disposed by disposeReference). */
  probe: tf.Tensor[];
  /** The same rows as the export takes them (raw values, or `probe` itself). */
  exportProbe: tf.Tensor[];
  outputs: Outputs;
  latencyInputs: tf.Tensor[];
  exportLatencyInputs: tf.Tensor[];
  float32WeightBytes: number;
  /** Where the probe rows came from. */
  probeSource: "validation" | "seeded-normal";
  /** The normalisation the export applies itself, or null. */
  normalization: Normalization | null;
}

/** Normalised rows back to raw values: x · std + mean over each row's flattened elements. */
export function denormalize(t: tf.Tensor, norm: Normalization): tf.Tensor {
  return tf.tidy(() => {
    const n = t.shape[0]!;
    const flat = tf.reshape(t, [n, norm.mean.length]);
    return tf.reshape(tf.add(tf.mul(flat, tf.tensor1d(norm.std)), tf.tensor1d(norm.mean)), t.shape);
  });
}

export function buildReference(
  model: tf.LayersModel,
  captured: CapturedModel,
  opts: { probeRows: number; seed: number; latencyBatch: number },
  /** Real rows (e.g. the run's validation split) to probe with instead of seeded noise; not disposed here. */
  realRows?: tf.Tensor,
  exported: { model: tf.LayersModel; normalization: Normalization | null } = { model, normalization: null },
): Reference {
  const rows = Math.max(opts.probeRows, opts.latencyBatch);
  const usable = !!realRows && model.inputs.length === 1 && realRows.shape[0]! >= opts.latencyBatch;
  const probe = usable ? [realRows.slice(0, Math.min(rows, realRows.shape[0]!))] : probeInputs(model, rows, opts.seed);
  const outputs = forward(model, probe);
  const latencyInputs = sliceRows(probe, opts.latencyBatch);
  const norm = exported.normalization;
  const exportProbe = norm ? probe.map((t) => denormalize(t, norm)) : probe;
  const exportLatencyInputs = norm ? sliceRows(exportProbe, opts.latencyBatch) : latencyInputs;
  return {
    model,
    exported: exported.model,
    captured,
    probe,
    exportProbe,
    outputs,
    latencyInputs,
    exportLatencyInputs,
    float32WeightBytes: captured.weightData.byteLength,
    probeSource: usable ? "validation" : "seeded-normal",
    normalization: norm,
  };
}

export function disposeReference(ref: Reference): void {
  tf.dispose([...ref.probe, ...ref.latencyInputs]);
  if (ref.normalization) tf.dispose([...ref.exportProbe, ...ref.exportLatencyInputs]);
}
