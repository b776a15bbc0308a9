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

/**
 * A model file on disk gets the scan a model from git gets (child processes,
 * eval of strings, network, file writes, followed through its local imports):
 * the same code must not be refused from git yet run unchecked from a folder.
 * `trust` runs it anyway, with a note naming what was found.
 */
async function scanLocalModel(file: string, cwd: string, trust: boolean, notes?: string[]): Promise<void> {
  const { scanModelTree } = await import("../git/scan_tree");
  const { refusal } = await import("../git/resolve");
  const inside = !path.relative(cwd, file).startsWith("..");
  const root = inside ? cwd : path.dirname(file);
  const scan = scanModelTree(file, root, { rootName: "the model's folder" });
  if (!scan.findings.length) return;
  if (!trust) throw refusal(scan.findings, `model file ${file}`);
  notes?.push(`trusted model file ${file} despite ${scan.findings.length} scan finding(s): ${scan.findings.map((f) => `${f.file}:${f.line} ${f.pattern}`).join("; ")}`);
}

/** Builds the model a config asks for, validating what a factory returned. */
export async function createModel(
  tf: TF,
  cfg: ModelConfig,
  args: Omit<ModelFactoryArgs<TF>, "tf">,
  opts: { seed: number; cwd: string; notes?: string[] },
): Promise<tfType.LayersModel> {
  if (cfg.git) {
    throw new TscolabError("model.git sources are not supported by this build's trainer", 'clone the repository and use { "file": "path/model.ts" }');
  }
  const full: ModelFactoryArgs<TF> = { tf, ...args };
  let where: string;
  let build: () => unknown;
  if (cfg.file) {
    const file = path.resolve(opts.cwd, cfg.file);
    where = `model file ${file}`;
    await scanLocalModel(file, opts.cwd, cfg.trust ?? false, opts.notes);
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
