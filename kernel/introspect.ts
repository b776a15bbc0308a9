// complete_request, inspect_request and is_complete_request, aware of magics:
// magic names and flags complete from the registry; TypeScript completes and
// inspects through tslab with magic lines blanked out (same offsets).
import { helpText } from "../magics/help";
import { getMagic, listMagics } from "../magics/registry";
import { fieldsOf } from "../magics/schema_info";
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

export function complete(ts: TsRunner, code: string, pos: number): CompleteReply {
  const { text, start } = lineAt(code, pos);
  const before = text.slice(0, pos - start);
  const nameMatch = /^\s*(%%?)([A-Za-z_0-9]*)$/.exec(before);
  if (nameMatch) {
    const typed = nameMatch[2];
    const matches = listMagics()
      .map((m) => m.name)
      .filter((n) => n.startsWith(typed))
      .map((n) => nameMatch[1] + n);
    return { matches, cursor_start: pos - typed.length - nameMatch[1].length, cursor_end: pos, metadata: {}, status: "ok" };
  }
  const flagMatch = /^\s*%%?([A-Za-z_][A-Za-z0-9_]*)\s.*?(--?[A-Za-z0-9-]*)$/.exec(before);
  if (flagMatch) {
    const spec = getMagic(flagMatch[1]);
    const typed = flagMatch[2];
    const flags = spec ? [...fieldsOf(spec).map((f) => f.flag), "--as", "--help"] : [];
    return { matches: flags.filter((f) => f.startsWith(typed)), cursor_start: pos - typed.length, cursor_end: pos, metadata: {}, status: "ok" };
  }
  if (isMagicLine(text)) return { matches: [], cursor_start: pos, cursor_end: pos, metadata: {}, status: "ok" };
  const info = ts.complete(blankMagics(code), pos);
  return { matches: info.candidates, cursor_start: info.start, cursor_end: info.end, metadata: {}, status: "ok" };
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
