// Splits a cell into the pieces that run top to bottom:
// TypeScript chunks, `%name args` line magics, or one `%%name args` cell magic
// whose body is the rest of the cell. Line numbers are kept so errors point
// at the right line of the cell.
import { UsageError } from "../magics/types";

export type Piece = { kind: "ts"; code: string; line: number } | { kind: "magic"; name: string; args: string; line: number; body?: string };

const LINE_MAGIC = /^\s*%([A-Za-z_][A-Za-z0-9_]*\??)(?:[ \t]+(.*))?\s*$/;
const CELL_MAGIC = /^\s*%%([A-Za-z_][A-Za-z0-9_]*\??)(?:[ \t]+(.*))?\s*$/;

export function isMagicLine(line: string): boolean {
  return LINE_MAGIC.test(line) || CELL_MAGIC.test(line);
}

export function splitCell(code: string): Piece[] {
  const lines = code.split("\n");
  const first = lines.findIndex((l) => l.trim() !== "");
  if (first >= 0) {
    const m = CELL_MAGIC.exec(lines[first]);
    if (m) return [{ kind: "magic", name: m[1], args: (m[2] ?? "").trim(), line: first, body: lines.slice(first + 1).join("\n") }];
  }
  const pieces: Piece[] = [];
  let ts: string[] = [];
  let tsStart = 0;
  const flushTs = (nextLine: number) => {
    if (ts.some((l) => l.trim() !== "")) pieces.push({ kind: "ts", code: ts.join("\n"), line: tsStart });
    ts = [];
    tsStart = nextLine;
  };
  for (let i = 0; i < lines.length; i++) {
    if (CELL_MAGIC.test(lines[i])) {
      throw new UsageError(`cell magic ${lines[i].trim().split(/\s/)[0]} must be on the first line of its cell; move it to a new cell`);
    }
    const m = LINE_MAGIC.exec(lines[i]);
    if (!m) {
      ts.push(lines[i]);
      continue;
    }
    flushTs(i + 1);
    // A trailing backslash continues a magic line (as in IPython).
    let args = (m[2] ?? "").trim();
    const start = i;
    while (args.endsWith("\\") && i + 1 < lines.length) {
      args = args.slice(0, -1).trimEnd() + " " + lines[++i].trim();
      tsStart = i + 1;
    }
    pieces.push({ kind: "magic", name: m[1], args: args.trim(), line: start });
  }
  flushTs(lines.length);
  return pieces;
}
