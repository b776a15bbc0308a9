// Usage text generated from the same zod schema that validates the arguments.
import { fieldsOf, type FieldInfo } from "./schema_info";
import type { MagicSpec } from "./types";

function metavar(f: FieldInfo): string {
  if (f.kinds.length === 1 && f.kinds[0] === "boolean") return "";
  if (f.enumValues?.length && f.enumValues.length <= 6) return ` {${f.enumValues.join(",")}}`;
  // A string-or-list field takes one value per flag, repeated: `--where A --where B`.
  if (f.kinds.includes("array") && f.kinds.includes("string")) return ` ${f.key.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase()}...`;
  if (f.kinds.includes("array")) return ` ${f.itemKinds.includes("number") || f.itemKinds.includes("integer") ? "N" : "X"}[,...]`;
  if (f.kinds.includes("integer")) return " N";
  if (f.kinds.includes("number")) return " X";
  if (f.kinds.includes("object")) return " JSON";
  return " " + f.key.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase();
}

export function usageLine(spec: MagicSpec<any, any>, prefix = "%"): string {
  const positional = new Set((spec.positionals ?? []).map((p) => p.name));
  const fields = fieldsOf(spec);
  const flags = fields.filter((f) => !positional.has(f.key)).map((f) => (f.required ? `${f.flag}${metavar(f)}` : `[${f.flag}${metavar(f)}]`));
  const pos = (spec.positionals ?? []).map((p) => {
    const f = fields.find((x) => x.key === p.name);
    const name = `<${p.name}>${p.rest ? "..." : ""}`;
    return f?.required ? name : `[${name}]`;
  });
  // CLI commands spell magic names with dashes: %verify_env is `tscolab verify-env`.
  const name = prefix === "%" ? spec.name : spec.name.replace(/_/g, "-");
  const bind = prefix === "%" ? ["[--as NAME]"] : [];
  return [`${prefix}${name}`, ...pos, ...flags, ...bind].join(" ");
}

export function helpText(spec: MagicSpec<any, any>, prefix = "%"): string {
  const positional = new Set((spec.positionals ?? []).map((p) => p.name));
  const fields = fieldsOf(spec);
  const rows: [string, string][] = [];
  for (const f of fields) {
    const left = positional.has(f.key) ? `<${f.key}>` : `${f.flag}${metavar(f)}`;
    const notes: string[] = [];
    if (f.description) notes.push(f.description);
    if (f.defaultValue !== undefined) notes.push(`default: ${JSON.stringify(f.defaultValue)}`);
    if (f.required) notes.push("required");
    rows.push([left, notes.join("; ")]);
  }
  if (prefix === "%") rows.push(["--as NAME", "bind the result to a notebook variable"]);
  rows.push(["--help, -h", "show this help"]);
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length)) + 2);
  // Names longer than the column get their description on the next line, aligned.
  const body = rows.map(([l, r]) => (l.length + 2 > width ? `  ${l}\n  ${"".padEnd(width)}${r}` : `  ${l.padEnd(width)}${r}`)).join("\n");
  const examples = spec.examples?.length ? `\n\nExamples:\n${spec.examples.map((e) => `  ${e}`).join("\n")}` : "";
  return `${usageLine(spec, prefix)}\n\n${spec.summary}\n\nArguments:\n${body}${examples}`;
}
