// What a consumer needs to predict without tscolab, stored in model.json's
// `userDefinedMetadata` (tfjs hands it back from model.getUserDefinedMetadata()):
// the label vocabulary, the feature normalisation, and the input/output
// signature. The dataset part comes from run.json's `dataset` section (T).
import type * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { taskName } from "../data/schema";

/** run.json `dataset`, as the trainer writes it; read leniently (extra keys kept). */
export const exportDatasetInfo = z
  .object({
    task: taskName.optional(),
    features: z.array(z.string()).nullish(),
    label: z.string().nullish(),
    labels: z.array(z.union([z.string(), z.number()])).nullish(),
    normalization: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }).nullish(),
    inputShape: z.array(z.number().int().nullable()).nullish(),
  })
  .passthrough();
export type ExportDatasetInfo = z.infer<typeof exportDatasetInfo>;

export const tensorSignature = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nullable()),
  dtype: z.string(),
});
export type TensorSignature = z.infer<typeof tensorSignature>;

export const exportMetadata = z.object({
  producer: z.string(),
  task: taskName.optional(),
  features: z.array(z.string()).optional(),
  label: z.string().optional(),
  labels: z.array(z.union([z.string(), z.number()])).optional(),
  normalization: z.object({ mean: z.array(z.number()), std: z.array(z.number()), formula: z.string() }).optional(),
  inputSignature: z.array(tensorSignature),
  outputSignature: z.array(tensorSignature),
  source: z.record(z.string(), z.unknown()),
});
export type ExportMetadata = z.infer<typeof exportMetadata>;

export function signatureOf(tensors: tf.SymbolicTensor[]): TensorSignature[] {
  return tensors.map((t) => ({ name: t.name, shape: t.shape.map((d) => (d == null ? null : d)), dtype: t.dtype }));
}

export function buildMetadata(model: tf.LayersModel, dataset: ExportDatasetInfo | undefined, source: Record<string, unknown>, producer: string): ExportMetadata {
  const meta: ExportMetadata = {
    producer,
    inputSignature: signatureOf(model.inputs),
    outputSignature: signatureOf(model.outputs),
    source,
  };
  if (dataset?.task) meta.task = dataset.task;
  if (dataset?.features) meta.features = dataset.features;
  if (dataset?.label) meta.label = dataset.label;
  if (dataset?.labels) meta.labels = dataset.labels;
  if (dataset?.normalization) meta.normalization = { ...dataset.normalization, formula: "x_normalized = (x - mean) / std" };
  return exportMetadata.parse(meta);
}
