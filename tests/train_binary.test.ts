// Binary classification with a one-unit sigmoid output: binary
// cross-entropy, class = second label when p > 0.5, the labels in the
// export's metadata; evaluate reads it the same way; a linear unit is
// trained on logits; a one-unit softmax is refused in one line.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { evaluate } from "../engine/evaluate/evaluate";
import type { ClassificationMetrics } from "../engine/evaluate/metrics";
import { exportModel } from "../engine/export/export";
import { train } from "../engine/train/train";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-binary-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const drive = path.join(tmp, "drive");

function writeCsv(name: string, n: number, seed: number): string {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const lines = ["x1,x2,answer"];
  for (let i = 0; i < n; i++) {
    const [x1, x2] = [rnd() * 6 - 3, rnd() * 40 + 10];
    lines.push(`${x1.toFixed(4)},${x2.toFixed(3)},${x1 + (x2 - 30) / 10 > 0 ? "yes" : "no"}`);
  }
  fs.writeFileSync(path.join(tmp, name), lines.join("\n") + "\n");
  return path.join(tmp, name);
}
const trainCsv = writeCsv("train.csv", 400, 1);
const testCsv = writeCsv("test.csv", 120, 2);

const model = (activation: "sigmoid" | "linear" | "softmax") =>
  tf.sequential({ layers: [tf.layers.dense({ units: 8, activation: "relu", inputShape: [2] }), tf.layers.dense({ units: 1, activation })] });
const config = { data: { train: trainCsv, label: "answer" }, epochs: 25, seed: 3, batchSize: 16, learningRate: 0.02 };

describe("a one-unit sigmoid output for two classes", () => {
  test("trains with binary cross-entropy, evaluates and exports with its labels and threshold", async () => {
    const run = await train(config, { drive, model: model("sigmoid") });
    expect(run.status).toBe("completed");
    expect(run.notes.join("\n")).toMatch(/one output unit for two classes: binary cross-entropy, class "yes" when p > 0.5/);
    expect(run.metrics.val_accuracy).toBeGreaterThan(0.85);

    const scored = await evaluate({ run: run.runId, drive, data: testCsv });
    const m = scored.metrics as ClassificationMetrics;
    expect(m.confusionMatrix.labels).toEqual(["no", "yes"]);
    expect(m.confusionMatrix.matrix.flat().reduce((a, b) => a + b, 0)).toBe(120);
    expect(m.accuracy).toBeGreaterThan(0.85);

    const exported = await exportModel({ run: run.runId, drive, formats: ["tfjs", "onnx"], out: path.join(tmp, "export"), latencyRuns: 3, warmupRuns: 1 });
    expect(exported.status).not.toBe("failed");
    expect(exported.checks.find((c) => c.name === "tfjs.val_accuracy")?.status).toBe("passed"); // the export scored with p > 0.5, as training did
    expect(exported.checks.find((c) => c.name === "onnx.parity")?.status).toBe("passed");
    const meta = JSON.parse(fs.readFileSync(path.join(exported.out, "tfjs", "model.json"), "utf8")).userDefinedMetadata;
    expect(meta).toMatchObject({ labels: ["no", "yes"], output: { kind: "sigmoid", threshold: 0.5, positiveLabel: "yes" }, inputs: "raw" });
  });

  test("a linear unit is trained on logits (sigmoid cross-entropy)", async () => {
    const run = await train(config, { drive, model: model("linear") });
    expect(run.notes.join("\n")).toMatch(/binary cross-entropy on logits/);
    expect(run.metrics.val_accuracy).toBeGreaterThan(0.85);
  });

  test("a one-unit softmax (always 1) is refused in one line", async () => {
    await expect(train(config, { drive, model: model("softmax") })).rejects.toThrow(/ends in a 1-unit softmax, which always outputs 1 \(fix: use a 1-unit sigmoid/);
  });
});
