// What a consumer needs to predict without tscolab, stored in model.json's
// `userDefinedMetadata` (tfjs hands it back from model.getUserDefinedMetadata()):
// the label vocabulary, the feature normalisation, and the input/output
// signature. The dataset part comes from run.json's `dataset` section (T).
import type * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { imageInfo } from "../data/images/schema";
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
    image: imageInfo.nullish(),
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
  normalization: z.object({ mean: z.array(z.number()), std: z.array(z.number()), formula: z.string(), inGraph: z.boolean().optional() }).optional(),
  /** "raw": feed raw feature values (any normalisation is inside the graph); "normalized": apply `normalization` first. */
  inputs: z.enum(["raw", "normalized"]).optional(),
  /** How to read the outputs: one probability per label, logits, p(labels[1]) from one sigmoid unit, or a value. */
  output: z.object({ kind: z.string(), threshold: z.number().optional(), positiveLabel: z.union([z.string(), z.number()]).optional() }).optional(),
  /** Image input: the size and channels images are decoded to, and their scaling (engine/data/images). */
  image: imageInfo.optional(),
  inputSignature: z.array(tensorSignature),
  outputSignature: z.array(tensorSignature),
  source: z.record(z.string(), z.unknown()),
});
export type ExportMetadata = z.infer<typeof exportMetadata>;

export function signatureOf(tensors: tf.SymbolicTensor[]): TensorSignature[] {
  return tensors.map((t) => ({ name: t.name, shape: t.shape.map((d) => (d == null ? null : d)), dtype: t.dtype }));
}

/** Where the export's normalisation lives (./raw_inputs.ts) and what its output means (engine/train/head.ts). */
export interface MetadataExtras {
  normalizationInGraph?: boolean;
  head?: { kind: string };
}

export function buildMetadata(
  model: tf.LayersModel,
  dataset: ExportDatasetInfo | undefined,
  source: Record<string, unknown>,
  producer: string,
  extras: MetadataExtras = {},
): ExportMetadata {
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
  if (dataset?.normalization) {
    const inGraph = !!extras.normalizationInGraph;
    meta.normalization = {
      ...dataset.normalization,
      formula: inGraph ? "applied inside the model's graph: feed raw values; the model computes (x - mean) / std itself" : "x_normalized = (x - mean) / std",
      inGraph,
    };
    meta.inputs = inGraph ? "raw" : "normalized";
  } else meta.inputs = "raw";
  const kind = extras.head?.kind;
  if (kind === "sigmoid" || kind === "sigmoid-logits")
    meta.output = { kind, threshold: kind === "sigmoid" ? 0.5 : 0, ...(dataset?.labels?.[1] !== undefined ? { positiveLabel: dataset.labels[1] } : {}) };
  else if (kind) meta.output = { kind };
  if (dataset?.image) meta.image = dataset.image;
  return exportMetadata.parse(meta);
}
