// Small notebooks written by the tests.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export type CellSpec = string | { source: string; tags?: string[]; markdown?: boolean };

export function writeTestNotebook(cells: CellSpec[], name = "test.ipynb"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-run-"));
  const nb = {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: "tscolab", display_name: "TypeScript (tscolab)", language: "typescript" } },
    cells: cells.map((c) => {
      const spec = typeof c === "string" ? { source: c } : c;
      return spec.markdown
        ? { cell_type: "markdown", metadata: {}, source: spec.source }
        : { cell_type: "code", metadata: spec.tags ? { tags: spec.tags } : {}, source: spec.source, outputs: [], execution_count: null };
    }),
  };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}
