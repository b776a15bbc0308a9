// A magic's result bound with --as gets the type its spec names; a name its
// module does not export would quietly fall back to `any`. Every magic that
// names a result type names one its module's declarations really export.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listMagics } from "../magics";

const ROOT = path.resolve(__dirname, "..");

describe("result types of the magics", () => {
  it("every engine magic names its result type, and the built declarations export it", () => {
    // Still bound as `any`: their result types reach zod's internal types, which a
    // notebook cell cannot name (TS2742 on `const x = result.field`), or a
    // metrics union that cells would have to narrow first.
    const untyped = new Set(["clear_output", "lsmagic", "runs", "compare", "sweep", "evaluate", "predict", "monitor", "worker", "generate"]);
    const magics = listMagics().filter((m) => !untyped.has(m.name));
    expect(magics.length).toBeGreaterThanOrEqual(7);
    for (const m of magics) {
      expect(m.resultType, `%${m.name} has no resultType`).toBeDefined();
      const dts = path.join(ROOT, "dist", `${m.resultType!.module}.d.ts`);
      expect(fs.existsSync(dts), `${dts} (build first: npm test does it in pretest)`).toBe(true);
      const text = fs.readFileSync(dts, "utf8");
      expect(text, `%${m.name}: ${m.resultType!.module} exports no ${m.resultType!.name}`).toMatch(
        new RegExp(`export (declare )?(interface|type|class) ${m.resultType!.name}\\b|export \\{[^}]*\\b${m.resultType!.name}\\b`),
      );
    }
  });
});
