// One declaration per train option: everything about an option (its config
// key, its flag, its group and default in the help, its place in the resolved
// config) is derived from TRAIN_OPTIONS. These tests walk the table, so an
// option added there is checked here without touching this file.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { TRAIN_FLAGS, applyTrainFlags, resolveConfig, trainConfigInput, type TrainFlag } from "../engine/train/config";
import { OPTION_GROUPS, TRAIN_OPTIONS, Computed, Unset, type Entry } from "../engine/train/options";
import { getMagic } from "../magics/registry";
import { helpText, usageLine } from "../magics/help";
import { parseArgs } from "../magics/parse_args";
import { fieldsOf, kebab } from "../magics/schema_info";
import "../magics/train/magic";

const spec = getMagic("train")!;
const ENTRIES = Object.entries(TRAIN_OPTIONS) as [string, Entry][];
const BASE = { data: { train: "base.csv" } };

type Obj = Record<string, unknown>;
const at = (o: unknown, path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);
const title = (group: string) => group[0].toUpperCase() + group.slice(1);

/** Every declared setting as [path, entry]: top-level options, section keys, schema-section keys with a flag, derived facts. */
interface Declared {
  path: string[];
  /** The option's declaration; undefined for a key of a schema section (its type lives in that schema). */
  entry: Entry | undefined;
  flag?: string;
}
function declared(): Declared[] {
  return ENTRIES.flatMap(([key, e]): Declared[] => {
    if (e.kind === "section") return Object.entries(e.keys).map(([k, o]) => ({ path: [key, k], entry: o as Entry, flag: o.flag?.name }));
    if (e.kind === "schema") return [{ path: [key], entry: e }, ...Object.entries(e.flags).map(([k, f]) => ({ path: [key, k], entry: undefined, flag: f!.name }))];
    return [{ path: [key], entry: e, flag: e.kind === "option" ? e.flag?.name : undefined }];
  });
}

/** The zod schema at a config path of the input schema, or undefined when the config has no such key. */
function inputSchemaAt(path: string[]): z.ZodType | undefined {
  let t: z.ZodType | undefined = trainConfigInput as unknown as z.ZodType;
  for (const key of path) {
    while (t instanceof z.ZodOptional || t instanceof z.ZodNullable || t instanceof z.ZodDefault) t = (t as z.ZodOptional<z.ZodType>).unwrap();
    if (!(t instanceof z.ZodObject)) return undefined;
    t = (t.shape as Record<string, z.ZodType>)[key];
  }
  while (t instanceof z.ZodOptional || t instanceof z.ZodNullable || t instanceof z.ZodDefault) t = (t as z.ZodOptional<z.ZodType>).unwrap();
  return t;
}

/** Values a flag accepts, as parsed values: enum members, booleans, numbers, strings and lists. */
function accepted(f: TrainFlag): unknown[] {
  const json = z.toJSONSchema(f.type, { io: "input", unrepresentable: "any" }) as { enum?: unknown[] };
  const candidates = [...(json.enum ?? []), true, false, 3, 2, 1, 0.5, 0.25, 7, "x.csv", "y.csv", ["c1"], ["c1", "c2"], [8, 4], [3]];
  return candidates.filter((v) => f.type.safeParse(v).success);
}

/** How the value is written on a command line. */
const word = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v));

/** A config holding `value` at `path` (the way a config file would). */
function withValue(config: Obj, path: readonly string[], value: unknown): Obj {
  const out = structuredClone(config);
  if (path.length === 1) out[path[0]] = value;
  else out[path[0]] = { ...((out[path[0]] as Obj) ?? {}), [path[1]]: value };
  return out;
}

describe("train options: one declaration each", () => {
  it("the config input schema has exactly the declared keys, at the top level and in each section", () => {
    const input = inputSchemaAt([]) as z.ZodObject;
    const writable = ENTRIES.filter(([, e]) => e.kind !== "derived").map(([k]) => k);
    expect(Object.keys(input.shape)).toEqual(writable);
    for (const [key, e] of ENTRIES) {
      if (e.kind === "section") expect(Object.keys((inputSchemaAt([key]) as z.ZodObject).shape)).toEqual(Object.keys(e.keys));
    }
    for (const d of declared()) if (d.entry?.kind !== "derived") expect(inputSchemaAt(d.path), d.path.join(".")).toBeDefined();
  });

  it("the resolved config has every declared key, with its declared default when nothing is given", () => {
    // Sections that are off when absent are turned on (empty) so their keys resolve too.
    const on = Object.fromEntries(ENTRIES.filter(([, e]) => e.kind === "section" && e.offWhenAbsent).map(([k]) => [k, {}]));
    const resolved = resolveConfig({ ...BASE, ...on }, { profile: "cpu" });
    expect(Object.keys(resolved)).toEqual(ENTRIES.map(([k]) => k));
    // Keys of a schema section (data.label, model.hidden) may stay absent; the flag test below resolves each of them.
    for (const d of declared().filter((x) => x.entry)) {
      expect(at(resolved, d.path), d.path.join(".")).not.toBeUndefined();
      const e = d.entry;
      if (e?.kind !== "option") continue;
      if (e.default instanceof Unset) expect(at(resolved, d.path), d.path.join(".")).toBeNull();
      else if (!(e.default instanceof Computed)) expect(at(resolved, d.path), d.path.join(".")).toEqual(e.default);
    }
    const off = resolveConfig(BASE, { profile: "cpu" }) as Obj;
    for (const [key, e] of ENTRIES) if (e.kind === "section" && e.offWhenAbsent) expect(off[key]).toBeNull();
  });

  it("every declared flag is a field of %train with its group; the magic adds only ungrouped arguments of its own", () => {
    const declaredFlags = declared().flatMap((d) => (d.flag ? [d.flag] : []));
    expect(TRAIN_FLAGS.map((f) => f.name).sort()).toEqual([...declaredFlags].sort());
    expect(new Set(declaredFlags).size).toBe(declaredFlags.length);
    const fields = fieldsOf(spec);
    for (const f of TRAIN_FLAGS) {
      const field = fields.find((x) => x.key === f.name);
      expect(field, f.name).toBeDefined();
      expect(field!.flag).toBe("--" + kebab(f.name));
      expect(field!.group).toBe(f.group);
      expect(field!.required).toBe(false); // an absent flag leaves the config alone
      expect(field!.defaultValue).toBeUndefined();
    }
    const own = fields.filter((x) => !TRAIN_FLAGS.some((f) => f.name === x.key));
    for (const field of own) expect(field.group, field.key).toBeUndefined();
  });

  it("every flag lands at its config key, wins over the config file, and the file wins over the default", () => {
    for (const f of TRAIN_FLAGS) {
      const values = accepted(f);
      expect(values.length, `${f.name}: no sample value`).toBeGreaterThanOrEqual(2);
      const [fromFlag, fromFile] = values;
      const toConfig = (v: unknown) => (f.toConfig ? f.toConfig(v) : v);
      const parsed = parseArgs(spec, fromFlag === true ? [`--${kebab(f.name)}`] : [`--${kebab(f.name)}`, word(fromFlag)], {}).args as Obj;
      expect(parsed[f.name], f.name).toEqual(fromFlag);

      const file = withValue(BASE, f.path, toConfig(fromFile));
      const flagged = resolveConfig(applyTrainFlags(structuredClone(file), parsed), { profile: "cpu" });
      expect(at(flagged, f.path), `--${kebab(f.name)} → ${f.path.join(".")}`).toEqual(toConfig(fromFlag));
      const unflagged = resolveConfig(applyTrainFlags(structuredClone(file), {}), { profile: "cpu" });
      expect(at(unflagged, f.path), `${f.path.join(".")} from the file`).toEqual(toConfig(fromFile));
    }
  });

  it("a flag into a section keeps the section's other keys", () => {
    for (const f of TRAIN_FLAGS.filter((x) => x.path.length === 2)) {
      const [section] = f.path;
      const config = applyTrainFlags({ [section]: { keptKey: 1 } }, { [f.name]: accepted(f)[0] });
      expect(config[section], f.name).toMatchObject({ keptKey: 1 });
    }
  });
});

describe("%train help", () => {
  const text = helpText(spec);
  const sections = new Map(
    text.split("\n\n").flatMap((block) => {
      const m = /^(\w+):\n/.exec(block);
      return m ? [[m[1], block.replace(/\s+/g, " ")] as const] : [];
    }),
  );

  it("starts with a short synopsis of the magic's own arguments", () => {
    const synopsis = text.split("\n")[0];
    expect(synopsis).toBe(usageLine(spec));
    expect(synopsis.length).toBeLessThan(100);
    expect(synopsis).toMatch(/^%train \[<model>\] .*\[options\] \[--as NAME\]$/);
    for (const f of TRAIN_FLAGS) expect(synopsis).not.toContain(`--${kebab(f.name)} `);
  });

  it("lists every flag under its group, groups in the declared order, with the declared default", () => {
    const headings = [...sections.keys()].filter((h) => h !== "Arguments" && h !== "Examples");
    const used = OPTION_GROUPS.filter((g) => TRAIN_FLAGS.some((f) => f.group === g));
    expect(headings).toEqual(used.map(title));
    for (const f of TRAIN_FLAGS) {
      const section = sections.get(title(f.group))!;
      expect(section, f.name).toContain(` --${kebab(f.name)}`);
      for (const other of used.filter((g) => g !== f.group)) expect(sections.get(title(other))).not.toMatch(new RegExp(` --${kebab(f.name)}[ \\n]`));
      if (f.defaultText !== undefined) expect(section, f.name).toContain(`default: ${f.defaultText}`.replace(/\s+/g, " "));
    }
  });

  it("keeps lines short except the examples", () => {
    const beforeExamples = text.split("\n\nExamples:")[0];
    for (const line of beforeExamples.split("\n")) {
      // An option name longer than the column (an enum listed in full) stands on its own line.
      if (/^ {2}--\S+ \{.*\}$/.test(line)) continue;
      expect(line.length, line).toBeLessThanOrEqual(100);
    }
  });

  it("an unknown flag names only the closest flag, reached by its name or its config key", () => {
    const message = (flag: string) => {
      try {
        parseArgs(spec, [flag, "1"], {});
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error(`${flag} was accepted`);
    };
    for (const f of TRAIN_FLAGS) {
      const flag = `--${kebab(f.name)}`;
      const typo = flag + flag.slice(-1);
      expect(message(typo)).toBe(`unknown flag ${typo} (did you mean ${flag}?)`);
      const spelled = `--${kebab(f.path.join("-"))}`;
      if (spelled !== flag) expect(message(spelled)).toBe(`unknown flag ${spelled} (did you mean ${flag}?)`);
    }
    expect(message("--lerning-rate")).toBe("unknown flag --lerning-rate (did you mean --lr?)");
    expect(message("--zzzzzzzz")).toMatch(/^unknown flag --zzzzzzzz; --help lists the \d+ flags$/);
  });
});
