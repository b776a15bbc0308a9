// The %train configuration (SPEC 6): one zod schema for what the user writes
// (JSON file, %%train body, flags, train() argument) and one for the resolved
// config stored in run.json. Defaults come from the adaptive profile (SPEC 5)
// and the preset; explicit settings always win.
import { z } from "zod";
import { dataConfig, taskName } from "../data/schema";
import { modelConfig } from "../models/schema";
import { PROFILES, applyPreset, presetName, profileName, type ProfileName } from "../backend/profile";
import { closest } from "../util/closest";
import { TscolabError } from "../errors";

export const OPTIMIZERS = ["adam", "adamw", "sgd"] as const;
export const TIERS = ["1", "2", "3", "all"] as const;

// Tier may be written as a number in JSON (`"tier": 1`).
const tierField = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.enum(TIERS));

export const trainConfigInput = z
  .object({
    runName: z.string().min(1).optional().describe("name used in the run id"),
    seed: z.number().int().min(0).optional().describe("random seed (default 42)"),
    task: taskName.optional().describe("classification or regression (default: inferred from the labels)"),
    model: modelConfig.optional().describe('{ "zoo": "mlp", "hidden": [64, 32] } or { "file": "model.ts" }'),
    data: dataConfig.describe('{ "train": "train.csv", "label": "y" } or { "train": { "builtin": "iris" } }'),
    epochs: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().optional(),
    optimizer: z.enum(OPTIMIZERS).optional(),
    learningRate: z.number().positive().optional(),
    momentum: z.number().min(0).lt(1).optional().describe("sgd momentum (default 0.9)"),
    weightDecay: z.number().min(0).optional().describe("L2 for adam/sgd, decoupled decay for adamw (default 0, adamw 0.01)"),
    schedule: z
      .object({
        type: z.enum(["constant", "cosine"]).default("constant"),
        warmupEpochs: z.number().min(0).default(0),
        minLearningRate: z.number().min(0).default(0),
      })
      .strict()
      .optional(),
    earlyStopping: z
      .object({
        monitor: z.enum(["val_loss", "val_accuracy", "val_mse", "val_mae", "val_pearson", "loss"]).default("val_loss"),
        patience: z.number().int().positive().default(5),
        minDelta: z.number().min(0).default(0),
      })
      .strict()
      .nullable()
      .optional(),
    gradClipNorm: z.number().positive().nullable().optional(),
    tier: tierField.optional(),
    preset: presetName.optional(),
    profile: profileName.optional().describe("adaptive profile (default: from the backend in use)"),
    checkpoint: z
      .object({
        everyEpochs: z.number().int().min(0).optional(),
        everySteps: z.number().int().min(0).optional(),
        keepLast: z.number().int().min(0).default(3),
        keepBest: z.boolean().default(true),
      })
      .strict()
      .optional(),
    validateEveryEpochs: z.number().int().positive().optional(),
    drive: z.string().min(1).optional(),
  })
  .strict();

export type TrainConfigInput = z.input<typeof trainConfigInput>;

export const resolvedConfig = z.object({
  runName: z.string(),
  seed: z.number().int(),
  task: taskName.nullable(),
  model: modelConfig,
  data: dataConfig,
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  optimizer: z.enum(OPTIMIZERS),
  learningRate: z.number().positive(),
  momentum: z.number(),
  weightDecay: z.number(),
  schedule: z.object({ type: z.enum(["constant", "cosine"]), warmupEpochs: z.number(), minLearningRate: z.number() }),
  earlyStopping: z.object({ monitor: z.string(), patience: z.number().int(), minDelta: z.number() }).nullable(),
  gradClipNorm: z.number().nullable(),
  tier: z.enum(TIERS),
  preset: presetName,
  profile: profileName,
  precision: z.string(),
  checkpoint: z.object({ everyEpochs: z.number().int(), everySteps: z.number().int(), keepLast: z.number().int(), keepBest: z.boolean() }),
  validateEveryEpochs: z.number().int().positive(),
  drive: z.string().nullable(),
});
export type ResolvedConfig = z.infer<typeof resolvedConfig>;

/** Turns a zod issue into one line naming the config field and what it expects. */
export function configError(error: z.ZodError, source: string): TscolabError {
  const issue = error.issues[0];
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const known = knownKeys(issue.path);
    const guess = closest(key, known);
    const where = field ? ` in "${field}"` : "";
    return new TscolabError(`invalid config ${source}: unknown key "${key}"${where}${guess ? ` (did you mean "${guess}"?)` : ""}`, `use one of: ${known.join(", ")}`);
  }
  if (issue.code === "invalid_type" && issue.path[0] === "data" && issue.path.length === 1) {
    return new TscolabError(`invalid config ${source}: "data" is missing`, 'add e.g. "data": { "train": "train.csv", "label": "y" } or { "train": { "builtin": "iris" } }');
  }
  return new TscolabError(`invalid config ${source}: ${field || "the config"}: ${issue.message}`, `set "${field}" to the expected form (see %train --help)`);
}

/** The keys allowed at a path of the config (for "did you mean"). */
function knownKeys(at: PropertyKey[]): string[] {
  let schema: z.ZodType = trainConfigInput;
  for (const key of at) {
    while (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) schema = (schema as z.ZodOptional<z.ZodType>).unwrap();
    if (schema instanceof z.ZodPipe) schema = schema.in as z.ZodType;
    if (!(schema instanceof z.ZodObject)) return [];
    schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    if (!schema) return [];
  }
  while (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) schema = (schema as z.ZodOptional<z.ZodType>).unwrap();
  if (schema instanceof z.ZodPipe) schema = schema.in as z.ZodType;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

export function parseTrainConfig(raw: unknown, source = "(train() argument)"): z.infer<typeof trainConfigInput> {
  const parsed = trainConfigInput.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error, source);
  return parsed.data;
}

/** Fills every default: profile first, preset on top, then the user's own values. */
export function resolveConfig(raw: unknown, opts: { profile?: ProfileName; source?: string } = {}): ResolvedConfig {
  const c = parseTrainConfig(raw, opts.source);
  const profile = c.profile ?? opts.profile ?? "cpu";
  const preset = c.preset ?? "standard";
  const budget = applyPreset(PROFILES[profile], preset);
  const optimizer = c.optimizer ?? "adam";
  return resolvedConfig.parse({
    runName: c.runName ?? (typeof c.data.train === "string" ? c.data.train.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "") : c.data.train.builtin),
    seed: c.seed ?? 42,
    task: c.task ?? null,
    model: c.model ?? { zoo: "mlp" },
    data: c.data,
    epochs: c.epochs ?? budget.epochs,
    batchSize: c.batchSize ?? budget.batchSize,
    optimizer,
    learningRate: c.learningRate ?? (optimizer === "sgd" ? 0.01 : 0.001),
    momentum: c.momentum ?? (optimizer === "sgd" ? 0.9 : 0),
    weightDecay: c.weightDecay ?? (optimizer === "adamw" ? 0.01 : 0),
    schedule: c.schedule ?? { type: "constant", warmupEpochs: 0, minLearningRate: 0 },
    earlyStopping: c.earlyStopping ?? null,
    gradClipNorm: c.gradClipNorm ?? null,
    tier: c.tier ?? "all",
    preset,
    profile,
    precision: budget.precision,
    checkpoint: {
      everyEpochs: c.checkpoint?.everyEpochs ?? budget.checkpointEveryEpochs,
      everySteps: c.checkpoint?.everySteps ?? budget.checkpointEverySteps,
      keepLast: c.checkpoint?.keepLast ?? 3,
      keepBest: c.checkpoint?.keepBest ?? true,
    },
    validateEveryEpochs: c.validateEveryEpochs ?? budget.validateEveryEpochs,
    drive: c.drive ?? null,
  });
}
