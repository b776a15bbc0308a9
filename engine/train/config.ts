// The %train configuration, derived from the option table in ./options.ts:
// the zod schema for what the user writes (JSON file, %%train body, flags,
// train() argument), the schema of the resolved config stored in run.json,
// how defaults are filled, and the flags with their place in the config.
// Defaults come from the adaptive profile and the preset; explicit settings
// always win.
import { z } from "zod";
import { PROFILES, applyPreset, type ProfileName } from "../backend/profile";
import { closest } from "../util/closest";
import { TscolabError } from "../errors";
import {
  Computed,
  OPTION_GROUPS,
  TRAIN_OPTIONS,
  Unset,
  type ConfigInput,
  type ConfigParsed,
  type ConfigResolved,
  type Default,
  type DefaultContext,
  type Entry,
  type FlagSpec,
  type Option,
  type OptionGroup,
} from "./options";

export { OPTIMIZERS, TIERS } from "./options";

const ENTRIES = Object.entries(TRAIN_OPTIONS) as [string, Entry][];

const mapValues = <V, W>(o: Record<string, V>, f: (v: V) => W): Record<string, W> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

function optionInput(o: Option): z.ZodType {
  let t: z.ZodType = o.coerce ? z.preprocess(o.coerce, o.type) : o.type;
  if (o.nullable) t = t.nullable();
  return t.optional().describe(o.description);
}

function inputOf(e: Entry): z.ZodType | undefined {
  switch (e.kind) {
    case "option":
      return optionInput(e);
    case "section": {
      const keys = z.object(mapValues(e.keys, optionInput)).strict();
      return (e.offWhenAbsent ? keys.nullable() : keys).optional().describe(e.description);
    }
    case "schema":
      return (e.required ? e.schema : e.schema.optional()).describe(e.description);
    case "derived":
      return undefined;
  }
}

function resolvedOf(e: Entry): z.ZodType {
  switch (e.kind) {
    case "option": {
      const t = e.resolvedType ?? e.type;
      return e.default instanceof Unset ? t.nullable() : t;
    }
    case "section": {
      const keys = z.object(mapValues(e.keys, resolvedOf));
      return e.offWhenAbsent ? keys.nullable() : keys;
    }
    case "schema":
      return e.schema;
    case "derived":
      return e.type;
  }
}

const inputShape: Record<string, z.ZodType> = {};
for (const [key, e] of ENTRIES) {
  const t = inputOf(e);
  if (t) inputShape[key] = t;
}

/** What a user writes; unknown keys are errors (a typo must not be silently ignored). */
export const trainConfigInput = z.object(inputShape).strict() as unknown as z.ZodType<ConfigParsed, ConfigInput>;
export type TrainConfigInput = ConfigInput;

/** The resolved config run.json stores; reading it ignores keys it does not know. */
export const resolvedConfig = z.object(mapValues(Object.fromEntries(ENTRIES), resolvedOf)) as unknown as z.ZodType<ConfigResolved>;
export type ResolvedConfig = ConfigResolved;

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

export function parseTrainConfig(raw: unknown, source = "(train() argument)"): ConfigParsed {
  const parsed = trainConfigInput.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error, source);
  return parsed.data;
}

/** An option's default: its value, computed from the context, or null when unset. */
function defaultOf<V>(d: Default<V>, ctx: DefaultContext): V | null {
  if (d instanceof Computed) return d.compute(ctx);
  if (d instanceof Unset) return null;
  return d && typeof d === "object" ? structuredClone(d) : d;
}

function resolveEntry(e: Entry, value: unknown, ctx: DefaultContext): unknown {
  switch (e.kind) {
    case "option":
      return value ?? defaultOf(e.default, ctx);
    case "section": {
      if (value == null && e.offWhenAbsent) return null;
      const given = (value ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(e.keys).map(([k, o]) => [k, resolveEntry(o, given[k], ctx)]));
    }
    case "schema":
      return value ?? (e.default === undefined ? undefined : structuredClone(e.default));
    case "derived":
      return e.compute(ctx);
  }
}

/** Fills every default: profile first, preset on top, then the user's own values. */
export function resolveConfig(raw: unknown, opts: { profile?: ProfileName; source?: string } = {}): ResolvedConfig {
  const c = parseTrainConfig(raw, opts.source);
  // The profile, the preset and the optimizer come first: other defaults depend on them.
  const base = { config: c, backendProfile: opts.profile } as DefaultContext;
  const profile = c.profile ?? defaultOf(TRAIN_OPTIONS.profile.default, base)!;
  const preset = c.preset ?? defaultOf(TRAIN_OPTIONS.preset.default, base)!;
  const optimizer = c.optimizer ?? defaultOf(TRAIN_OPTIONS.optimizer.default, base)!;
  const ctx: DefaultContext = { ...base, profile, preset, optimizer, budget: applyPreset(PROFILES[profile], preset) };
  const written = c as Record<string, unknown>;
  return resolvedConfig.parse(Object.fromEntries(ENTRIES.map(([key, e]) => [key, resolveEntry(e, written[key], ctx)])));
}

/** One flag of %train and `tscolab train`, and the config key it sets. */
export interface TrainFlag {
  /** camelCase; the flag is its kebab-case. */
  name: string;
  /** The config key it sets: [key] or [section, key]. */
  path: [string] | [string, string];
  /** What the flag accepts. */
  type: z.ZodType;
  description: string;
  group: OptionGroup;
  /** The default in words, for the help. */
  defaultText?: string;
  metavar?: string;
  toConfig?: (value: unknown) => unknown;
}

function wordsFor(d: Default<unknown>): string | undefined {
  if (d instanceof Computed || d instanceof Unset) return d.says;
  if (d === undefined) return undefined;
  return typeof d === "string" ? d : JSON.stringify(d);
}

/** The schema of a section key without optional/default (a flag has no default: an absent flag leaves the config alone). */
function bare(t: z.ZodType): z.ZodType {
  while (t instanceof z.ZodOptional || t instanceof z.ZodDefault || t instanceof z.ZodNullable) t = (t as z.ZodOptional<z.ZodType>).unwrap();
  return t;
}

function flagOf(path: TrainFlag["path"], flag: FlagSpec, o: { type: z.ZodType; description?: string; group: OptionGroup; defaultText?: string }): TrainFlag {
  return {
    name: flag.name,
    path,
    type: flag.type ?? o.type,
    description: flag.description ?? o.description ?? "",
    group: o.group,
    defaultText: o.defaultText ?? flag.defaultSays,
    metavar: flag.metavar,
    toConfig: flag.toConfig,
  };
}

function collectFlags(): TrainFlag[] {
  const flags: TrainFlag[] = [];
  for (const [key, e] of ENTRIES) {
    if (e.kind === "option" && e.flag) flags.push(flagOf([key], e.flag, { ...e, defaultText: wordsFor(e.default) }));
    if (e.kind === "section") {
      for (const [sub, o] of Object.entries(e.keys)) if (o.flag) flags.push(flagOf([key, sub], o.flag, { ...o, defaultText: wordsFor(o.default) }));
    }
    if (e.kind === "schema") {
      for (const [sub, f] of Object.entries(e.flags)) {
        if (!f) continue;
        const t = (e.schema.shape as Record<string, z.ZodType>)[sub];
        if (!t) throw new Error(`train option ${key}.${sub} has a flag but no key in the ${key} schema`);
        const schemaDefault = t instanceof z.ZodDefault ? (t._zod.def.defaultValue as unknown) : undefined;
        flags.push(flagOf([key, sub], f, { type: bare(t), description: t.description, group: e.group, defaultText: wordsFor(schemaDefault) }));
      }
    }
  }
  const seen = new Set<string>();
  for (const f of flags) {
    if (seen.has(f.name)) throw new Error(`two train options declare the flag ${f.name}`);
    seen.add(f.name);
  }
  // Help order: by group, then as declared.
  return flags.sort((a, b) => OPTION_GROUPS.indexOf(a.group) - OPTION_GROUPS.indexOf(b.group));
}

/** Every option that has a flag, in help order (data, model, optimisation, checkpoints, run). */
export const TRAIN_FLAGS: readonly TrainFlag[] = collectFlags();

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** Writes the given flags into a config: they override it; a section's other keys stay. */
export function applyTrainFlags(config: Obj, values: Obj): Obj {
  const sections = new Map<string, Obj>();
  for (const f of TRAIN_FLAGS) {
    const given = values[f.name];
    if (given === undefined) continue;
    const value = f.toConfig ? f.toConfig(given) : given;
    if (f.path.length === 1) {
      config[f.path[0]] = value;
      continue;
    }
    const [name, key] = f.path;
    let section = sections.get(name);
    if (!section) {
      section = isObj(config[name]) ? { ...config[name] } : {};
      sections.set(name, section);
      config[name] = section;
    }
    section[key] = value;
  }
  return config;
}
