// A tfjs LayersModel as files: `model.json` (tfjs's own ModelJSON format, with
// a weights manifest) and `weights.bin`. Plain @tensorflow/tfjs has no file://
// handler in Node, so saving goes through a custom IOHandler and loading
// through tf.io.fromMemory; the files are still what stock
// tf.loadLayersModel / tfjs-node's file:// would read.
import fs from "node:fs";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { TscolabError } from "../errors";
import { rethrowDiskError } from "./disk_errors";
import { fsyncDir, makeDirs, writeFileSynced } from "./durable_fs";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

type ModelArtifacts = tfTypes.io.ModelArtifacts;
type WeightsManifestEntry = tfTypes.io.WeightsManifestEntry;

/** The bits of a tf namespace we need; the caller's own tf, so one tfjs-core instance is used. */
export interface TfForLoading {
  loadLayersModel(handler: tfTypes.io.IOHandler): Promise<tfTypes.LayersModel>;
  io: { fromMemory(artifacts: ModelArtifacts): tfTypes.io.IOHandler };
}

/** Any object with LayersModel's `save(handler)`. */
export interface SavableModel {
  save(handler: tfTypes.io.IOHandler, config?: tfTypes.io.SaveConfig): Promise<tfTypes.io.SaveResult>;
}

function concatWeightData(data: ModelArtifacts["weightData"]): Buffer {
  if (!data) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((b) => Buffer.from(b)));
}

/** Serializes a model to `{ "model.json", "weights.bin" }` in memory (ready for commitCheckpoint). */
export async function modelToFiles(model: SavableModel): Promise<Record<string, Buffer>> {
  let captured: ModelArtifacts | undefined;
  await model.save({
    async save(artifacts: ModelArtifacts) {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    },
  });
  if (!captured) throw new Error("model.save did not hand over its artifacts");
  const weights = concatWeightData(captured.weightData);
  const modelJson = {
    format: captured.format,
    generatedBy: captured.generatedBy,
    convertedBy: captured.convertedBy ?? null,
    modelTopology: captured.modelTopology,
    ...(captured.trainingConfig ? { trainingConfig: captured.trainingConfig } : {}),
    ...(captured.userDefinedMetadata ? { userDefinedMetadata: captured.userDefinedMetadata } : {}),
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: captured.weightSpecs ?? [] }],
  };
  return { [MODEL_JSON]: Buffer.from(JSON.stringify(modelJson)), [WEIGHTS_BIN]: weights };
}

/** Writes model.json + weights.bin into `dir` (created if needed), fsynced. */
export async function saveModelArtifacts(dir: string, model: SavableModel): Promise<{ files: string[]; bytes: number }> {
  const files = await modelToFiles(model);
  let bytes = 0;
  try {
    makeDirs(dir);
    for (const [name, data] of Object.entries(files)) {
      await writeFileSynced(path.join(dir, name), data);
      bytes += data.length;
    }
    await fsyncDir(dir);
  } catch (err) {
    rethrowDiskError(err, "saving the model", dir);
  }
  return { files: Object.keys(files).map((n) => path.join(dir, n)), bytes };
}

/** ModelArtifacts from the bytes of model.json and its weight files (looked up by manifest path). */
export function artifactsFromFiles(modelJsonBytes: Uint8Array | string, readWeights: (relPath: string) => Uint8Array): ModelArtifacts {
  const json = JSON.parse(typeof modelJsonBytes === "string" ? modelJsonBytes : Buffer.from(modelJsonBytes).toString("utf8"));
  const manifest: { paths: string[]; weights: WeightsManifestEntry[] }[] = json.weightsManifest ?? [];
  const weightSpecs = manifest.flatMap((g) => g.weights);
  const shards = manifest.flatMap((g) => g.paths.map((p) => Buffer.from(readWeights(p.replace(/^\.\//, "")))));
  const all = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
  };
}

/** Loads a model from a folder holding model.json (+ the weight files it names) with the caller's tf. */
export async function loadModelArtifacts(dir: string, tf: TfForLoading): Promise<tfTypes.LayersModel> {
  const jsonPath = path.join(dir, MODEL_JSON);
  if (!fs.existsSync(jsonPath)) throw new TscolabError(`no ${MODEL_JSON} in ${dir}`, "point at a checkpoint, best/ or export folder that holds a saved model");
  const artifacts = artifactsFromFiles(fs.readFileSync(jsonPath), (rel) => fs.readFileSync(path.join(dir, rel)));
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Loads a model from files already in memory (e.g. a verified LoadedCheckpoint's `files`). */
export async function loadModelFromFiles(files: Record<string, Uint8Array>, tf: TfForLoading): Promise<tfTypes.LayersModel> {
  const json = files[MODEL_JSON];
  if (!json) throw new TscolabError(`the checkpoint has no ${MODEL_JSON}`, "resume from a checkpoint written with the model (modelToFiles)");
  const artifacts = artifactsFromFiles(json, (rel) => {
    const b = files[rel];
    if (!b) throw new TscolabError(`the checkpoint has no ${rel} (named by ${MODEL_JSON})`, "resume from another checkpoint");
    return b;
  });
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}
