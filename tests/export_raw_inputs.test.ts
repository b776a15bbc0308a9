// Exports take raw inputs: the training normalisation is inside the exported
// graph. Proven in a fresh Node process that knows nothing of tscolab: stock
// @tensorflow/tfjs loads model.json, onnxruntime-node loads model.onnx, both
// are fed raw measurements, and their outputs are compared with the trained
// model fed the normalised rows. Both ways of moving the normalisation are
// covered: folded into the first Dense (MLP) and stock layers in front of a
// Conv2D (CNN). The health report's new parts are checked on the same export.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { exportModel, type ExportResult } from "../engine/export/export";
import { loadDataset } from "../engine/data";
import { BEST_DIR, loadModelFromFiles, readCheckpoint } from "../engine/store";
import { train } from "../engine/train/train";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-raw-inputs-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const drive = path.join(tmp, "drive");

/** Runs in a child process with only stock packages: raw rows in, outputs of both artifacts out. */
const CONSUMER = `
const fs = require("fs"), path = require("path");
const [root, dir, rowsFile] = process.argv.slice(2);
const tf = require(path.join(root, "node_modules", "@tensorflow", "tfjs"));
const ort = require(path.join(root, "node_modules", "onnxruntime-node"));
(async () => {
  const { rows, shape } = JSON.parse(fs.readFileSync(rowsFile, "utf8"));
  const json = JSON.parse(fs.readFileSync(path.join(dir, "tfjs", "model.json"), "utf8"));
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buf = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, "tfjs", p)))));
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), userDefinedMetadata: json.userDefinedMetadata }));
  const x = tf.tensor(rows.flat(Infinity), [rows.length, ...shape]);
  const viaTfjs = model.predict(x).arraySync();
  const session = await ort.InferenceSession.create(path.join(dir, "onnx", "model.onnx"));
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", Float32Array.from(rows.flat(Infinity)), [rows.length, ...shape]) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  const k = out.dims[out.dims.length - 1];
  const viaOnnx = Array.from({ length: rows.length }, (_, i) => Array.from(out.data.slice(i * k, (i + 1) * k)));
  process.stdout.write(JSON.stringify({ viaTfjs, viaOnnx, metadata: model.getUserDefinedMetadata() }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function consume(dir: string, rows: number[][], shape: number[]): { viaTfjs: number[][]; viaOnnx: number[][]; metadata: Record<string, unknown> } {
  const script = path.join(tmp, "consumer.cjs");
  fs.writeFileSync(script, CONSUMER);
  const rowsFile = path.join(tmp, `rows-${path.basename(dir)}.json`);
  fs.writeFileSync(rowsFile, JSON.stringify({ rows, shape }));
  const stdout = execFileSync(process.execPath, [script, ROOT, dir, rowsFile], { encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));

/** The run's trained model (best/) on normalised rows, and the same rows raw. */
async function reference(runDir: string, config: Parameters<typeof loadDataset>[0], seed: number, rows: number) {
  const data = await loadDataset(config, { seed });
  const model = await loadModelFromFiles((await readCheckpoint(path.join(runDir, BEST_DIR))).files, tf);
  const size = data.info.inputShape.reduce((a, b) => a * b, 1);
  const n = Math.min(rows, data.valid.n);
  const x = data.valid.x.slice(0, n * size);
  const want = tf.tidy(() => (model.predict(tf.tensor(x, [n, ...data.info.inputShape])) as tf.Tensor).arraySync() as number[][]);
  const { mean, std } = data.info.normalization!;
  const raw = Array.from({ length: n }, (_, r) => Array.from(x.slice(r * size, (r + 1) * size), (v, j) => v * std[j] + mean[j]));
  model.dispose();
  return { want, raw, info: data.info };
}

describe("an MLP trained on iris: normalisation folded into its first Dense", () => {
  const config = { data: { train: { builtin: "iris" as const }, validationSplit: 0.3 }, epochs: 12, seed: 11, batchSize: 16, model: { zoo: "mlp" as const, hidden: [16, 8] } };
  let result: ExportResult;
  let runDir = "";

  beforeAll(async () => {
    const run = await train(config, { drive });
    runDir = run.runDir;
    result = await exportModel({ run: run.runId, drive, formats: ["tfjs", "tfjs-uint8", "onnx"], out: path.join(tmp, "mlp"), latencyRuns: 5, warmupRuns: 2 });
  });

  test("stock tfjs and onnxruntime in a fresh process, fed raw measurements, agree with the trained model fed normalised rows", async () => {
    const { want, raw, info } = await reference(runDir, config.data, config.seed, 45);
    expect(raw[0][0]).toBeGreaterThan(3); // raw sepal lengths in cm, not z-scores
    const got = consume(result.out, raw, info.inputShape);
    const tfjsDiff = maxDiff(got.viaTfjs, want);
    const onnxDiff = maxDiff(got.viaOnnx, want);
    console.log(`raw-input max |diff| vs the trained model on ${raw.length} iris rows: tfjs ${tfjsDiff.toExponential(2)}, onnx ${onnxDiff.toExponential(2)}`);
    expect(tfjsDiff).toBeLessThan(1e-5);
    expect(onnxDiff).toBeLessThan(1e-4);
    // Fed the normalised rows instead, the export is wrong: the normalisation really is inside it.
    const doubled = consume(
      result.out,
      raw.map((r, i) => r.map((v, j) => (v - info.normalization!.mean[j]) / info.normalization!.std[j])),
      info.inputShape,
    );
    expect(maxDiff(doubled.viaTfjs, want)).toBeGreaterThan(1e-2);
    expect(got.metadata).toMatchObject({ inputs: "raw", labels: ["setosa", "versicolor", "virginica"], output: { kind: "softmax" }, normalization: { inGraph: true } });
  });

  test("the health report: raw inputs, per-check duration, architecture summary, parameter statistics, recommendations", () => {
    expect(result.status).not.toBe("failed");
    expect(result.checks.find((c) => c.name === "source.raw_inputs")).toMatchObject({ status: "passed", details: { how: "folded", layers: ["dense_1"] } });
    for (const c of result.checks) expect(typeof c.durationMs, c.name).toBe("number");
    expect(result.checks.find((c) => c.name === "tfjs.latency")!.durationMs!).toBeGreaterThan(0);
    expect(result.architecture).toMatchObject({ layers: 5, byClass: { Dense: 3, Activation: 2 }, inputShapes: [[4]], outputShapes: [[3]] });
    expect(result.architecture.parameters.total).toBe(4 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
    const report = JSON.parse(fs.readFileSync(result.healthReport.json, "utf8"));
    expect(report.parameterStats.total).toBe(result.architecture.parameters.total);
    expect(report.parameterStats.weights.map((w: { name: string }) => w.name)).toContain("dense_1/kernel");
    expect(report.parameterStats.nonFinite).toBe(0);
    expect(report.recommendations).toEqual(expect.arrayContaining([expect.objectContaining({ severity: "info", message: expect.stringMatching(/raw feature values/) })]));
    const md = fs.readFileSync(result.healthReport.md, "utf8");
    for (const section of ["## Recommendations", "## Architecture", "## Parameter statistics", "| check | status | ms | message |"]) expect(md).toContain(section);
  });
});

describe("a CNN trained on MNIST pixels: normalisation as stock layers in front of its Conv2D", () => {
  test("Flatten → BatchNormalization → Reshape, loadable by stock tfjs and onnxruntime, raw pixels in", async () => {
    const config = {
      data: { train: { builtin: "mnist" as const, limit: 200 } },
      epochs: 1,
      seed: 3,
      batchSize: 32,
      tier: "3" as const,
      model: { zoo: "cnn" as const, filters: [4], dense: 16 },
    };
    const run = await train(config, { drive });
    const result = await exportModel({ run: run.runId, drive, formats: ["tfjs", "onnx"], out: path.join(tmp, "cnn"), latencyRuns: 3, warmupRuns: 1 });
    expect(result.status).not.toBe("failed");
    expect(result.checks.find((c) => c.name === "source.raw_inputs")?.details).toMatchObject({
      how: "prepended",
      layers: ["raw_input_flatten", "raw_input_normalization", "raw_input_reshape"],
    });
    const { want, raw, info } = await reference(run.runDir, config.data, config.seed, 12);
    const got = consume(result.out, raw, info.inputShape);
    const tfjsDiff = maxDiff(got.viaTfjs, want);
    const onnxDiff = maxDiff(got.viaOnnx, want);
    console.log(`raw-pixel max |diff| vs the trained CNN on ${raw.length} rows: tfjs ${tfjsDiff.toExponential(2)}, onnx ${onnxDiff.toExponential(2)}`);
    expect(tfjsDiff).toBeLessThan(1e-5);
    expect(onnxDiff).toBeLessThan(1e-4);
  });
});
