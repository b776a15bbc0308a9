// %train / %%train / `tscolab train`: parse flags (the same zod schema for the
// magic and the CLI), merge config file < cell body < flags, call the engine,
// show one progress block updated in place, render the summary.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { isGitModelRef, parseGitModelRef } from "../../engine/git/ref"; // the ref parser alone: engine/git loads simple-git, too slow for start-up
import { isLayersModel, ZOO_NAMES } from "../../engine/models";
import { registerMagic } from "../registry";
import { TscolabError, UsageError, type DisplayHandle, type MagicContext } from "../types";
import { TRAIN_FLAGS, applyTrainFlags } from "../../engine/train/config";
import { kebab, type ValueHint } from "../schema_info";
import { BUILTIN_DATASETS } from "../../engine/data/schema";
import { TABLE_EXTENSIONS } from "../../engine/data/table_reader";
import type { TrainOptions, TrainResult } from "../../engine/train/train";
import type { ProgressEvent } from "../../engine/train/progress";
import { progressBundle, summaryBundle } from "./render";
import { foldsBundle } from "./folds_render";

/** A positional model ending so is a model file. */
const MODEL_FILE_EXTENSIONS = [".ts", ".js", ".mts", ".cts", ".mjs", ".cjs"];

// What Tab offers for flag values that are not enums (enum values come from the schemas).
const dataValues: ValueHint = { values: BUILTIN_DATASETS, files: Object.keys(TABLE_EXTENSIONS) };
const VALUE_HINTS: Record<string, ValueHint> = { data: dataValues, valid: dataValues, drive: { dirs: true } };

// Every train option's flag comes from its declaration in the engine, with
// its group and default for the help; the magic adds only its own arguments.
const optionFlags = Object.fromEntries(
  TRAIN_FLAGS.map((f) => {
    // The config key spelled as a flag (--learning-rate, --checkpoint-keep-last) points a typo to the real flag.
    const spelled = "--" + kebab(f.path.join("-"));
    const hintNames = spelled === "--" + kebab(f.name) ? [] : [spelled];
    const complete = VALUE_HINTS[f.name];
    return [f.name, f.type.optional().meta({ description: f.description, group: f.group, defaultText: f.defaultText, metavar: f.metavar, hintNames, complete })];
  }),
) as Record<string, z.ZodOptional>;

export const trainArgs = z.object({
  model: z
    .any()
    .optional()
    .meta({
      description: "a notebook variable holding a tf.LayersModel, a zoo name (mlp, cnn), a .ts/.js model file or git+URL#REV:FILE",
      complete: { values: ZOO_NAMES, files: MODEL_FILE_EXTENSIONS },
    }),
  config: z
    .string()
    .optional()
    .meta({
      description: "JSON config file with the options below under their config keys (learningRate, checkpoint.keepLast, ...); the cell body and flags override it",
      metavar: "FILE",
      complete: { files: [".json"] },
    }),
  resume: z
    .string()
    .optional()
    .meta({ description: "run id, run folder or 'last': continue from its newest valid checkpoint", metavar: "RUN", complete: { runs: true } }),
  json: z.boolean().default(false).describe("print the summary as JSON"),
  ...optionFlags,
});
/** The magic's own arguments, typed; the option flags by name (validated by their declared types). */
type TrainArgs = z.infer<typeof trainArgs> & Record<string, unknown>;

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
    else if (MODEL_FILE_EXTENSIONS.some((ext) => (value as string).endsWith(ext))) raw.model = { ...model, file: value };
    else
      throw new UsageError(
        `<model>: ${JSON.stringify(value)} is not a notebook variable, a zoo name (${ZOO_NAMES.join(", ")}), a .ts/.js file or git+URL#REV:FILE (a variable is written without quotes)`,
      );
    return undefined;
  }
  throw new UsageError(`<model>: expected a tf.LayersModel, got ${value === null ? "null" : typeof value}`);
}

/**
 * Keeps the notebook to one progress block: updates at most every 250 ms, plus
 * every epoch end and phase change. When training returns, the block keeps its
 * last lines but drops its chart, which the summary below it shows: one plot
 * per cell. When training throws, no summary follows: the chart stays and the
 * block says it ended.
 */
function progressDisplay(ctx: MagicContext): { show(e: ProgressEvent): void; end(error?: unknown): void } {
  let handle: DisplayHandle | undefined;
  let last: ProgressEvent | undefined;
  let lastAt = 0;
  return {
    show(e) {
      const now = Date.now();
      if (handle && !e.epochEnded && e.phase === last?.phase && now - lastAt < 250) return;
      lastAt = now;
      last = e;
      const bundle = progressBundle(e, e.task);
      if (!handle) handle = ctx.display(bundle);
      else handle.update(bundle);
    },
    end(error) {
      if (!handle || !last) return;
      handle.update(error === undefined ? progressBundle(last, last.task, { chart: false }) : progressBundle(last, last.task, { endedBy: error }));
    },
  };
}

export async function runTrainMagic(args: TrainArgs, ctx: MagicContext, body?: string): Promise<TrainResult> {
  let raw: Obj = args.config ? readJsonConfig(path.resolve(ctx.cwd, args.config)) : {};
  if (body && body.trim()) raw = { ...raw, ...parseJsonObject(body, "the %%train cell body") };
  raw = applyTrainFlags(raw, args);
  const model = modelFromPositional(args.model, raw);
  const noConfig = !args.config && !(body && body.trim()) && Object.keys(raw).length === 0;
  const display = progressDisplay(ctx);
  // The engine (and tfjs) loads on first use, so the CLI and the kernel start fast.
  const { train } = await import("../../engine/train/train");
  let result: TrainResult;
  try {
    result = await train(args.resume && noConfig ? undefined : (raw as never), {
      model,
      cwd: ctx.cwd,
      signal: ctx.signal,
      resume: args.resume,
      drive: args.drive as string | undefined,
      configSource: args.config ? `in ${args.config}` : body && body.trim() ? "in the %%train body" : "from the flags",
      onProgress: display.show,
    });
  } catch (e) {
    display.end(e);
    throw e;
  }
  display.end();
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
    "%train --data iris --folds 5      (5 fold runs, out-of-fold predictions in the parent run's oof.jsonl)",
    '%%train --epochs 5      (cell body: {"data": {"train": "data/train.csv", "label": "y"}, "model": {"zoo": "mlp", "hidden": [64, 32]}})',
    "tscolab train --config train.json --json",
    "tscolab train --resume last",
  ],
  run: runTrainMagic,
  resultType: { name: "TrainResult", module: "engine/train/train" },
  render: (result) => (result.folds ? foldsBundle({ ...result.summary, folds: result.folds }) : summaryBundle(result, result.history)),
  // 0: completed (early stopping included); 130: interrupted (like SIGINT); 1: a tier failed.
  exitCode: (result) => (result.status === "completed" ? 0 : result.status === "stopped" ? 130 : 1),
  // A stop (interrupt, resumable) is not a failure; a failed tier is.
  failure: (result) => (result.status === "failed" ? `${result.diagnosis ?? "a tier failed"}${result.fix ? ` (fix: ${result.fix})` : ""}` : undefined),
});
