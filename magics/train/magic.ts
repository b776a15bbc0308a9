// %train / %%train / `tscolab train`: parse flags (the same zod schema for the
// magic and the CLI), merge config file < cell body < flags, call the engine,
// show one progress block updated in place, render the summary.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { BUILTIN_DATASETS, taskName } from "../../engine/data/schema";
import { isGitModelRef, parseGitModelRef } from "../../engine/git/ref"; // not ../shared/git: no simple-git at start-up
import { isLayersModel, ZOO_NAMES } from "../../engine/models";
import { presetName, profileName } from "../../engine/backend/profile";
import { registerMagic } from "../registry";
import { TscolabError, UsageError, type DisplayHandle, type MagicContext } from "../types";
import { OPTIMIZERS, TIERS } from "../../engine/train/config";
import type { TrainOptions, TrainResult } from "../../engine/train/train";
import type { ProgressEvent } from "../../engine/train/progress";
import { progressBundle, summaryBundle } from "./render";

export const trainArgs = z.object({
  model: z.any().optional().describe("a notebook variable holding a tf.LayersModel, a zoo name (mlp, cnn), a .ts/.js model file or git+URL#REV:FILE"),
  trust: z.boolean().optional().describe("git models: run the fetched code even when the scan finds child processes, eval, network or file writes"),
  config: z.string().optional().describe("JSON config file (SPEC 6 keys); the cell body and flags override it"),
  resume: z.string().optional().describe("run id, run folder or 'last': continue from its newest valid checkpoint"),
  data: z.string().optional().describe(`training data: a .csv/.jsonl file or a builtin (${BUILTIN_DATASETS.join(", ")})`),
  valid: z.string().optional().describe("validation data file (default: hold out --validation-split)"),
  label: z.string().optional().describe("label column"),
  features: z.array(z.string()).optional().describe("feature columns (or one array column)"),
  validationSplit: z.number().min(0).max(0.9).optional().describe("fraction of training rows held out"),
  task: taskName.optional().describe("classification or regression (default: inferred)"),
  epochs: z.number().int().positive().optional().describe("epochs to train"),
  batchSize: z.number().int().positive().optional().describe("batch size"),
  lr: z.number().positive().optional().describe("learning rate"),
  optimizer: z.enum(OPTIMIZERS).optional().describe("optimizer"),
  weightDecay: z.number().min(0).optional().describe("weight decay (decoupled for adamw)"),
  momentum: z.number().min(0).lt(1).optional().describe("sgd momentum"),
  schedule: z.enum(["constant", "cosine"]).optional().describe("learning-rate schedule"),
  warmupEpochs: z.number().min(0).optional().describe("linear warm-up epochs"),
  gradClipNorm: z.number().positive().optional().describe("clip gradients to this global norm"),
  patience: z.number().int().positive().optional().describe("early stopping: epochs without improvement"),
  minDelta: z.number().min(0).optional().describe("early stopping: smallest improvement that counts"),
  monitor: z.enum(["val_loss", "val_accuracy", "val_mse", "val_mae", "val_pearson", "loss"]).optional().describe("metric for early stopping and best model"),
  hidden: z.array(z.number().int().positive()).optional().describe("zoo mlp hidden layer sizes"),
  dropout: z.number().min(0).lt(1).optional().describe("zoo dropout rate"),
  batchNorm: z.boolean().optional().describe("zoo batch normalisation"),
  seed: z.number().int().min(0).optional().describe("random seed"),
  tier: z.enum(TIERS).optional().describe("which tiers to run (all = 1, then 2, then 3)"),
  preset: presetName.optional().describe("budget preset"),
  profile: profileName.optional().describe("adaptive profile (default: from the backend)"),
  runName: z.string().optional().describe("name in the run id"),
  drive: z.string().optional().describe("Drive root"),
  checkpointEverySteps: z.number().int().min(0).optional().describe("checkpoint every N steps (0: off)"),
  checkpointEveryEpochs: z.number().int().min(0).optional().describe("checkpoint every N epochs (0: off)"),
  keepLast: z.number().int().min(0).optional().describe("checkpoints to keep (0: all)"),
  json: z.boolean().default(false).describe("print the summary as JSON"),
});
type TrainArgs = z.infer<typeof trainArgs>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function readJsonConfig(file: string): Obj {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TscolabError(`config file ${file} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`, "pass --config with the path of a JSON file");
  }
  return parseJsonObject(text, `config file ${file}`);
}

function parseJsonObject(text: string, what: string): Obj {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TscolabError(`${what} is not valid JSON: ${(e as Error).message}`, "write the config as one JSON object");
  }
  if (!isObj(value)) throw new TscolabError(`${what} must be a JSON object like { "data": { "train": "train.csv" } }`, "wrap the settings in { ... }");
  return value;
}

// Flag → config key, at the top level and inside the nested sections.
const TOP_FLAGS = [
  ["epochs", "epochs"], ["batchSize", "batchSize"], ["lr", "learningRate"], ["optimizer", "optimizer"], ["weightDecay", "weightDecay"],
  ["momentum", "momentum"], ["gradClipNorm", "gradClipNorm"], ["seed", "seed"], ["tier", "tier"], ["preset", "preset"], ["profile", "profile"],
  ["runName", "runName"], ["drive", "drive"], ["task", "task"],
] as const;
const SECTION_FLAGS = [
  ["data", [["data", "train"], ["valid", "valid"], ["label", "label"], ["features", "features"], ["validationSplit", "validationSplit"]]],
  ["schedule", [["schedule", "type"], ["warmupEpochs", "warmupEpochs"]]],
  ["earlyStopping", [["patience", "patience"], ["minDelta", "minDelta"], ["monitor", "monitor"]]],
  ["checkpoint", [["checkpointEverySteps", "everySteps"], ["checkpointEveryEpochs", "everyEpochs"], ["keepLast", "keepLast"]]],
  ["model", [["hidden", "hidden"], ["dropout", "dropout"], ["batchNorm", "batchNorm"], ["trust", "trust"]]],
] as const;

/** `--data iris` means the built-in data set; anything else is a file. */
const dataSource = (v: unknown) => (typeof v === "string" && (BUILTIN_DATASETS as readonly string[]).includes(v) ? { builtin: v } : v);

/** Flags override the file and the body; nested sections merge key by key. */
function applyFlags(raw: Obj, a: TrainArgs): Obj {
  for (const [flag, key] of TOP_FLAGS) if (a[flag] !== undefined) raw[key] = a[flag];
  for (const [name, pairs] of SECTION_FLAGS) {
    const given = pairs.filter(([flag]) => a[flag] !== undefined);
    if (!given.length) continue;
    const section: Obj = isObj(raw[name]) ? { ...(raw[name] as Obj) } : {};
    for (const [flag, key] of given) section[key] = name === "data" && (key === "train" || key === "valid") ? dataSource(a[flag]) : a[flag];
    raw[name] = section;
  }
  return raw;
}

/** The positional model: a LayersModel variable, a zoo name, or a model file. */
function modelFromPositional(value: unknown, raw: Obj): TrainOptions["model"] {
  if (value === undefined) return undefined;
  if (isLayersModel(value)) return value;
  if (typeof value === "string") {
    const model = isObj(raw.model) ? { ...(raw.model as Obj) } : {};
    delete model.zoo;
    delete model.file;
    delete model.git;
    if ((ZOO_NAMES as readonly string[]).includes(value)) raw.model = { ...model, zoo: value };
    else if (isGitModelRef(value)) raw.model = { ...model, git: parseGitModelRef(value) };
    else if (/\.(ts|js|mts|cts|mjs|cjs)$/.test(value)) raw.model = { ...model, file: value };
    else throw new UsageError(`<model>: ${JSON.stringify(value)} is not a notebook variable, a zoo name (${ZOO_NAMES.join(", ")}), a .ts/.js file or git+URL#REV:FILE`);
    return undefined;
  }
  throw new UsageError(`<model>: expected a tf.LayersModel, got ${value === null ? "null" : typeof value}`);
}

/** Keeps the notebook to one progress block: updates at most every 250 ms, plus every epoch end and phase change. */
function progressDisplay(ctx: MagicContext): (e: ProgressEvent) => void {
  let handle: DisplayHandle | undefined;
  let lastAt = 0;
  let lastPhase = "";
  return (e) => {
    const now = Date.now();
    if (handle && !e.epochEnded && e.phase === lastPhase && now - lastAt < 250) return;
    lastAt = now;
    lastPhase = e.phase;
    const bundle = progressBundle(e, e.task);
    if (!handle) handle = ctx.display(bundle);
    else handle.update(bundle);
  };
}

export async function runTrainMagic(args: TrainArgs, ctx: MagicContext, body?: string): Promise<TrainResult> {
  let raw: Obj = args.config ? readJsonConfig(path.resolve(ctx.cwd, args.config)) : {};
  if (body && body.trim()) raw = { ...raw, ...parseJsonObject(body, "the %%train cell body") };
  raw = applyFlags(raw, args);
  const model = modelFromPositional(args.model, raw);
  const noConfig = !args.config && !(body && body.trim()) && Object.keys(raw).length === 0;
  const display = progressDisplay(ctx);
  // The engine (and tfjs) loads on first use, so the CLI and the kernel start fast.
  const { train } = await import("../../engine/train/train");
  const result = await train(args.resume && noConfig ? undefined : (raw as never), {
    model,
    cwd: ctx.cwd,
    signal: ctx.signal,
    resume: args.resume,
    drive: args.drive,
    configSource: args.config ? `in ${args.config}` : body && body.trim() ? "in the %%train body" : "from the flags",
    onProgress: display,
  });
  return result;
}

registerMagic({
  name: "train",
  summary: "Train a model in tiers (smoke, dev, full) with checkpoints in the Drive folder.",
  args: trainArgs,
  positionals: [{ name: "model" }],
  acceptsBody: true,
  examples: [
    "%train --data iris --epochs 30",
    "%train model --config train.json --lr 3e-4",
    "%train cnn --data mnist --epochs 3 --batch-norm",
    '%%train --epochs 5      (cell body: {"data": {"train": "data/train.csv", "label": "y"}, "model": {"zoo": "mlp", "hidden": [64, 32]}})',
    "tscolab train --config train.json --json",
    "tscolab train --resume last",
  ],
  run: runTrainMagic,
  render: (result) => summaryBundle(result, result.history),
  // 0: completed (early stopping included); 130: interrupted (like SIGINT); 1: a tier failed.
  exitCode: (result) => (result.status === "completed" ? 0 : result.status === "stopped" ? 130 : 1),
  // A stop (interrupt, resumable) is not a failure; a failed tier is.
  failure: (result) => (result.status === "failed" ? `${result.diagnosis ?? "a tier failed"}${result.fix ? ` (fix: ${result.fix})` : ""}` : undefined),
});
