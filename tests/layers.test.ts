// The layers import in one direction only: cli → kernel → magics → engine.
// engine/ does the work and knows nothing of the faces; magics/ parses and
// renders; kernel/ speaks Jupyter; cli/ is the terminal. An import that runs
// the other way fails here, with the file and the line that does it.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const LAYERS = ["engine", "magics", "kernel", "cli"] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import besides itself and packages. */
const MAY_IMPORT: Record<Layer, Layer[]> = {
  engine: [],
  magics: ["engine"],
  kernel: ["magics", "engine"],
  cli: ["kernel", "magics", "engine"],
};

function layerOf(rel: string): Layer | undefined {
  const top = rel.split("/")[0];
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : undefined;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.ts$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Every wrong-way import of one file's text, as "file:line imports spec (layer → layer)". */
export function wrongWayImports(relFile: string, text: string): string[] {
  const from = layerOf(relFile);
  if (!from) return [];
  const info = ts.preProcessFile(text, true, true);
  const out: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith(".")) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(relFile), ref.fileName));
    const to = layerOf(target);
    if (!to || to === from || MAY_IMPORT[from].includes(to)) continue;
    const line = text.slice(0, ref.pos).split("\n").length;
    out.push(`${relFile}:${line} imports ${ref.fileName} (${from} → ${to})`);
  }
  return out;
}

describe("layers", () => {
  it("no import runs from a lower layer to a higher one", () => {
    const files = LAYERS.flatMap((l) => sourceFiles(path.join(ROOT, l)));
    expect(files.length).toBeGreaterThan(100);
    const wrong = files.flatMap((f) => {
      const rel = path.relative(ROOT, f).split(path.sep).join("/");
      return wrongWayImports(rel, fs.readFileSync(f, "utf8"));
    });
    expect(wrong).toEqual([]);
  });

  it("the check sees static, type-only, dynamic and require imports", () => {
    const text = [
      'import { a } from "../../magics/registry";',
      'import type { B } from "../../kernel/wire";',
      'const c = await import("../../cli/main");',
      'const d = require("../../magics/types");',
      'import { e } from "../store";',
      'import { z } from "zod";',
    ].join("\n");
    expect(wrongWayImports("engine/train/x.ts", text)).toEqual([
      "engine/train/x.ts:1 imports ../../magics/registry (engine → magics)",
      "engine/train/x.ts:2 imports ../../kernel/wire (engine → kernel)",
      "engine/train/x.ts:3 imports ../../cli/main (engine → cli)",
      "engine/train/x.ts:4 imports ../../magics/types (engine → magics)",
    ]);
    expect(wrongWayImports("kernel/x.ts", 'import { m } from "../cli/main";')).toHaveLength(1);
    expect(wrongWayImports("cli/x.ts", 'import { m } from "../kernel/server";')).toEqual([]);
  });
});
