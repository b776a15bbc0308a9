// Every %train option, declared once: where it sits in the config, its zod
// type, its default, one line of help, its flag and its help group. The
// config schemas, the resolved config, the flags of %train and `tscolab
// train`, the flag → config mapping and the help are all derived from
// TRAIN_OPTIONS (see ./config.ts), so a new option is one entry here.
//
// The vocabularies a user can write (optimizer, schedule, monitored metric,
// tier) are declared here too, and the modules that act on them import
// them: this module loads only zod schemas, so the magic reads it at start-up
// without loading tfjs.
import { z } from "zod";
import { BUILTIN_DATASETS, dataConfig, taskName, type DataConfig } from "../data/schema";
import { modelConfig } from "../models/schema";
import { TOKENIZER_TYPES } from "../text/tokenizer_types";
import { DEFAULT_KEEP_LAST } from "../store/checkpoint_policy";
import { presetName, profileName, type PresetName, type ProfileName, type ProfileSettings } from "../backend/profile";

export const OPTIMIZERS = ["adam", "adamw", "sgd"] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

export const SCHEDULES = ["constant", "cosine"] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

/** What early stopping and the best checkpoint can watch: a validation metric, or the training loss. */
export const MONITORS = ["val_loss", "val_accuracy", "val_mse", "val_mae", "val_pearson", "val_perplexity", "val_token_accuracy", "loss"] as const;
export type Monitor = (typeof MONITORS)[number];
/** Watched when the config names no metric. */
export const DEFAULT_MONITOR: Monitor = "val_loss";

/** "all" runs 1, then 2, then 3. */
export const TIERS = ["1", "2", "3", "all"] as const;

/** Help sections, in the order the help lists them. */
export const OPTION_GROUPS = ["data", "model", "optimisation", "checkpoints", "run"] as const;
export type OptionGroup = (typeof OPTION_GROUPS)[number];

/** What a default computed at resolve time may read. */
export interface DefaultContext {
  /** The config as written (validated). */
  config: { data: DataConfig };
  /** The profile of the backend training runs on, when known. */
  backendProfile?: ProfileName;
  /** The resolved profile, preset and optimizer, and the budget they give. */
  profile: ProfileName;
  preset: PresetName;
  budget: ProfileSettings;
  optimizer: OptimizerKind;
}

/** A default computed when the config is resolved; `says` is what the help shows for it. */
export class Computed<V> {
  readonly kind = "computed";
  constructor(
    readonly compute: (c: DefaultContext) => V,
    readonly says: string,
  ) {}
}

/** No value by default (the resolved config holds null); `says` is what that means. */
export class Unset {
  readonly kind = "unset";
  constructor(readonly says: string) {}
}

const computed = <V>(compute: (c: DefaultContext) => V, says: string) => new Computed(compute, says);
/** A budget setting of the adaptive profile (the preset scales epochs). */
const fromProfile = (key: "epochs" | "batchSize" | "checkpointEveryEpochs" | "checkpointEverySteps" | "validateEveryEpochs") =>
  computed((c) => c.budget[key], key === "epochs" ? "from the profile and preset" : "from the profile");

export interface FlagSpec {
  /** camelCase name; the flag is its kebab-case (batchSize → --batch-size). */
  name: string;
  /** What the flag accepts, where it differs from the config value (`--data iris` is a name or a path). */
  type?: z.ZodType;
  /** Turns the flag's value into the config value. */
  toConfig?: (value: unknown) => unknown;
  /** Placeholder shown in the help (FILE, COLUMN). */
  metavar?: string;
  /** Help text, where it should differ from the option's description. */
  description?: string;
  /** The default in words, where the section's schema has none to show. */
  defaultSays?: string;
}
type FlagInit = string | FlagSpec;

export type Default<V> = V | Computed<V> | Unset;

/** One setting: a top-level key, or a key of a section. */
export interface Option<T extends z.ZodType = z.ZodType, D = unknown, N extends boolean = boolean> {
  kind: "option";
  type: T;
  default: D;
  /** The config may write null, meaning the same as leaving it out. */
  nullable: N;
  /** Applied to a config value before validation (a tier written as a JSON number). */
  coerce?: (value: unknown) => unknown;
  /** The type run.json holds, where it must be looser than what a user may write. */
  resolvedType?: z.ZodType;
  description: string;
  group: OptionGroup;
  flag?: FlagSpec;
}

/** A section whose keys are declared here (schedule, earlyStopping, checkpoint). */
export interface Section<K extends Record<string, Option> = Record<string, Option>, Off extends boolean = boolean> {
  kind: "section";
  keys: K;
  /** Absent or null means the feature is off (the resolved config holds null); otherwise absent keys take their defaults. */
  offWhenAbsent: Off;
  description: string;
}

/** A section with its own schema (data, model); some of its keys have flags. */
export interface SchemaSection<S extends z.ZodObject = z.ZodObject, R extends boolean = boolean> {
  kind: "schema";
  schema: S;
  /** The config must have this section. */
  required: R;
  /** Used when the config leaves the section out. */
  default?: z.output<S>;
  /** Keys with a flag; the key's type, description and default are the schema's own. */
  flags: Partial<Record<keyof S["shape"] & string, FlagSpec>>;
  description: string;
  /** The help group of its flags. */
  group: OptionGroup;
}

/** A fact of the resolved config computed from the others; not an option a user writes. */
export interface Derived<T extends z.ZodType = z.ZodType> {
  kind: "derived";
  type: T;
  compute: (c: DefaultContext) => z.output<T>;
  description: string;
}

export type Entry = Option | Section | SchemaSection | Derived;

const flagSpec = (f: FlagInit | undefined): FlagSpec | undefined => (typeof f === "string" ? { name: f } : f);

interface OptionInit<T extends z.ZodType, D, N extends boolean> {
  type: T;
  default: D;
  nullable?: N;
  coerce?: (value: unknown) => unknown;
  resolvedType?: z.ZodType;
  description: string;
  group: OptionGroup;
  flag?: FlagInit;
}
// Two signatures so the resolved type knows which options may be null (an Unset default).
function option<T extends z.ZodType, N extends boolean = false>(init: OptionInit<T, Unset, N>): Option<T, Unset, N>;
function option<T extends z.ZodType, N extends boolean = false>(init: OptionInit<T, z.output<T> | Computed<z.output<T>>, N>): Option<T, z.output<T> | Computed<z.output<T>>, N>;
function option(init: OptionInit<z.ZodType, unknown, boolean>): Option {
  return { kind: "option", ...init, nullable: init.nullable ?? false, flag: flagSpec(init.flag) };
}

function section<K extends Record<string, Option>, Off extends boolean = false>(init: { keys: K; offWhenAbsent?: Off; description: string }): Section<K, Off> {
  return { kind: "section", ...init, offWhenAbsent: (init.offWhenAbsent ?? false) as Off };
}

function schemaSection<S extends z.ZodObject, R extends boolean = false>(init: {
  schema: S;
  required?: R;
  default?: z.output<S>;
  flags: Partial<Record<keyof S["shape"] & string, FlagInit>>;
  description: string;
  group: OptionGroup;
}): SchemaSection<S, R> {
  const flags: Partial<Record<string, FlagSpec>> = {};
  for (const [key, f] of Object.entries(init.flags)) flags[key] = flagSpec(f as FlagInit);
  return { kind: "schema", ...init, required: (init.required ?? false) as R, flags };
}

/** `--data iris` means the built-in data set; anything else is a file. */
const builtinOrPath = (v: unknown) => (typeof v === "string" && (BUILTIN_DATASETS as readonly string[]).includes(v) ? { builtin: v } : v);
/** The data file's name without folder and extension, or the built-in's name. */
const dataName = (d: DataConfig) => (typeof d.train === "string" ? d.train.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "") : d.train.builtin);

export const TRAIN_OPTIONS = {
  runName: option({
    type: z.string().min(1),
    // A data file named ".csv" yields an empty name; run.json must still load.
    resolvedType: z.string(),
    default: computed((c) => dataName(c.config.data), "the data file's name"),
    description: "name used in the run id",
    group: "run",
    flag: { name: "runName", metavar: "NAME" },
  }),
  seed: option({ type: z.number().int().min(0), default: 42, description: "random seed", group: "run", flag: "seed" }),
  task: option({
    type: taskName,
    default: new Unset("inferred from the data"),
    description: "classification, regression, language-modeling or text-classification",
    group: "data",
    flag: "task",
  }),
  tokenizer: section({
    description: "text tasks: how text becomes tokens (trained on the training data only)",
    keys: {
      type: option({ type: z.enum(TOKENIZER_TYPES), default: "char", description: "tokenizer: char or byte-level bpe", group: "data", flag: "tokenizer" }),
      vocabSize: option({
        type: z.number().int().positive(),
        nullable: true,
        default: new Unset("char: every symbol seen; bpe: 512"),
        description: "tokenizer vocabulary size",
        group: "data",
        flag: "vocabSize",
      }),
    },
  }),
  model: schemaSection({
    schema: modelConfig,
    default: { zoo: "mlp" },
    description: '{ "zoo": "mlp", "hidden": [64, 32] } or { "file": "model.ts" }',
    group: "model",
    flags: { hidden: "hidden", dropout: "dropout", batchNorm: "batchNorm", trust: "trust", layers: "layers", heads: "heads", dModel: "dModel", seqLen: "seqLen" },
  }),
  data: schemaSection({
    schema: dataConfig,
    required: true,
    description: '{ "train": "train.csv", "label": "y" } or { "train": { "builtin": "iris" } }',
    group: "data",
    flags: {
      train: {
        name: "data",
        type: z.string(),
        toConfig: builtinOrPath,
        metavar: "FILE",
        description: `training data: a .csv/.jsonl file or a builtin (${BUILTIN_DATASETS.join(", ")})`,
      },
      valid: {
        name: "valid",
        type: z.string(),
        toConfig: builtinOrPath,
        metavar: "FILE",
        description: "validation data: a .csv/.jsonl file or a builtin",
        defaultSays: "hold out --validation-split",
      },
      label: { name: "label", metavar: "COLUMN" },
      text: { name: "text", metavar: "COLUMN" },
      features: { name: "features", type: z.array(z.string()), metavar: "COLUMN[,...]" },
      validationSplit: "validationSplit",
    },
  }),
  epochs: option({ type: z.number().int().positive(), default: fromProfile("epochs"), description: "epochs to train", group: "optimisation", flag: "epochs" }),
  batchSize: option({ type: z.number().int().positive(), default: fromProfile("batchSize"), description: "batch size", group: "optimisation", flag: "batchSize" }),
  optimizer: option({ type: z.enum(OPTIMIZERS), default: "adam", description: "optimizer (adamw: decoupled weight decay)", group: "optimisation", flag: "optimizer" }),
  learningRate: option({
    type: z.number().positive(),
    default: computed((c) => (c.optimizer === "sgd" ? 0.01 : 0.001), "0.001, sgd 0.01"),
    description: "learning rate",
    group: "optimisation",
    flag: "lr",
  }),
  momentum: option({
    type: z.number().min(0).lt(1),
    default: computed((c) => (c.optimizer === "sgd" ? 0.9 : 0), "0.9 for sgd"),
    description: "sgd momentum",
    group: "optimisation",
    flag: "momentum",
  }),
  weightDecay: option({
    type: z.number().min(0),
    default: computed((c) => (c.optimizer === "adamw" ? 0.01 : 0), "0, adamw 0.01"),
    description: "L2 for adam/sgd, decoupled decay for adamw",
    group: "optimisation",
    flag: "weightDecay",
  }),
  schedule: section({
    description: "learning rate over the run",
    keys: {
      type: option({ type: z.enum(SCHEDULES), default: "constant", description: "learning-rate schedule", group: "optimisation", flag: "schedule" }),
      warmupEpochs: option({ type: z.number().min(0), default: 0, description: "linear warm-up epochs", group: "optimisation", flag: "warmupEpochs" }),
      minLearningRate: option({ type: z.number().min(0), default: 0, description: "cosine: the learning rate at the end", group: "optimisation" }),
    },
  }),
  earlyStopping: section({
    offWhenAbsent: true,
    description: "stop when the monitored metric stops improving",
    keys: {
      monitor: option({
        type: z.enum(MONITORS),
        default: DEFAULT_MONITOR,
        description: "metric for early stopping and the best checkpoint",
        group: "optimisation",
        flag: "monitor",
      }),
      patience: option({ type: z.number().int().positive(), default: 5, description: "early stopping: epochs without improvement", group: "optimisation", flag: "patience" }),
      minDelta: option({ type: z.number().min(0), default: 0, description: "early stopping: smallest improvement that counts", group: "optimisation", flag: "minDelta" }),
    },
  }),
  gradClipNorm: option({
    type: z.number().positive(),
    nullable: true,
    default: new Unset("no clipping"),
    description: "clip gradients to this global norm",
    group: "optimisation",
    flag: "gradClipNorm",
  }),
  tier: option({
    type: z.enum(TIERS),
    // JSON may write the tier as a number (`"tier": 1`).
    coerce: (v) => (typeof v === "number" ? String(v) : v),
    default: "all",
    description: "which tiers to run (all: 1, then 2, then 3)",
    group: "run",
    flag: "tier",
  }),
  preset: option({ type: presetName, default: "standard", description: "budget preset", group: "run", flag: "preset" }),
  profile: option({
    type: profileName,
    default: computed((c) => c.backendProfile ?? "cpu", "from the backend in use"),
    description: "adaptive profile",
    group: "run",
    flag: "profile",
  }),
  precision: {
    kind: "derived",
    type: z.string(),
    compute: (c: DefaultContext) => c.budget.precision,
    description: "numeric precision of the profile",
  } satisfies Derived<z.ZodString>,
  checkpoint: section({
    description: "when checkpoints are written and how many are kept",
    keys: {
      everyEpochs: option({
        type: z.number().int().min(0),
        default: fromProfile("checkpointEveryEpochs"),
        description: "checkpoint every N epochs (0: off)",
        group: "checkpoints",
        flag: "checkpointEveryEpochs",
      }),
      everySteps: option({
        type: z.number().int().min(0),
        default: fromProfile("checkpointEverySteps"),
        description: "checkpoint every N steps (0: off)",
        group: "checkpoints",
        flag: "checkpointEverySteps",
      }),
      keepLast: option({ type: z.number().int().min(0), default: DEFAULT_KEEP_LAST, description: "checkpoints to keep (0: all)", group: "checkpoints", flag: "keepLast" }),
      keepBest: option({ type: z.boolean(), default: true, description: "also keep the best checkpoint", group: "checkpoints" }),
      local: option({
        type: z.union([z.string().min(1), z.literal(false)]),
        nullable: true,
        // Runs stored before this option existed have no such key.
        resolvedType: z.union([z.string(), z.literal(false)]).optional(),
        default: new Unset("$TSCOLAB_LOCAL, else a folder in the system temp folder"),
        description: "commit checkpoints to this fast local folder first and mirror them to the Drive in the background (false: write to the Drive directly)",
        group: "checkpoints",
        flag: {
          name: "checkpointLocal",
          type: z.string().min(1),
          toConfig: (v) => (typeof v === "string" && ["false", "0", "off", "no"].includes(v.toLowerCase()) ? false : v),
          metavar: "DIR|false",
        },
      }),
    },
  }),
  folds: option({
    type: z.union([z.number().int(), z.literal("auto")]),
    nullable: true,
    // "auto" is replaced by the profile's fold count before the config is resolved (engine/folds).
    resolvedType: z.number().int(),
    default: new Unset("one run, no folds"),
    description: 'K-fold cross-validation: K fold runs under one parent run, out-of-fold predictions in oof.jsonl ("auto": 3 on cpu, 5 on GPUs, 10 on aggressive)',
    group: "run",
    flag: { name: "folds", metavar: "K" },
  }),
  validateEveryEpochs: option({ type: z.number().int().positive(), default: fromProfile("validateEveryEpochs"), description: "validate every N epochs", group: "run" }),
  drive: option({
    type: z.string().min(1),
    default: new Unset("%drive mount, else $TSCOLAB_DRIVE, else ~/tscolab-drive"),
    description: "Drive root for the run folders",
    group: "run",
    flag: { name: "drive", metavar: "DIR" },
  }),
};

export type TrainOptionTable = typeof TRAIN_OPTIONS;

// The config's types, computed from the table: what a user writes ("in"),
// what validation returns ("out"), and the resolved config.
type Side = "in" | "out";
type ValueOf<T extends z.ZodType, S extends Side> = S extends "in" ? z.input<T> : z.output<T>;
type WrittenOf<E, S extends Side> =
  E extends Option<infer T, unknown, infer N>
    ? ValueOf<T, S> | (N extends true ? null : never)
    : E extends Section<infer K, infer Off>
      ? { [k in keyof K]?: WrittenOf<K[k], S> } | (Off extends true ? null : never)
      : E extends SchemaSection<infer T>
        ? ValueOf<T, S>
        : never;
type ResolvedOf<E> =
  E extends Option<infer T, infer D>
    ? z.output<T> | (D extends Unset ? null : never)
    : E extends Section<infer K, infer Off>
      ? { [k in keyof K]: ResolvedOf<K[k]> } | (Off extends true ? null : never)
      : E extends SchemaSection<infer T>
        ? z.output<T>
        : E extends Derived<infer T>
          ? z.output<T>
          : never;
type RequiredKey<O> = { [k in keyof O]: O[k] extends SchemaSection<z.ZodObject, true> ? k : never }[keyof O];
type WritableKey<O> = { [k in keyof O]: O[k] extends Derived ? never : k }[keyof O];
type Written<S extends Side> = { [k in RequiredKey<TrainOptionTable>]: WrittenOf<TrainOptionTable[k], S> } & {
  [k in Exclude<WritableKey<TrainOptionTable>, RequiredKey<TrainOptionTable>>]?: WrittenOf<TrainOptionTable[k], S>;
};

/** What a user writes: JSON file, %%train body, flags, train() argument. */
export type ConfigInput = Written<"in">;
/** The same after validation (section defaults such as data.validationSplit filled in). */
export type ConfigParsed = Written<"out">;
/** Every setting filled in, as run.json stores it. */
export type ConfigResolved = { [k in keyof TrainOptionTable]: ResolvedOf<TrainOptionTable[k]> };
