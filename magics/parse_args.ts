// From a magic's argument words to a validated args object.
//
//   --flag value | --flag=value | --bool | --no-bool | positionals
//
// Strings are coerced by the field's kind in the schema (numbers, booleans,
// comma lists, JSON objects); zod then validates, and its first issue becomes
// a one-line UsageError naming the flag.
import type { z } from "zod";
import { camel, fieldsOf, type FieldInfo, type FieldKind } from "./schema_info";
import { closest } from "../engine/util/closest";
import { isRef, type RefTable } from "./expand";
import { UsageError, type MagicSpec } from "./types";

export interface ParsedLine<A> {
  args: A;
  /** `--as NAME`: bind the result to this notebook variable. */
  bindAs?: string;
  help: boolean;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
// Words `let NAME` cannot declare in a module (strict mode, top-level await):
// `--as class` must fail before the magic runs, not after a whole %train.
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in " +
    "instanceof new null return super switch this throw true try typeof var void while with implements interface let package private " +
    "protected public static yield await arguments eval undefined"
  ).split(" "),
);

function coerceScalar(raw: string, kinds: FieldKind[]): unknown {
  if (kinds.includes("string") || kinds.includes("any")) {
    // Numbers are still numbers where the schema allows both (e.g. a union).
    if ((kinds.includes("number") || kinds.includes("integer")) && raw.trim() !== "" && !Number.isNaN(Number(raw))) return Number(raw);
    return raw;
  }
  if (kinds.includes("number") || kinds.includes("integer")) {
    const n = Number(raw);
    return raw.trim() === "" || Number.isNaN(n) ? raw : n;
  }
  if (kinds.includes("boolean")) {
    if (/^(true|yes|1)$/i.test(raw)) return true;
    if (/^(false|no|0)$/i.test(raw)) return false;
    return raw;
  }
  if (kinds.includes("object")) {
    try {
      return JSON.parse(raw);
    } catch {
      throw new UsageError(`expected a JSON object, got ${JSON.stringify(raw)}; quote it like '{"key": 1}'`);
    }
  }
  return raw;
}

function coerce(raw: unknown, field: FieldInfo, refs: RefTable): unknown {
  if (typeof raw !== "string") return raw;
  if (isRef(raw)) return refs.get(raw);
  if (field.kinds.includes("array") && !field.kinds.includes("string")) {
    const text = raw.trim();
    if (text.startsWith("[")) {
      try {
        return JSON.parse(text);
      } catch {
        /* fall through to comma splitting */
      }
    }
    return text === "" ? [] : text.split(",").map((part) => coerceScalar(part.trim(), field.itemKinds));
  }
  return coerceScalar(raw, field.kinds);
}

function describeIssue(issue: z.core.$ZodIssue, fields: FieldInfo[], positionals: string[]): string {
  const key = String(issue.path[0] ?? "");
  const field = fields.find((f) => f.key === key);
  const where = !key ? "arguments" : positionals.includes(key) ? `<${key}>` : (field?.flag ?? key);
  const sub = issue.path.length > 1 ? ` (at ${issue.path.slice(1).join(".")})` : "";
  let allowed = "";
  if (field?.enumValues && !issue.message.includes("expected one of")) allowed = `; allowed: ${field.enumValues.join(", ")}`;
  let message = issue.message;
  const got = "input" in issue && issue.input !== undefined ? (typeof issue.input === "string" ? JSON.stringify(issue.input) : typeof issue.input) : undefined;
  if (issue.code === "invalid_type" && got) message = `expected ${issue.expected}, got ${got}`;
  // zod's own words ("Too small: expected number to be >0") read as a stack trace; say it with the value given.
  if (issue.code === "invalid_type" && issue.expected === "int" && typeof issue.input === "number") message = `expected a whole number, got ${issue.input}`;
  if ((issue.code === "too_small" || issue.code === "too_big") && issue.origin === "number" && typeof issue.input === "number") {
    const bound = issue.code === "too_small" ? `>${issue.inclusive ? "=" : ""} ${issue.minimum}` : `<${issue.inclusive ? "=" : ""} ${issue.maximum}`;
    message = `expected a number ${bound}, got ${issue.input}`;
  }
  if (issue.code === "too_small" && issue.origin === "string" && typeof issue.input === "string") {
    message = `expected at least ${issue.minimum} character${issue.minimum === 1 ? "" : "s"}, got ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === "invalid_value" && got) {
    message = `got ${got}; allowed: ${issue.values.join(", ")}`;
    allowed = "";
  }
  return `${where}${sub}: ${message}${allowed}`;
}

/**
 * One line for an unknown flag: the closest flag (by its name or a hint
 * name). A flag that resembles none gets a pointer to --help, never the
 * whole list of flags.
 */
function unknownFlag(flag: string, fields: FieldInfo[]): string {
  const target = new Map<string, string>();
  for (const f of fields) target.set(f.flag, f.flag);
  for (const f of fields) for (const hint of f.hintNames ?? []) if (!target.has(hint)) target.set(hint, f.flag);
  target.set("--as", "--as").set("--help", "--help");
  const guess = closest(flag, [...target.keys()]);
  if (guess) return `unknown flag ${flag} (did you mean ${target.get(guess)}?)`;
  const count = fields.length + 2; // and --as, --help
  return `unknown flag ${flag}; --help lists the ${count} flags`;
}

/**
 * `quoted`: indices of words written with quotes; such a positional is its
 * text, never the notebook variable of that name.
 */
export function parseArgs<S extends z.ZodObject>(
  spec: MagicSpec<S, any>,
  words: string[],
  variables: Record<string, unknown>,
  refs: RefTable = new Map(),
  quoted: ReadonlySet<number> = new Set(),
): ParsedLine<z.infer<S>> {
  const fields = fieldsOf(spec);
  const byFlag = new Map(fields.map((f) => [f.flag, f]));
  const positionalSpecs = spec.positionals ?? [];
  const values: Record<string, unknown> = {};
  const positionals: unknown[] = [];
  const literal = new Set<number>(); // positions in `positionals` of quoted words
  let bindAs: string | undefined;
  let help = false;

  const setValue = (field: FieldInfo, raw: unknown) => {
    let v: unknown;
    try {
      v = coerce(raw, field, refs);
    } catch (e) {
      throw new UsageError(`${field.flag}: ${(e as Error).message}`);
    }
    if (field.kinds.includes("array") && Array.isArray(values[field.key]) && Array.isArray(v)) {
      values[field.key] = [...(values[field.key] as unknown[]), ...v]; // repeated flag accumulates
    } else if (field.kinds.includes("array") && !Array.isArray(v) && v !== undefined) {
      values[field.key] = [...((values[field.key] as unknown[]) ?? []), v];
    } else {
      values[field.key] = v;
    }
  };

  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === "--help" || word === "-h") {
      help = true;
      continue;
    }
    if (word === "--") {
      for (let j = i + 1; j < words.length; j++) {
        if (quoted.has(j)) literal.add(positionals.length);
        positionals.push(words[j]);
      }
      break;
    }
    if (word.startsWith("--") && word.length > 2) {
      const eq = word.indexOf("=");
      const flag = eq >= 0 ? word.slice(0, eq) : word;
      const inline = eq >= 0 ? word.slice(eq + 1) : undefined;
      if (flag === "--as") {
        const name = inline ?? words[++i];
        if (!name || !IDENT.test(name)) throw new UsageError(`--as: expected a variable name, got ${JSON.stringify(name ?? "")}`);
        if (RESERVED.has(name)) throw new UsageError(`--as: "${name}" is a reserved word; pick another variable name`);
        bindAs = name;
        continue;
      }
      let field = byFlag.get(flag) ?? byFlag.get("--" + flag.slice(2).replace(/_/g, "-"));
      if (!field && flag.startsWith("--no-")) {
        const negated = byFlag.get("--" + flag.slice(5));
        if (negated?.kinds.includes("boolean") && inline === undefined) {
          values[negated.key] = false;
          continue;
        }
      }
      if (!field) throw new UsageError(unknownFlag(flag, fields));
      if (field.kinds.length === 1 && field.kinds[0] === "boolean" && inline === undefined) {
        values[field.key] = true;
        continue;
      }
      const raw = inline ?? words[++i];
      if (raw === undefined) throw new UsageError(`${field.flag}: expects a value`);
      setValue(field, raw);
      continue;
    }
    if (quoted.has(i)) literal.add(positionals.length);
    positionals.push(word);
  }

  // Positionals fill the declared slots in order; a bare (unquoted) identifier
  // that names a notebook variable stands for that variable's value (`%train model`).
  let p = 0;
  for (const slot of positionalSpecs) {
    if (p >= positionals.length) break;
    const field = fields.find((f) => f.key === slot.name);
    if (!field) throw new Error(`magic ${spec.name}: positional ${slot.name} is not in its schema`);
    const first = p;
    const take = slot.rest ? positionals.slice(p) : [positionals[p]];
    p += take.length;
    const resolved = take.map((w, k) => {
      if (typeof w !== "string" || literal.has(first + k)) return w;
      if (isRef(w)) return refs.get(w);
      const enumHit = field.enumValues?.includes(w);
      if (!enumHit && IDENT.test(w) && Object.prototype.hasOwnProperty.call(variables, w)) return variables[w];
      return w;
    });
    for (const v of resolved) setValue(field, v);
  }
  if (p < positionals.length) {
    const extra = positionals.slice(p).map((w) => (typeof w === "string" ? w : "<value>"));
    const expected = positionalSpecs.length ? positionalSpecs.map((s) => `<${s.name}>`).join(" ") : "no positional arguments";
    throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; %${spec.name} takes ${expected}`);
  }
  if (help) return { args: values as z.infer<S>, bindAs, help };

  const result = spec.args.safeParse(values, { reportInput: true });
  if (!result.success) {
    throw new UsageError(
      describeIssue(
        result.error.issues[0],
        fields,
        positionalSpecs.map((s) => s.name),
      ),
    );
  }
  return { args: result.data, bindAs, help };
}

export { camel };
