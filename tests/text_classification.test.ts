// Text classification on a task whose label only word order tells: in "the
// fox chased the owl" the label is the subject. A bag of words sees the same
// words for "fox chased owl" and "owl chased fox", so an MLP on word counts
// cannot beat a coin between the two animals; the transformer (learned
// positions, attention over the whole sentence) can.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exportModel } from "../engine/export/export";
import { train } from "../engine/train/train";
import { chaseSentences, vocabularyOf, writeBagOfWordsCsv, writeTextCsv } from "./helpers/text_data";

describe("text classification where word order decides the label", () => {
  it("a transformer encoder beats a bag-of-words MLP", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-textcls-"));
    const drive = path.join(dir, "drive");
    const trainRows = chaseSentences(600, 1);
    const validRows = chaseSentences(200, 2);
    writeTextCsv(path.join(dir, "train.csv"), trainRows);
    writeTextCsv(path.join(dir, "valid.csv"), validRows);
    const words = vocabularyOf(trainRows);
    writeBagOfWordsCsv(path.join(dir, "bow_train.csv"), trainRows, words);
    writeBagOfWordsCsv(path.join(dir, "bow_valid.csv"), validRows, words);
    const common = { seed: 3, batchSize: 32, learningRate: 0.003, tier: "3" as const };

    const t0 = performance.now();
    const transformer = await train(
      {
        ...common,
        task: "text-classification",
        data: { train: "train.csv", valid: "valid.csv", text: "text", label: "label" },
        tokenizer: { type: "bpe", vocabSize: 300 },
        model: { zoo: "transformer", layers: 2, heads: 4, dModel: 32, seqLen: 16 },
        epochs: 8,
      },
      { cwd: dir, drive },
    );
    const t1 = performance.now();
    const bow = await train(
      { ...common, data: { train: "bow_train.csv", valid: "bow_valid.csv", label: "label" }, model: { zoo: "mlp", hidden: [64, 32] }, epochs: 30 },
      { cwd: dir, drive },
    );
    console.log(
      `word-order task: transformer val_accuracy ${transformer.metrics.val_accuracy} (${((t1 - t0) / 1000).toFixed(1)} s), bag-of-words MLP ${bow.metrics.val_accuracy} (${((performance.now() - t1) / 1000).toFixed(1)} s)`,
    );
    expect(transformer.status).toBe("completed");
    expect(transformer.dataset.task).toBe("text-classification");
    expect(transformer.dataset.labels).toEqual(["cat", "dog", "fox", "owl"]);
    expect(bow.metrics.val_accuracy).toBeLessThan(0.62); // at most half of the pairs, plus noise
    expect(transformer.metrics.val_accuracy).toBeGreaterThan(0.9);
    expect(transformer.metrics.val_accuracy).toBeGreaterThan(bow.metrics.val_accuracy + 0.3);

    // The encoder exports too: ONNX parity, the tfjs export re-scored on the validation texts, the tokenizer beside both.
    const exported = await exportModel({ run: transformer.runDir, formats: ["tfjs", "onnx"], out: path.join(dir, "exports") });
    const notPassed = exported.checks.filter((c) => c.status !== "passed");
    expect(notPassed, JSON.stringify(notPassed)).toEqual([]);
    expect(exported.formats.onnx!.maxAbsDiff!).toBeLessThan(1e-4);
    expect(exported.checks.find((c) => c.name === "tfjs.val_accuracy")?.message).toMatch(/reproduces the run exactly/);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "exports", "onnx", "text.json"), "utf8"));
    expect(meta).toMatchObject({ task: "text-classification", seqLen: 16, tokenizer: "bpe", padId: 256, labels: ["cat", "dog", "fox", "owl"] });
  });
});
