// What a sweep explores: a grid (`--grid KEY=V1,V2`), random draws
// (`--random N --space KEY=DIST`) seeded by the base config's seed, or an
// ablation (`--ablate KEY[=OFF]`: the base, then one trial per option
// switched off). Keys are dotted train-config keys, checked against the
// config schema; every trial's config is validated before any trial runs.
import { z } from "zod";
import { UsageError } from "../errors";
import { closest } from "../util/closest";
import { Rng } from "../util/rng";
import { parseTrainConfig, trainConfigInput } from "../train/config";
import { getDotted, isPlainObject, parseLiteral, sameJson, setDotted, splitTopLevel } from "./dotted";

type Obj = Record<string, unknown>;

export type Dist = { kind: "loguniform" | "uniform"; a: number; b: number } | { kind: "int"; a: number; b: number } | { kind: "choice"; values: unknown[] };

export interface AblatedOption {
  key: string;
  /** The value that switches it off. */
  off: unknown;
}

/** The sweep's space as stored in sweep.json (distributions kept as typed). */
export interface SweepSpace {
  grid: Record<string, unknown[]>;
  random: { n: number; space: Record<string, string> } | null;
  ablation: AblatedOption[] | null;
}

export interface TrialSpec {
  /** `t00`, `t01`, ...; `base` and `no-<key>` in an ablation. */
  name: string;
  /** Dotted key → value applied on top of the base config. */
  params: Record<string, unknown>;
}

const DIST_NAMES = ["loguniform", "uniform", "int", "choice"];
/** Keys a sweep sets itself. */
const RESERVED_KEYS: Record<string, string> = {
  drive: "every trial runs on the sweep's Drive: pass --drive to the sweep",
  runName: "trial run names are <base runName>-<trial>: set runName in the base config",
};

function unwrap(schema: z.ZodType): z.ZodType {
  for (;;) {
    if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) schema = (schema as z.ZodOptional<z.ZodType>).unwrap();
    else if (schema instanceof z.ZodPipe) schema = (schema.in instanceof z.ZodTransform ? schema.out : schema.in) as z.ZodType;
    else return schema;
  }
}

/** Every dotted key of the train config (`learningRate`, `model.hidden`, `data.train.limit`, ...). */
export function configKeys(): string[] {
  const keys: string[] = [];
  const walk = (schema: z.ZodType, prefix: string) => {
    const s = unwrap(schema);
    const objects =
      s instanceof z.ZodObject ? [s] : s instanceof z.ZodUnion ? (s.options as z.ZodType[]).map(unwrap).filter((o): o is z.ZodObject => o instanceof z.ZodObject) : [];
    for (const o of objects) {
      for (const [k, v] of Object.entries(o.shape as Record<string, z.ZodType>)) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (!keys.includes(key)) keys.push(key);
        walk(v, key);
      }
    }
  };
  walk(trainConfigInput, "");
  return keys;
}

/** Refuses a key the train config does not have, with the closest one. */
export function checkConfigKey(key: string, flag: string): void {
  if (RESERVED_KEYS[key]) throw new UsageError(`${flag} ${key}: a sweep cannot vary "${key}"; ${RESERVED_KEYS[key]}`);
  const known = configKeys();
  if (known.includes(key)) return;
  const guess = closest(key, known) ?? closest(key.split(".").pop()!, known);
  throw new UsageError(
    `${flag}: unknown config key "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}; keys are dotted train-config keys such as learningRate, batchSize, model.hidden`,
  );
}

function splitKeyValue(text: string, flag: string, example: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected KEY=${example}`);
  return [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
}

/** `--grid learningRate=0.001,0.01 --grid model.hidden=[16],[32,16]` → key → values. */
export function parseGrid(texts: string[]): Record<string, unknown[]> {
  const grid: Record<string, unknown[]> = {};
  for (const text of texts) {
    const [key, list] = splitKeyValue(text, "--grid", "V1,V2,... (e.g. learningRate=0.001,0.01)");
    checkConfigKey(key, "--grid");
    if (key in grid) throw new UsageError(`--grid ${key} is given twice; list all its values in one --grid ${key}=V1,V2,...`);
    const values =
      list === ""
        ? []
        : splitTopLevel(list, ",")
            .map((v) => v.trim())
            .filter((v) => v !== "")
            .map(parseLiteral);
    if (!values.length) throw new UsageError(`--grid ${key}: empty grid, no values after "="; list them like ${key}=V1,V2,...`);
    grid[key] = values;
  }
  return grid;
}

/** `loguniform(1e-4,1e-1)`, `uniform(0,0.5)`, `int(8,64)`, `choice(adam|sgd)`. */
export function parseDist(text: string, key = "KEY"): Dist {
  const usage = `use loguniform(a,b), uniform(a,b), int(a,b) or choice(v1|v2|...), e.g. --space ${key}=loguniform(1e-4,1e-1)`;
  const m = /^\s*([A-Za-z_]+)\s*\((.*)\)\s*$/.exec(text);
  if (!m) throw new UsageError(`--space ${key}=${text}: cannot parse the distribution; ${usage}`);
  const name = m[1]!.toLowerCase();
  const body = m[2]!;
  if (name === "choice") {
    const values = splitTopLevel(body, "|")
      .map((v) => v.trim())
      .filter((v) => v !== "")
      .map(parseLiteral);
    if (!values.length) throw new UsageError(`--space ${key}=${text}: choice() needs at least one value, like choice(16|32|64)`);
    return { kind: "choice", values };
  }
  if (!DIST_NAMES.includes(name)) {
    const guess = closest(name, DIST_NAMES);
    throw new UsageError(`--space ${key}=${text}: unknown distribution "${m[1]}"${guess ? ` (did you mean ${guess}?)` : ""}; ${usage}`);
  }
  const parts = splitTopLevel(body, ",").map((p) => p.trim());
  const [a, b] = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === "") || !Number.isFinite(a) || !Number.isFinite(b))
    throw new UsageError(`--space ${key}=${text}: ${name}() takes two numbers a,b; ${usage}`);
  if (!(a! < b!) && !(name === "int" && a === b)) throw new UsageError(`--space ${key}=${text}: the lower bound must be below the upper bound (${a} >= ${b})`);
  if (name === "loguniform" && a! <= 0) throw new UsageError(`--space ${key}=${text}: loguniform needs a > 0 (it draws the logarithm uniformly)`);
  if (name === "int" && (!Number.isInteger(a) || !Number.isInteger(b))) throw new UsageError(`--space ${key}=${text}: int() takes whole numbers`);
  return { kind: name as "loguniform" | "uniform" | "int", a: a!, b: b! };
}

export function parseSpace(texts: string[]): Record<string, string> {
  const space: Record<string, string> = {};
  for (const text of texts) {
    const [key, dist] = splitKeyValue(text, "--space", "DIST (e.g. learningRate=loguniform(1e-4,1e-1))");
    checkConfigKey(key, "--space");
    if (key in space) throw new UsageError(`--space ${key} is given twice`);
    parseDist(dist, key);
    space[key] = dist;
  }
  return space;
}

/** One draw; floats keep 6 significant digits so params read well and round-trip through JSON. */
export function draw(d: Dist, rng: Rng): unknown {
  switch (d.kind) {
    case "uniform":
      return Number((d.a + rng.nextFloat() * (d.b - d.a)).toPrecision(6));
    case "loguniform":
      return Number(Math.exp(Math.log(d.a) + rng.nextFloat() * (Math.log(d.b) - Math.log(d.a))).toPrecision(6));
    case "int":
      return d.a + rng.nextInt(d.b - d.a + 1);
    case "choice":
      return d.values[rng.nextInt(d.values.length)];
  }
}

/** Options an ablation knows how to switch off, and the value that does it. */
export const ABLATION_OFF: Record<string, unknown> = {
  "model.dropout": 0,
  "model.batchNorm": false,
  weightDecay: 0,
  momentum: 0,
  gradClipNorm: null,
  earlyStopping: null,
  schedule: { type: "constant", warmupEpochs: 0, minLearningRate: 0 },
  "schedule.warmupEpochs": 0,
  "data.normalize": false,
};

/**
 * `--ablate KEY` or `KEY=OFF` → what to switch off. With no list, every
 * option of ABLATION_OFF that the base config switches on (and data.normalize,
 * on by default).
 */
export function parseAblation(texts: string[], base: Obj): AblatedOption[] {
  if (!texts.length) {
    const on = Object.keys(ABLATION_OFF).filter((k) => {
      if (k === "schedule.warmupEpochs") return false; // covered by "schedule"
      const v = getDotted(base, k);
      if (k === "data.normalize") return v !== false;
      if (k === "schedule") return isPlainObject(v) && (v.type === "cosine" || Number(v.warmupEpochs ?? 0) > 0);
      return v !== undefined && !sameJson(v, ABLATION_OFF[k]);
    });
    if (!on.length)
      throw new UsageError(
        `the ablation preset found nothing switched on in the base config to ablate; pass --ablate KEY for each option (known: ${Object.keys(ABLATION_OFF).join(", ")})`,
      );
    return on.map((key) => ({ key, off: ABLATION_OFF[key] }));
  }
  const out: AblatedOption[] = [];
  for (const text of texts
    .flatMap((t) => splitTopLevel(t, ","))
    .map((t) => t.trim())
    .filter(Boolean)) {
    const eq = text.indexOf("=");
    const key = (eq > 0 ? text.slice(0, eq) : text).trim();
    checkConfigKey(key, "--ablate");
    if (out.some((o) => o.key === key)) throw new UsageError(`--ablate ${key} is given twice`);
    if (eq > 0) out.push({ key, off: parseLiteral(text.slice(eq + 1)) });
    else if (key in ABLATION_OFF) out.push({ key, off: ABLATION_OFF[key] });
    else
      throw new UsageError(
        `--ablate ${key}: no known "off" value for it; say what switches it off, like --ablate ${key}=VALUE (known without one: ${Object.keys(ABLATION_OFF).join(", ")})`,
      );
  }
  return out;
}

/** The trials of a space, in order. Random draws come from one stream seeded by `seed`. */
export function expandTrials(space: SweepSpace, seed: number): TrialSpec[] {
  const pad = (i: number, n: number) => String(i).padStart(Math.max(2, String(n - 1).length), "0");
  if (space.ablation) {
    return [{ name: "base", params: {} }, ...space.ablation.map((o) => ({ name: `no-${o.key}`, params: { [o.key]: o.off } }))];
  }
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(space.grid)) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  const specs: Record<string, unknown>[] = [];
  if (space.random) {
    const rng = Rng.create(seed, "sweep");
    const dists = Object.entries(space.random.space).map(([k, t]) => [k, parseDist(t, k)] as const);
    for (const p of points) for (let i = 0; i < space.random.n; i++) specs.push({ ...p, ...Object.fromEntries(dists.map(([k, d]) => [k, draw(d, rng)])) });
  } else specs.push(...points);
  return specs.map((params, i) => ({ name: `t${pad(i, specs.length)}`, params }));
}

/** The base config with a trial's params applied (deep copy). */
export function trialConfig(base: Obj, params: Record<string, unknown>): Obj {
  const config = structuredClone(base);
  for (const [k, v] of Object.entries(params)) setDotted(config, k, structuredClone(v));
  return config;
}

/** Every trial's config must parse before the first trial starts; the error names the trial and its params. */
export function validateTrials(base: Obj, trials: TrialSpec[]): void {
  for (const t of trials) {
    const shown = Object.entries(t.params)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(" ");
    parseTrainConfig(trialConfig(base, t.params), `(sweep trial ${t.name}${shown ? `: ${shown}` : ""})`);
  }
}
