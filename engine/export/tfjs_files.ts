// A tfjs LayersModel as files: model.json plus weight shards, the layout
// `tensorflowjs_converter` and tfjs-node's file:// handler produce, so stock
// `tf.loadLayersModel` (http or file) reads it. Plain @tensorflow/tfjs has no
// file handler in Node, so both directions are written here with tf.io's own
// public helpers.
import { promises as fs } from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { TscolabError } from "../errors";
import { makeDirs } from "../store/durable_fs";

export interface CapturedModel {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  trainingConfig?: tf.io.TrainingConfig;
  format: string;
  generatedBy: string;
}

/** The model's artifacts, exactly as `model.save` would hand them to any handler. */
export async function captureModel(model: tf.LayersModel): Promise<CapturedModel> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured?.modelTopology || !captured.weightSpecs || captured.weightData === undefined) {
    throw new TscolabError("the model did not produce a topology and weights when saved", "export a tf.LayersModel (tf.sequential or tf.model)");
  }
  const data = captured.weightData;
  return {
    modelTopology: captured.modelTopology as object,
    weightSpecs: captured.weightSpecs,
    weightData: Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data,
    trainingConfig: captured.trainingConfig,
    format: captured.format ?? "layers-model",
    generatedBy: captured.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
  };
}

export interface WriteTfjsOptions {
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: Uint8Array;
  userDefinedMetadata?: Record<string, unknown>;
  shardBytes: number;
  convertedBy: string;
}

export interface WrittenTfjs {
  modelJson: string;
  shards: string[];
  weightBytes: number;
  bytes: number;
}

/** Shard names as tensorflowjs_converter writes them: group1-shard1of3.bin. */
export function shardNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
}

export async function writeTfjsModel(dir: string, model: CapturedModel, opts: WriteTfjsOptions): Promise<WrittenTfjs> {
  makeDirs(dir);
  const data = opts.weightData;
  // Shards split on byte boundaries, not weight boundaries: tfjs concatenates
  // every path of a group before decoding, and the converter does the same.
  const count = Math.max(1, Math.ceil(data.byteLength / opts.shardBytes));
  const names = shardNames(count);
  for (let i = 0; i < count; i++) {
    await fs.writeFile(path.join(dir, names[i]), data.subarray(i * opts.shardBytes, Math.min(data.byteLength, (i + 1) * opts.shardBytes)));
  }
  const json: tf.io.ModelJSON = {
    modelTopology: model.modelTopology,
    format: model.format,
    generatedBy: model.generatedBy,
    convertedBy: opts.convertedBy,
    weightsManifest: [{ paths: names, weights: opts.weightSpecs }],
  };
  if (model.trainingConfig) json.trainingConfig = model.trainingConfig;
  if (opts.userDefinedMetadata) json.userDefinedMetadata = opts.userDefinedMetadata as tf.io.ModelJSON["userDefinedMetadata"];
  const text = JSON.stringify(json);
  const modelJson = path.join(dir, "model.json");
  await fs.writeFile(modelJson, text);
  return {
    modelJson,
    shards: names.map((n) => path.join(dir, n)),
    weightBytes: data.byteLength,
    bytes: data.byteLength + Buffer.byteLength(text),
  };
}

/**
 * An IOHandler that reads model.json and its shards from disk and hands them
 * to tfjs's own decoder (getModelArtifactsForJSON → decodeWeights, which is
 * where quantized weights are expanded). Used to reload each export.
 */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await fs.readFile(modelJsonPath, "utf8")) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const bytes = await fs.readFile(path.join(path.dirname(modelJsonPath), p));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}
