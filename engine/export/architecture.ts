// What the health report says about the exported model itself: an
// architecture summary (layers by class, shapes, parameter counts, where the
// normalisation lives) and statistics of every weight tensor.
import type * as tf from "@tensorflow/tfjs";
import { z } from "zod";

export const architectureSummary = z.object({
  layers: z.number().int(),
  byClass: z.record(z.string(), z.number().int()),
  inputShapes: z.array(z.array(z.number().int().nullable())),
  outputShapes: z.array(z.array(z.number().int().nullable())),
  parameters: z.object({ total: z.number().int(), trainable: z.number().int(), nonTrainable: z.number().int() }),
  /** Whether the export takes raw inputs, and how (in words). */
  rawInputs: z.string(),
});
export type ArchitectureSummary = z.infer<typeof architectureSummary>;

/** The value statistics reported for one weight and for all of them together. */
const valueStats = {
  mean: z.number().nullable(),
  std: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  zeros: z.number().int(),
  nonFinite: z.number().int(),
};

const weightStats = z.object({ name: z.string(), shape: z.array(z.number().int()), count: z.number().int(), ...valueStats });

export const parameterStats = z.object({ total: z.number().int(), ...valueStats, weights: z.array(weightStats) });
export type ParameterStats = z.infer<typeof parameterStats>;

const count = (shape: readonly (number | null)[]) => shape.reduce<number>((a, b) => a * (b ?? 1), 1);

export function architectureOf(model: tf.LayersModel, rawInputs: string): ArchitectureSummary {
  const byClass: Record<string, number> = {};
  for (const layer of model.layers) byClass[layer.getClassName()] = (byClass[layer.getClassName()] ?? 0) + 1;
  const trainable = model.trainableWeights.reduce((a, w) => a + count(w.shape), 0);
  const nonTrainable = model.nonTrainableWeights.reduce((a, w) => a + count(w.shape), 0);
  return {
    layers: model.layers.length,
    byClass,
    inputShapes: model.inputs.map((t) => t.shape.slice(1).map((d) => d ?? null)),
    outputShapes: model.outputs.map((t) => t.shape.slice(1).map((d) => d ?? null)),
    parameters: { total: trainable + nonTrainable, trainable, nonTrainable },
    rawInputs,
  };
}

/** Mean, std (population), min, max, exact zeros and non-finite values of every weight, and of all of them; float64 sums. */
export function parameterStatsOf(model: tf.LayersModel): ParameterStats {
  let n = 0;
  let sum = 0;
  let sq = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  let nonFinite = 0;
  const weights = model.weights.map((w) => {
    const values = w.read().dataSync() as ArrayLike<number>;
    let wn = 0;
    let wsum = 0;
    let wsq = 0;
    let wmin = Infinity;
    let wmax = -Infinity;
    let wzeros = 0;
    let wbad = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        wbad++;
        continue;
      }
      if (v === 0) wzeros++;
      wn++;
      wsum += v;
      wsq += v * v;
      if (v < wmin) wmin = v;
      if (v > wmax) wmax = v;
    }
    n += wn;
    sum += wsum;
    sq += wsq;
    min = Math.min(min, wmin);
    max = Math.max(max, wmax);
    zeros += wzeros;
    nonFinite += wbad;
    const mean = wn ? wsum / wn : null;
    return {
      name: w.originalName ?? w.name,
      shape: w.shape.map((d) => d ?? 0),
      count: values.length,
      mean,
      std: mean === null ? null : Math.sqrt(Math.max(0, wsq / wn - mean * mean)),
      min: wn ? wmin : null,
      max: wn ? wmax : null,
      zeros: wzeros,
      nonFinite: wbad,
    };
  });
  const mean = n ? sum / n : null;
  return {
    total: n + nonFinite,
    mean,
    std: mean === null ? null : Math.sqrt(Math.max(0, sq / n - mean * mean)),
    min: n ? min : null,
    max: n ? max : null,
    zeros,
    nonFinite,
    weights,
  };
}
