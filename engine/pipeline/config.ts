// A pipeline's config: named stages, each a train config (over a shared
// `base`), every stage a folds run with the same K and the same fold
// assignment; a stage may take earlier stages' out-of-fold predictions as
// extra input features (`inputs`). Checked whole before anything runs: stage
// names, inputs that name no stage or a later one (a cycle), stacked stages
// that read other rows than their inputs, and each stage's train config.
import { z } from "zod";
import { TscolabError } from "../errors";
import { closest } from "../util/closest";
import { parseTrainConfig } from "../train/config";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export const STAGE_NAME = /^[A-Za-z0-9_-]+$/;

export const stageConfig = z
  .object({
    name: z.string().regex(STAGE_NAME, "letters, digits, - and _ only").describe("the stage's name (its runs are <pipeline>-<name>-foldK)"),
    inputs: z.array(z.string()).default([]).describe("earlier stages whose out-of-fold predictions become extra input features"),
    config: z.record(z.string(), z.unknown()).default({}).describe("the stage's train config, over the pipeline's base"),
  })
  .strict();

export const pipelineConfig = z
  .object({
    name: z.string().min(1).optional().describe("used in the pipeline id and its runs' names; default: the config file's name"),
    seed: z.number().int().min(0).default(42).describe("seed of the fold assignment every stage shares, and of stages that set none"),
    folds: z
      .union([z.number().int(), z.literal("auto")])
      .default("auto")
      .describe("K for every stage (auto: from the adaptive profile)"),
    drive: z.string().min(1).optional().describe("Drive root"),
    base: z.record(z.string(), z.unknown()).default({}).describe("train config keys every stage shares (data merges key by key; other keys are replaced)"),
    stages: z.array(stageConfig).min(1).describe("the stages, in the order they run"),
  })
  .strict();
export type PipelineConfig = z.output<typeof pipelineConfig>;
export type PipelineConfigInput = z.input<typeof pipelineConfig>;
export type StageConfig = z.output<typeof stageConfig>;

/** A stage's train config: the base, then the stage's own keys (`data` merged key by key), with the pipeline's folds and seed. */
export function mergeStage(p: Pick<PipelineConfig, "base" | "seed">, stage: StageConfig, k: number, runName: string): Obj {
  const data = { ...(isObj(p.base.data) ? p.base.data : {}), ...(isObj(stage.config.data) ? stage.config.data : {}) };
  return { seed: p.seed, ...p.base, ...stage.config, data, folds: k, runName };
}

/** Same rows in the same order: what stacking needs from a stage and its inputs. */
export const rowsKey = (cfg: Obj): string => {
  const d = (cfg.data ?? {}) as Obj;
  return JSON.stringify([d.train, d.valid ?? null, d.label ?? null]);
};

function configError(e: z.ZodError, source: string): TscolabError {
  // A misspelt key explains the missing one it was meant to be.
  const issue = e.issues.find((i) => i.code === "unrecognized_keys") ?? e.issues[0]!;
  const where = issue.path.length ? issue.path.join(".") : "the config";
  if (issue.code === "unrecognized_keys") {
    const known = issue.path.length ? Object.keys(stageConfig.shape) : Object.keys(pipelineConfig.shape);
    const guess = closest(issue.keys[0]!, known);
    return new TscolabError(`invalid pipeline config ${source}: unknown key "${issue.keys[0]}"${guess ? ` (did you mean "${guess}"?)` : ""}`, `use one of: ${known.join(", ")}`);
  }
  return new TscolabError(
    `invalid pipeline config ${source}: ${where}: ${issue.message}`,
    'see tscolab pipeline --help; e.g. { "stages": [{ "name": "mlp", "config": { ... } }] }',
  );
}

/** Validates a pipeline config whole; every problem is one line with the fix. */
export function parsePipelineConfig(raw: unknown, source: string): PipelineConfig {
  const parsed = pipelineConfig.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error, source);
  const p = parsed.data;
  if (p.folds !== "auto" && p.folds < 2)
    throw new TscolabError(`pipeline ${source}: folds ${p.folds}: every stage is a folds run and needs at least 2 folds`, 'set "folds" to 2 or more, or "auto"');
  for (const where of ["base", ...p.stages.map((s) => `stage "${s.name}"`)]) {
    const cfg = where === "base" ? p.base : p.stages.find((s) => `stage "${s.name}"` === where)!.config;
    if ("folds" in cfg) throw new TscolabError(`pipeline ${source}: ${where} sets "folds"`, 'set "folds" once, at the top of the pipeline config: every stage uses the same folds');
  }
  const names = p.stages.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new TscolabError(`pipeline ${source}: two stages are named "${dup}"`, "give every stage its own name");
  p.stages.forEach((stage, i) => {
    for (const input of stage.inputs) {
      const at = names.indexOf(input);
      if (at < 0) {
        const guess = closest(input, names);
        throw new TscolabError(
          `pipeline ${source}: stage "${stage.name}" takes inputs from "${input}", which is not a stage${guess ? ` (did you mean "${guess}"?)` : ""}`,
          `name one of the stages: ${names.join(", ")}`,
        );
      }
      if (at === i) throw new TscolabError(`pipeline ${source}: stage "${stage.name}" takes its own predictions as input (a cycle)`, `remove "${input}" from its inputs`);
      if (at > i)
        throw new TscolabError(
          `pipeline ${source}: stage "${stage.name}" takes inputs from "${input}", which runs after it (stages run in order, so this is a cycle)`,
          `move "${input}" before "${stage.name}", or drop it from the inputs`,
        );
    }
    if (new Set(stage.inputs).size !== stage.inputs.length) throw new TscolabError(`pipeline ${source}: stage "${stage.name}" lists an input twice`, "list each input stage once");
  });
  // Each stage's train config must be valid as it stands (a stacked stage's data file is made when it starts).
  for (const stage of p.stages) {
    const merged = mergeStage(p, stage, p.folds === "auto" ? 2 : p.folds, `${p.name ?? "pipeline"}-${stage.name}`);
    parseTrainConfig(merged, `(pipeline ${source}, stage "${stage.name}")`);
    if (!stage.inputs.length) continue;
    const features = (merged.data as Obj).features;
    if (typeof features === "string")
      throw new TscolabError(
        `pipeline ${source}: stage "${stage.name}" stacks predictions onto data.features "${features}", one array column; a stacked stage reads scalar feature columns`,
        "list scalar columns in data.features (or none: the stage then learns from its inputs' predictions alone)",
      );
    for (const input of stage.inputs) {
      const other = mergeStage(
        p,
        p.stages.find((s) => s.name === input)!,
        2,
        input,
      );
      if (rowsKey(other) !== rowsKey(merged))
        throw new TscolabError(
          `pipeline ${source}: stage "${stage.name}" and its input "${input}" read different rows (data.train, data.valid or data.label differ)`,
          "stacking needs the same rows in the same order: give both stages the same data.train, data.valid and data.label (put them in base)",
        );
    }
  }
  return p;
}
