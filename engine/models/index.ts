// Models for %train: the zoo, model files, and notebook variables, all built
// with the one tfjs instance the kernel uses; initial weights come from the
// run's seed.
import type * as tfType from "@tensorflow/tfjs";
import path from "node:path";
import { TscolabError } from "../errors";
import { Rng, withSeededMathRandom } from "../util/rng";
import { loadModelFactory } from "./load_file";
import { type ModelConfig, type ModelFactoryArgs } from "./schema";
import { ZOO } from "./zoo";

export { modelConfig, ZOO_NAMES, type ModelConfig, type ModelFactoryArgs } from "./schema";
export { mlp, cnn, ZOO } from "./zoo";
export { loadModelFactory } from "./load_file";

type TF = typeof tfType;

export function isLayersModel(value: unknown): value is tfType.LayersModel {
  const v = value as { layers?: unknown; apply?: unknown; trainableWeights?: unknown } | null;
  return !!v && typeof v === "object" && Array.isArray(v.layers) && typeof v.apply === "function" && Array.isArray(v.trainableWeights);
}

/** Builds the model a config asks for, validating what a factory returned. */
export async function createModel(tf: TF, cfg: ModelConfig, args: Omit<ModelFactoryArgs<TF>, "tf">, opts: { seed: number; cwd: string }): Promise<tfType.LayersModel> {
  if (cfg.git) {
    throw new TscolabError("model.git sources are not supported by this build's trainer", 'clone the repository and use { "file": "path/model.ts" }');
  }
  const full: ModelFactoryArgs<TF> = { tf, ...args };
  let where: string;
  let build: () => unknown;
  if (cfg.file) {
    const file = path.resolve(opts.cwd, cfg.file);
    where = `model file ${file}`;
    const factory = loadModelFactory(file, tf);
    build = () => factory(full);
  } else {
    const zoo = cfg.zoo ?? "mlp";
    where = `model zoo "${zoo}"`;
    build = () => ZOO[zoo](tf, cfg, full);
  }
  let model: unknown;
  try {
    // Initial weights from the run's seed: the factory runs with Math.random on a seeded stream.
    model = await withSeededMathRandom(Rng.create(opts.seed, "init"), build);
  } catch (e) {
    if (e instanceof TscolabError) throw e;
    throw new TscolabError(`${where}: createModel failed: ${(e as Error).message}`, "fix the model definition");
  }
  if (!isLayersModel(model))
    throw new TscolabError(`${where}: createModel returned ${model === null ? "null" : typeof model}, not a tf.LayersModel`, "return tf.sequential(...) or tf.model(...)");
  return model;
}
