// The magic registry (IPython's core/magic.py in miniature): magics register
// a spec; the kernel and the CLI call `invokeMagic`, which expands, parses,
// validates, runs and renders. Help and %lsmagic come from the same specs.
import { z } from "zod";
import { escapeHtml } from "../engine/util/html";
import { expandLine, type EvalExpression, type RefTable } from "./expand";
import { helpText } from "./help";
import { parseArgs } from "./parse_args";
import { splitLine } from "./tokenize";
import { UsageError, type MagicContext, type MagicSpec, type MimeBundle } from "./types";

const registry = new Map<string, MagicSpec<any, any>>();

export function registerMagic<S extends z.ZodObject, R>(spec: MagicSpec<S, R>): MagicSpec<S, R> {
  registry.set(spec.name, spec as MagicSpec<any, any>);
  return spec;
}

export function getMagic(name: string): MagicSpec<any, any> | undefined {
  return registry.get(name);
}

export function listMagics(): MagicSpec<any, any>[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Default rendering: the result as indented JSON. */
export function jsonBundle(result: unknown): MimeBundle {
  const text = JSON.stringify(result, null, 2) ?? String(result);
  return { "text/plain": text, "application/json": result ?? null };
}

export interface MagicOutcome {
  /** The engine's result; undefined when only help was shown. */
  result?: unknown;
  bundle?: MimeBundle;
  bindAs?: string;
  spec: MagicSpec<any, any>;
  /** Set when help was asked for instead of a run: `%name?` (a pager, like IPython) or `--help`. */
  help?: { text: string; pager: boolean };
}

export interface InvokeOptions {
  /** Evaluates `{expr}` in the notebook; absent for the CLI. */
  evaluate?: EvalExpression;
  body?: string;
  /** Whether the arguments are still a raw line (notebook) or argv words (CLI). */
  words?: string[];
}

export async function invokeMagic(name: string, line: string, ctx: MagicContext, opts: InvokeOptions = {}): Promise<MagicOutcome> {
  let helpOnly = false;
  if (name.endsWith("?")) {
    name = name.replace(/\?+$/, "");
    helpOnly = true;
  }
  const spec = registry.get(name);
  if (!spec) {
    const names = listMagics()
      .map((m) => `%${m.name}`)
      .join(", ");
    throw new UsageError(`unknown magic %${name}; available: ${names} (see %lsmagic)`);
  }
  if (helpOnly) return { spec, help: { text: helpText(spec), pager: true } };
  if (opts.body !== undefined && !spec.acceptsBody) {
    throw new UsageError(`%%${name} is not a cell magic; use %${name} on a line`);
  }
  const refs: RefTable = new Map();
  const evaluate: EvalExpression =
    opts.evaluate ??
    (async () => {
      throw new UsageError("{expr} expansion needs a notebook");
    });
  const { words, quoted } = opts.words ? { words: opts.words, quoted: new Set<number>() } : splitLine(await expandLine(line, ctx.variables, evaluate, refs));
  const parsed = parseArgs(spec, words, ctx.variables, refs, quoted);
  if (parsed.help) return { spec, help: { text: helpText(spec, opts.words ? "tscolab " : "%"), pager: false } };
  const result = await spec.run(parsed.args, ctx, opts.body);
  const bundle = spec.render ? spec.render(result) : jsonBundle(result);
  return { result, bundle, bindAs: parsed.bindAs, spec };
}

registerMagic({
  name: "lsmagic",
  summary: "List the available magics, one line each.",
  args: z.object({}),
  async run() {
    return listMagics().map((m) => ({ name: `%${m.name}`, summary: m.summary }));
  },
  render(rows) {
    const width = Math.max(...rows.map((r) => r.name.length)) + 2;
    const text = ["Available magics:", ...rows.map((r) => `  ${r.name.padEnd(width)}${r.summary}`), "", "Use %name? or %name --help for usage."].join("\n");
    const html =
      `<table><thead><tr><th style="text-align:left">magic</th><th style="text-align:left">what it does</th></tr></thead><tbody>` +
      rows.map((r) => `<tr><td><code>${escapeHtml(r.name)}</code></td><td style="text-align:left">${escapeHtml(r.summary)}</td></tr>`).join("") +
      `</tbody></table>`;
    return { "text/plain": text, "text/html": html };
  },
});
