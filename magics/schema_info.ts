// What the parser and the help need to know about each field of a magic's
// zod schema, read through zod's own JSON Schema export so that the schema
// stays the single source of truth (IPython's magic_arguments does the same
// with argparse: one declaration, both validation and help).
import { z } from "zod";
import type { MagicSpec } from "./types";

/** What Tab offers for a flag's value besides its enum values (zod metadata `complete`). */
export interface ValueHint {
  /** Fixed words (a built-in data set's name). */
  values?: readonly string[];
  /** Files with these extensions (and folders, to walk into), relative to the notebook's folder. */
  files?: readonly string[];
  /** Folders. */
  dirs?: boolean;
  /** Run ids under the Drive root, and `last`. */
  runs?: boolean;
}

export type FieldKind = "boolean" | "number" | "integer" | "string" | "array" | "object" | "any";

export interface FieldInfo {
  key: string;
  flag: string; // --kebab-case
  kinds: FieldKind[];
  itemKinds: FieldKind[];
  enumValues?: unknown[];
  description?: string;
  defaultValue?: unknown;
  required: boolean;
  /** Help section (zod metadata `group`); fields without one are the magic's main arguments. */
  group?: string;
  /** The default in words, where zod fills none in (metadata `defaultText`). */
  defaultText?: string;
  /** Placeholder for the value in the help (metadata `metavar`). */
  metavar?: string;
  /** Other spellings that a mistyped flag may resemble; "did you mean" then names this flag (metadata `hintNames`). */
  hintNames?: string[];
  /** What Tab offers for the value (metadata `complete`); enum values are offered anyway. */
  complete?: ValueHint;
}

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  group?: string;
  defaultText?: string;
  metavar?: string;
  hintNames?: string[];
  complete?: ValueHint;
};

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
export const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function kindsOf(s: JsonSchema | undefined): FieldKind[] {
  if (!s) return ["any"];
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.flatMap(kindsOf))];
  if (s.enum || s.const !== undefined) {
    const values = s.enum ?? [s.const];
    return [...new Set(values.map((v) => (typeof v === "number" ? "number" : typeof v === "boolean" ? "boolean" : "string") as FieldKind))];
  }
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length === 0) return ["any"];
  return types.filter((t) => t !== "null").map((t) => (["boolean", "number", "integer", "string", "array", "object"].includes(t) ? (t as FieldKind) : "any"));
}

function enumOf(s: JsonSchema | undefined): unknown[] | undefined {
  if (!s) return undefined;
  if (s.enum) return s.enum;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const all = alts.map(enumOf);
    if (all.every((e) => e)) return all.flat();
  }
  return undefined;
}

const cache = new WeakMap<z.ZodObject, FieldInfo[]>();

export function fieldsOf(spec: Pick<MagicSpec, "args">): FieldInfo[] {
  const hit = cache.get(spec.args);
  if (hit) return hit;
  const json = z.toJSONSchema(spec.args, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const required = new Set(json.required ?? []);
  const fields = Object.entries(json.properties ?? {}).map(([key, s]): FieldInfo => {
    const alts = s.anyOf ?? s.oneOf;
    const arraySchema = s.items ? s : alts?.find((a) => a.items);
    return {
      key,
      flag: "--" + kebab(key),
      kinds: kindsOf(s),
      itemKinds: kindsOf(arraySchema?.items),
      enumValues: enumOf(s) ?? enumOf(arraySchema?.items),
      description: s.description,
      defaultValue: s.default,
      required: required.has(key),
      group: s.group,
      defaultText: s.defaultText,
      metavar: s.metavar,
      hintNames: s.hintNames,
      complete: s.complete,
    };
  });
  cache.set(spec.args, fields);
  return fields;
}
