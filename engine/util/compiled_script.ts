// Where the compiled JavaScript of a worker or child script is: beside the
// caller when it runs from dist/, else in the nearest dist/ above it (the
// tests run the TypeScript sources beside a built dist/).
import fs from "node:fs";
import path from "node:path";

/** `dist/<rel>` for the caller in `dir` (its __dirname), or null when it is not built. */
export function compiledScript(dir: string, rel: string): string | null {
  const here = path.join(dir, path.basename(rel));
  if (fs.existsSync(here)) return here;
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
    const built = path.join(d, "dist", rel);
    if (fs.existsSync(built)) return built;
  }
  return null;
}
