// What every export is compared against: the in-memory model's outputs on
// seeded probe rows, its latency, and its float32 weight bytes.
import * as tf from "@tensorflow/tfjs";
import { forward, latencyOfModel, probeInputs, sliceRows, type Latency, type Outputs } from "./probe";
import type { CapturedModel } from "./tfjs_files";

export interface Reference {
  model: tf.LayersModel;
  captured: CapturedModel;
  /** Probe rows (kept alive for the whole export; disposed by disposeReference). */
  probe: tf.Tensor[];
  outputs: Outputs;
  latencyInputs: tf.Tensor[];
  latency: Latency;
  float32WeightBytes: number;
}

export async function buildReference(
  model: tf.LayersModel,
  captured: CapturedModel,
  opts: { probeRows: number; seed: number; latencyBatch: number; warmupRuns: number; latencyRuns: number },
): Promise<Reference> {
  const probe = probeInputs(model, Math.max(opts.probeRows, opts.latencyBatch), opts.seed);
  const outputs = forward(model, probe);
  const latencyInputs = sliceRows(probe, opts.latencyBatch);
  const latency = await latencyOfModel(model, latencyInputs, opts.warmupRuns, opts.latencyRuns);
  return { model, captured, probe, outputs, latencyInputs, latency, float32WeightBytes: captured.weightData.byteLength };
}

export function disposeReference(ref: Reference): void {
  tf.dispose([...ref.probe, ...ref.latencyInputs]);
}
