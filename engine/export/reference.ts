// What every export is compared against: the in-memory model's outputs on
// probe rows (validation rows or seeded noise) and its float32 weight bytes.
import * as tf from "@tensorflow/tfjs";
import { forward, probeInputs, sliceRows, type Outputs } from "./probe";
import type { CapturedModel } from "./tfjs_files";

export interface Reference {
  model: tf.LayersModel;
  captured: CapturedModel;
  /** Probe rows (kept alive for the whole export; disposed by disposeReference). */
  probe: tf.Tensor[];
  outputs: Outputs;
  latencyInputs: tf.Tensor[];
  float32WeightBytes: number;
  /** Where the probe rows came from. */
  probeSource: "validation" | "seeded-normal";
}

export function buildReference(
  model: tf.LayersModel,
  captured: CapturedModel,
  opts: { probeRows: number; seed: number; latencyBatch: number },
  /** Real rows (e.g. the run's validation split) to probe with instead of seeded noise; not disposed here. */
  realRows?: tf.Tensor,
): Reference {
  const rows = Math.max(opts.probeRows, opts.latencyBatch);
  const usable = !!realRows && model.inputs.length === 1 && realRows.shape[0]! >= opts.latencyBatch;
  const probe = usable ? [realRows.slice(0, Math.min(rows, realRows.shape[0]!))] : probeInputs(model, rows, opts.seed);
  const outputs = forward(model, probe);
  const latencyInputs = sliceRows(probe, opts.latencyBatch);
  return { model, captured, probe, outputs, latencyInputs, float32WeightBytes: captured.weightData.byteLength, probeSource: usable ? "validation" : "seeded-normal" };
}

export function disposeReference(ref: Reference): void {
  tf.dispose([...ref.probe, ...ref.latencyInputs]);
}
