// Usage text generated from the same zod schema that validates the arguments.
// Fields may carry a help group in their zod metadata (`group`): the synopsis
// then names only the ungrouped (main) arguments, and the other flags follow
// under one heading per group, in the order the groups first appear. Without
// groups every flag is in the synopsis and under "Arguments".
import { fieldsOf, type FieldInfo } from "./schema_info";
import type { MagicSpec } from "./types";

function metavar(f: FieldInfo): string {
  if (f.kinds.length === 1 && f.kinds[0] === "boolean") return "";
  if (f.metavar) return ` ${f.metavar}`;
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
  const grouped = fields.some((f) => f.group);
  const flags = fields.filter((f) => !positional.has(f.key) && !f.group).map((f) => (f.required ? `${f.flag}${metavar(f)}` : `[${f.flag}${metavar(f)}]`));
  const pos = (spec.positionals ?? []).map((p) => {
    const f = fields.find((x) => x.key === p.name);
    const name = `<${p.name}>${p.rest ? "..." : ""}`;
    return f?.required ? name : `[${name}]`;
  });
  // CLI commands spell magic names with dashes: %verify_env is `tscolab verify-env`.
  const name = prefix === "%" ? spec.name : spec.name.replace(/_/g, "-");
  const options = grouped ? ["[options]"] : [];
  const bind = prefix === "%" ? ["[--as NAME]"] : [];
  return [`${prefix}${name}`, ...pos, ...flags, ...options, ...bind].join(" ");
}

/** Help lines longer than this wrap (a terminal would otherwise break them mid-word). */
const LINE_WIDTH = 100;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function row(f: FieldInfo, positional: boolean): [string, string] {
  const left = positional ? `<${f.key}>` : `${f.flag}${metavar(f)}`;
  const notes: string[] = [];
  if (f.description) notes.push(f.description);
  if (f.defaultText !== undefined) notes.push(`default: ${f.defaultText}`);
  else if (f.defaultValue !== undefined) notes.push(`default: ${JSON.stringify(f.defaultValue)}`);
  if (f.required) notes.push("required");
  return [left, notes.join("; ")];
}

export function helpText(spec: MagicSpec<any, any>, prefix = "%"): string {
  const positional = new Set((spec.positionals ?? []).map((p) => p.name));
  const fields = fieldsOf(spec);
  const main: [string, string][] = fields.filter((f) => !f.group).map((f) => row(f, positional.has(f.key)));
  if (prefix === "%") main.push(["--as NAME", "bind the result to a notebook variable"]);
  main.push(["--help, -h", "show this help"]);
  const groups = new Map<string, [string, string][]>();
  for (const f of fields.filter((x) => x.group)) {
    const rows = groups.get(f.group!) ?? [];
    rows.push(row(f, positional.has(f.key)));
    groups.set(f.group!, rows);
  }
  const all = [...main, ...[...groups.values()].flat()];
  const width = Math.min(32, Math.max(...all.map(([l]) => l.length)) + 2);
  const indent = `  ${"".padEnd(width)}`;
  // Names longer than the column get their description on the next line; descriptions wrap between words, aligned.
  const body = (rows: [string, string][]) =>
    rows
      .map(([l, r]) => {
        const [first, ...rest] = wrap(r, LINE_WIDTH - indent.length);
        const head = l.length + 2 > width ? `  ${l}\n${indent}${first}` : `  ${l.padEnd(width)}${first}`;
        return [head, ...rest.map((t) => indent + t)].join("\n");
      })
      .join("\n");
  const sections = [`Arguments:\n${body(main)}`, ...[...groups].map(([g, rows]) => `${g[0].toUpperCase()}${g.slice(1)}:\n${body(rows)}`)];
  const examples = spec.examples?.length ? `\n\nExamples:\n${spec.examples.map((e) => `  ${e}`).join("\n")}` : "";
  return `${usageLine(spec, prefix)}\n\n${spec.summary}\n\n${sections.join("\n\n")}${examples}`;
}
