// Model files: TypeScript and JavaScript (ES module or CommonJS syntax) load
// with the kernel's own tfjs instance.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { loadModelFactory } from "../engine/models/load_file";

const body = `({ tf, inputShape, outputs }) {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape, units: 4, activation: "relu" }));
  m.add(tf.layers.dense({ units: outputs }));
  return m;
}`;

describe("model files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-model-file-"));
  const cases: [string, string][] = [
    ["esm.js", `export function createModel${body}`],
    ["cjs.cjs", `exports.createModel = function ${body};`],
    [
      "typed.ts",
      `import * as tfjs from "@tensorflow/tfjs";\nexport function createModel${body.replace("({ tf, inputShape, outputs })", "({ tf, inputShape, outputs }: { tf: typeof tfjs; inputShape: number[]; outputs: number })")}`,
    ],
  ];
  for (const [name, source] of cases) {
    it(`loads ${name} and builds the model with our tf`, () => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, source);
      const model = loadModelFactory(file, tf)({ tf, inputShape: [3], outputs: 2, task: "classification" }) as tf.LayersModel;
      expect(model.outputs[0].shape).toEqual([null, 2]);
      expect(model.countParams()).toBe(3 * 4 + 4 + 4 * 2 + 2);
    });
  }
});
