// complete_request, inspect_request and is_complete_request, aware of magics:
// magic names and flags complete from the registry, flag values from the
// magic's schema (enum values, and its `complete` hints: files, folders, run
// ids); TypeScript completes and inspects through tslab with magic lines
// blanked out (same offsets).
import fs from "node:fs";
import path from "node:path";
import { helpText } from "../magics/help";
import { getMagic, listMagics } from "../magics/registry";
import { fieldsOf, type FieldInfo } from "../magics/schema_info";
import type { MagicSpec } from "../magics/types";
import { isMagicLine } from "./cell";
import type { TsRunner } from "./ts_runner";

const ts = require("@tslab/typescript-for-tslab") as typeof import("@tslab/typescript-for-tslab");
const { printQuickInfo } = require("tslab/dist/inspect") as typeof import("tslab/dist/inspect");

/** Replaces magic lines with spaces so TypeScript offsets stay valid. */
function blankMagics(code: string): string {
  return code
    .split("\n")
    .map((l) => (isMagicLine(l) ? " ".repeat(l.length) : l))
    .join("\n");
}

function lineAt(code: string, pos: number): { text: string; start: number } {
  const start = code.lastIndexOf("\n", pos - 1) + 1;
  const endIdx = code.indexOf("\n", pos);
  return { text: code.slice(start, endIdx < 0 ? code.length : endIdx), start };
}

export interface CompleteReply {
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
  status: "ok";
}

/** Where a completion runs: the notebook's folder (relative paths, the Drive root). */
export interface CompletionContext {
  cwd: string;
}

const reply = (matches: string[], start: number, end: number): CompleteReply => ({ matches, cursor_start: start, cursor_end: end, metadata: {}, status: "ok" });

/** Whether a flag takes the next word as its value (booleans and `--help` do not). */
function takesValue(field: FieldInfo | undefined): boolean {
  return !!field && !(field.kinds.length === 1 && field.kinds[0] === "boolean");
}

export async function complete(ts: TsRunner, code: string, pos: number, ctx: CompletionContext): Promise<CompleteReply> {
  const { text, start } = lineAt(code, pos);
  const before = text.slice(0, pos - start);
  const nameMatch = /^\s*(%%?)([A-Za-z_0-9]*)$/.exec(before);
  if (nameMatch) {
    const typed = nameMatch[2];
    const matches = listMagics()
      .map((m) => m.name)
      .filter((n) => n.startsWith(typed))
      .map((n) => nameMatch[1] + n);
    return reply(matches, pos - typed.length - nameMatch[1].length, pos);
  }
  const lineMatch = /^\s*%%?([A-Za-z_][A-Za-z0-9_]*)\s(.*)$/.exec(before);
  if (lineMatch) {
    const spec = getMagic(lineMatch[1]);
    if (!spec) return reply([], pos, pos);
    return completeArgs(spec, lineMatch[2], pos, ctx);
  }
  if (isMagicLine(text)) return reply([], pos, pos);
  const info = ts.complete(blankMagics(code), pos);
  return reply(info.candidates, info.start, info.end);
}

/** Tab in a magic's arguments: flags, then each flag's values (enum values from the schema, files, folders, run ids). */
async function completeArgs(spec: MagicSpec<any, any>, args: string, pos: number, ctx: CompletionContext): Promise<CompleteReply> {
  const fields = fieldsOf(spec);
  const byFlag = new Map(fields.map((f) => [f.flag, f]));
  const words = args.split(/\s+/);
  const current = words.pop() ?? "";
  const flags = [...fields.map((f) => f.flag), "--as", "--help"];
  const inline = /^(--[A-Za-z0-9-]+)=(.*)$/.exec(current);
  if (inline) return completeValue(byFlag.get(inline[1]), inline[2], words, pos, ctx);
  if (current.startsWith("-"))
    return reply(
      flags.filter((f) => f.startsWith(current)),
      pos - current.length,
      pos,
    );
  // Which word is this: the value of the flag before it, or the next positional?
  let positional = 0;
  let valueOf: FieldInfo | undefined;
  let skipNext = false;
  for (const w of words.filter(Boolean)) {
    valueOf = undefined;
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (w === "--as") skipNext = true;
    else if (w.startsWith("--") && !w.includes("=")) {
      const field = byFlag.get(w);
      skipNext = takesValue(field);
      if (skipNext) valueOf = field;
    } else if (!w.startsWith("-")) positional++;
  }
  if (skipNext && !valueOf) return reply([], pos, pos); // the name after --as
  if (valueOf) return completeValue(valueOf, current, words, pos, ctx);
  const slots = spec.positionals ?? [];
  const slot = slots[Math.min(positional, slots.length - 1)];
  if (slot && (positional < slots.length || slot.rest)) {
    return completeValue(
      fields.find((f) => f.key === slot.name),
      current,
      words,
      pos,
      ctx,
    );
  }
  return reply(current ? [] : flags, pos, pos);
}

async function completeValue(field: FieldInfo | undefined, typed: string, words: string[], pos: number, ctx: CompletionContext): Promise<CompleteReply> {
  if (!takesValue(field)) return reply([], pos, pos);
  // A comma list (--formats tfjs,onnx) completes its last item.
  const partial = field!.kinds.includes("array") ? typed.slice(typed.lastIndexOf(",") + 1) : typed;
  const hint = field!.complete ?? {};
  const candidates: string[] = [...(field!.enumValues ?? []).filter((v): v is string => typeof v === "string"), ...(hint.values ?? [])];
  if (hint.runs) candidates.push("last", ...(await runIds(words, ctx)));
  if (hint.files || hint.dirs) candidates.push(...paths(partial, ctx.cwd, hint.files ?? []));
  const matches = [...new Set(candidates)].filter((c) => c.startsWith(partial));
  return reply(matches, pos - partial.length, pos);
}

/** Run ids under the Drive root the line names (--drive DIR) or the notebook's default one, newest first. */
async function runIds(words: string[], ctx: CompletionContext): Promise<string[]> {
  const i = words.lastIndexOf("--drive");
  const inline = words.find((w) => w.startsWith("--drive="))?.slice("--drive=".length);
  const { resolveDriveRoot } = await import("../engine/store/drive_root");
  const { listRunIds } = await import("../engine/store/runs");
  return (await listRunIds(resolveDriveRoot(inline ?? (i >= 0 ? words[i + 1] : undefined), ctx.cwd))).reverse();
}

/** Paths completing `partial` from the notebook's folder: folders (with a trailing /) and files with one of the extensions. */
function paths(partial: string, cwd: string, extensions: readonly string[]): string[] {
  const slash = partial.lastIndexOf("/");
  const dirPart = partial.slice(0, slash + 1);
  const base = partial.slice(slash + 1);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.resolve(cwd, dirPart || "."), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.name.startsWith(base) || (e.name.startsWith(".") && !base.startsWith("."))) continue;
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) isDir = fs.statSync(path.resolve(cwd, dirPart || ".", e.name), { throwIfNoEntry: false })?.isDirectory() ?? false;
    if (isDir) out.push(`${dirPart}${e.name}/`);
    else if (extensions.some((ext) => e.name.toLowerCase().endsWith(ext))) out.push(`${dirPart}${e.name}`);
  }
  return out.sort();
}

export interface InspectReply {
  status: "ok";
  found: boolean;
  data: Record<string, string>;
  metadata: Record<string, unknown>;
}

export function inspect(ts: TsRunner, code: string, pos: number): InspectReply {
  const { text } = lineAt(code, pos);
  const m = /^\s*%%?([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
  if (m) {
    const spec = getMagic(m[1]);
    if (!spec) return { status: "ok", found: false, data: {}, metadata: {} };
    return { status: "ok", found: true, data: { "text/plain": helpText(spec) }, metadata: {} };
  }
  const info = ts.inspect(blankMagics(code), pos);
  if (!info) return { status: "ok", found: false, data: {}, metadata: {} };
  return { status: "ok", found: true, data: { "text/plain": printQuickInfo(info) }, metadata: {} };
}

export interface IsCompleteReply {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}

/** A closing bracket with no opener can never be completed by more lines. */
function hasUnmatchedCloser(code: string): boolean {
  const K = ts.SyntaxKind;
  const TEMPLATE = -1; // `${` inside a template literal, closed by `}`
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, /*skipTrivia*/ true, ts.LanguageVariant.Standard, code);
  const openerOf: Partial<Record<number, number[]>> = {
    [K.CloseBraceToken]: [K.OpenBraceToken, TEMPLATE],
    [K.CloseParenToken]: [K.OpenParenToken],
    [K.CloseBracketToken]: [K.OpenBracketToken],
  };
  const stack: number[] = [];
  for (let tok = scanner.scan(); tok !== K.EndOfFileToken; tok = scanner.scan()) {
    if (tok === K.OpenBraceToken || tok === K.OpenParenToken || tok === K.OpenBracketToken) stack.push(tok);
    else if (tok === K.TemplateHead) stack.push(TEMPLATE);
    else if (openerOf[tok]) {
      const opener = stack.pop();
      if (opener === undefined || !openerOf[tok]!.includes(opener)) return true;
      if (opener === TEMPLATE && scanner.reScanTemplateToken(false) === K.TemplateMiddle) stack.push(TEMPLATE);
    }
  }
  return false;
}

export function isComplete(runner: TsRunner, code: string): IsCompleteReply {
  const lines = code.split("\n");
  const firstCode = lines.findIndex((l) => l.trim() !== "");
  // `%%name` anywhere but the first line, or a `%` with no name, cannot run.
  if (lines.some((l, i) => /^\s*%%/.test(l) && i !== firstCode) || lines.some((l) => /^\s*%+\s*$/.test(l))) return { status: "invalid" };
  // A magic line ending in a backslash continues on the next line.
  const lastLine = lines[lines.length - 1] ?? "";
  if (isMagicLine(lastLine) && lastLine.trimEnd().endsWith("\\")) return { status: "incomplete", indent: "" };
  if (/^\s*%%/.test(lines.find((l) => l.trim() !== "") ?? "")) {
    // A cell magic's body is free text: complete once a blank line ends it.
    return lines.length > 1 && lastLine.trim() === "" ? { status: "complete" } : { status: "incomplete", indent: "" };
  }
  const tsCode = blankMagics(code);
  if (hasUnmatchedCloser(tsCode)) return { status: "invalid" };
  const res = runner.isComplete(tsCode);
  return res.completed ? { status: "complete" } : { status: "incomplete", indent: res.indent ?? "" };
}
