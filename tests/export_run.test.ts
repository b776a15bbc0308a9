// %export from a run in the Drive store: the model comes from best/ or the
// newest valid checkpoint in the run folder, labels and normalisation from
// run.json's dataset (as training recorded them), and the float32 export
// re-scores the run's validation split to the recorded val_accuracy exactly. The CLI
// `tscolab export ... --json` is exercised on the same run.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { unzipSync, strFromU8 } from "fflate";
import { exportModel } from "../engine/export/export";
import { ensureBackend } from "../engine/backend";
import { loadDataset } from "../engine/data";
import { mlp } from "../engine/models";
import { train } from "../engine/train/train";
import { appendMetrics, commitCheckpoint, createRun, modelToFiles, updateRunJson } from "../engine/store";
import { TscolabError } from "../magics/types";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-export-run-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const config = {
  data: { train: { builtin: "iris" as const }, validationSplit: 0.3 },
  seed: 42,
  batchSize: 16,
  task: "classification" as const,
  model: { zoo: "mlp" as const, hidden: [64, 32] },
};

/** Validation accuracy computed here, independently of the exporter: argmax in JS over one predict of the whole split. */
function accuracyOf(model: tf.LayersModel, x: Float32Array, y: Float32Array, inputShape: number[]): number {
  const probs = tf.tidy(() => (model.predict(tf.tensor(x, [y.length, ...inputShape])) as tf.Tensor).arraySync() as number[][]);
  let hits = 0;
  probs.forEach((p, i) => (hits += p.indexOf(Math.max(...p)) === y[i] ? 1 : 0));
  return hits / y.length;
}

const drive = path.join(tmp, "drive");
let runId = "";
let runDir = "";
const recorded: { epoch: number; step: number; accuracy: number; weights: tf.Tensor[] }[] = [];

// A run as the trainer leaves it: run.json with config and dataset, one
// metrics row and one checkpoint per epoch, best/ at the best epoch. The
// training itself is plain tfjs fit on the real iris split.
beforeAll(async () => {
  await ensureBackend(); // train on the backend the trainer (and the exporter) use
  const data = await loadDataset(config.data, { seed: config.seed, task: config.task });
  const run = await createRun(drive, { runName: "iris-mlp", fields: { config, dataset: data.info } });
  runId = run.runId;
  runDir = run.runDir;
  const model = mlp(tf, config.model, { tf, inputShape: data.info.inputShape, outputs: data.outputs, task: "classification" });
  model.compile({ optimizer: tf.train.adam(0.01), loss: "sparseCategoricalCrossentropy" });
  const x = tf.tensor(data.train.x, [data.train.n, ...data.info.inputShape]);
  const y = tf.tensor(data.train.y);
  const stepsPerEpoch = Math.ceil(data.train.n / config.batchSize);
  let best = -1;
  for (let epoch = 1; epoch <= 4; epoch++) {
    await model.fit(x, y, { epochs: 1, batchSize: config.batchSize, shuffle: false, verbose: 0 });
    const accuracy = accuracyOf(model, data.valid.x, data.valid.y, data.info.inputShape);
    const step = epoch * stepsPerEpoch;
    await appendMetrics(runDir, { epoch, step, loss: 1 / epoch, val_loss: 1 / epoch, val_accuracy: accuracy, samplesPerSec: 1000, wallMs: 10 });
    const isBest = accuracy > best;
    if (isBest) best = accuracy;
    await commitCheckpoint(runDir, { step, epoch, files: { ...(await modelToFiles(model)), "trainer_state.json": JSON.stringify({ step }) }, isBest, keepLast: 3 });
    recorded.push({ epoch, step, accuracy, weights: model.getWeights().map((w) => w.clone()) });
  }
  await updateRunJson(runDir, { status: "completed" });
  tf.dispose([x, y]);
});

describe("export from a run", () => {
  test("--checkpoint last: the newest checkpoint, the float32 export reproduces its val_accuracy exactly", async () => {
    const last = recorded[recorded.length - 1];
    const r = await exportModel({ run: runId, drive, checkpoint: "last", formats: ["tfjs", "tfjs-float16", "tfjs-uint8"], out: path.join(tmp, "last"), latencyRuns: 10 });
    expect(r.source).toMatchObject({ kind: "run", runId, checkpoint: "last", step: last.step, epoch: last.epoch });
    const repro = r.checks.find((c) => c.name === "tfjs.val_accuracy")!;
    expect(repro.status).toBe("passed");
    expect(repro.details).toMatchObject({ recorded: last.accuracy, reproduced: last.accuracy });
    expect(r.checks.find((c) => c.name === "tfjs-uint8.val_accuracy")).toBeDefined();
    expect(r.checks.find((c) => c.name === "tfjs-uint8.parity")?.details).toMatchObject({ probeSource: "validation", rows: 45 }); // iris: 150 rows, 30% held out
    expect(r.status).not.toBe("failed");
    // Labels and normalisation reach a consumer through stock tfjs.
    const json = JSON.parse(fs.readFileSync(path.join(r.out, "tfjs", "model.json"), "utf8"));
    expect(json.userDefinedMetadata.labels).toEqual(["setosa", "versicolor", "virginica"]);
    expect(json.userDefinedMetadata.normalization.mean).toHaveLength(4);
    expect(json.userDefinedMetadata.source).toMatchObject({ runId, step: last.step });
  });

  test("--checkpoint best (default): best/ from the store, default out under the run's exports/, bundle with metrics and plots", async () => {
    const best = recorded.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    const r = await exportModel({ run: "last", drive, formats: ["tfjs"], bundle: true, latencyRuns: 5 });
    expect(r.source).toMatchObject({ checkpoint: "best", step: best.step });
    expect(r.out.startsWith(path.join(runDir, "exports", "best-"))).toBe(true);
    expect(r.checks.find((c) => c.name === "tfjs.val_accuracy")?.details).toMatchObject({ reproduced: best.accuracy });
    const zip = unzipSync(fs.readFileSync(r.bundle!.path));
    expect(Object.keys(zip)).toEqual(
      expect.arrayContaining(["config.json", "environment.json", "run.json", "metrics.jsonl", "plots/history.svg", "health_report.json", "health_report.md"]),
    );
    expect(JSON.parse(strFromU8(zip["config.json"])).train.seed).toBe(42);
    expect(strFromU8(zip["metrics.jsonl"]).trim().split("\n")).toHaveLength(4);
    expect(strFromU8(zip["plots/history.svg"])).toMatch(/^<svg[^>]*>.*val_accuracy.*<\/svg>/s);
  });

  test("a corrupt newest checkpoint is skipped with a warning and the previous valid one exported", async () => {
    const copy = path.join(tmp, "drive-corrupt");
    fs.cpSync(drive, copy, { recursive: true });
    const dir = path.join(copy, "tscolab", "runs", runId, "checkpoints");
    const newest = fs.readdirSync(dir).sort().pop()!;
    const weights = path.join(dir, newest, "weights.bin");
    const bytes = fs.readFileSync(weights);
    bytes[10] ^= 0xff;
    fs.writeFileSync(weights, bytes);
    const r = await exportModel({ run: runId, drive: copy, checkpoint: "last", formats: ["tfjs"], out: path.join(tmp, "corrupt"), latencyRuns: 5 });
    expect(r.source.step).toBe(recorded[recorded.length - 2].step);
    expect(r.checks.find((c) => c.name === "source.checkpoint")).toMatchObject({ status: "warning", message: expect.stringMatching(/corrupt.*weights\.bin/) });
  });

  test("a run with no checkpoint yet: one line saying so", async () => {
    const emptyDrive = path.join(tmp, "drive-empty-run");
    const fresh = await createRun(emptyDrive, { runName: "fresh" });
    const err = await exportModel({ run: fresh.runId, drive: emptyDrive, checkpoint: "last", formats: ["tfjs"], out: path.join(tmp, "fresh") }).catch((e) => e);
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toMatch(new RegExp(`run ${fresh.runId} has no valid checkpoint`));
    expect(fs.existsSync(path.join(tmp, "fresh"))).toBe(false); // nothing written before the input is known good
  });

  test("a run without best/ asks for --checkpoint last", async () => {
    const copy = path.join(tmp, "drive-nobest");
    fs.cpSync(drive, copy, { recursive: true });
    fs.rmSync(path.join(copy, "tscolab", "runs", runId, "best"), { recursive: true });
    const err = await exportModel({ run: runId, drive: copy, formats: ["tfjs"], out: path.join(tmp, "nobest") }).catch((e) => e);
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toMatch(/no best checkpoint.*--checkpoint last/);
  });

  test("a run trained by train() itself (CSV data, relative path): the float32 export reproduces its last val_accuracy exactly", async () => {
    // Two seeded Gaussian blobs in a CSV next to a "notebook"; the export runs from another folder.
    const nb = path.join(tmp, "notebook");
    fs.mkdirSync(nb, { recursive: true });
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const lines = ["a,b,c,kind"];
    for (let i = 0; i < 240; i++) {
      const k = i % 3;
      lines.push(
        [0, 1, 2]
          .map((j) => (k === j ? 1.2 : 0) + (rand() - 0.5) * 2.5)
          .map((v) => v.toFixed(4))
          .join(",") + `,${["red", "green", "blue"][k]}`,
      );
    }
    fs.writeFileSync(path.join(nb, "blobs.csv"), lines.join("\n") + "\n");
    const trainDrive = path.join(tmp, "drive-trained");
    const summary = await train(
      { runName: "blobs", data: { train: "blobs.csv", label: "kind" }, model: { zoo: "mlp", hidden: [16] }, epochs: 6, seed: 3 },
      { drive: trainDrive, cwd: nb },
    );
    expect(summary.status).toBe("completed");
    const recordedAccuracy = (summary.metrics as { val_accuracy: number }).val_accuracy;
    const r = await exportModel({
      run: "last",
      drive: trainDrive,
      checkpoint: "last",
      formats: ["tfjs", "tfjs-uint8"],
      out: path.join(tmp, "trained-export"),
      cwd: tmp,
      latencyRuns: 5,
    });
    const repro = r.checks.find((c) => c.name === "tfjs.val_accuracy")!;
    expect(repro).toMatchObject({ status: "passed", details: { reproduced: recordedAccuracy, recorded: recordedAccuracy } });
    expect(r.status).not.toBe("failed");
    const meta = JSON.parse(fs.readFileSync(path.join(r.out, "tfjs", "model.json"), "utf8")).userDefinedMetadata;
    expect(meta.labels).toEqual(["blue", "green", "red"]);
    expect(meta.features).toEqual(["a", "b", "c"]);

    // `%train ... --as summary` then `%export summary`: the summary stands for its run.
    await import("../magics");
    const { invokeMagic } = await import("../magics/registry");
    const ctx = { cwd: tmp, signal: new AbortController().signal, variables: { summary }, rich: true, stdout() {}, stderr() {}, display: () => ({ update() {} }) };
    const viaMagic = await invokeMagic("export", `summary --checkpoint last --formats tfjs --out ${path.join(tmp, "via-magic")}`, ctx);
    expect((viaMagic.result as { source: { runId: string } }).source.runId).toBe(summary.runId);
  });
});

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("tscolab export (CLI, built dist)", () => {
  beforeAll(() => {
    expect(fs.existsSync(path.join(ROOT, "dist", "engine", "export", "export.js")), "run `npx tsc -p .` first (npm test does it in pretest)").toBe(true);
  });

  test("--json prints the export summary (formats, healthScore, status) and exits 0", async () => {
    const out = path.join(tmp, "cli-out");
    const r = await cli(["export", "--run", runId, "--drive", drive, "--checkpoint", "last", "--formats", "tfjs,tfjs-uint8", "--out", out, "--json"], tmp);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.out).toBe(out);
    expect(Object.keys(json.formats)).toEqual(["tfjs", "tfjs-uint8"]);
    for (const f of Object.values(json.formats) as Record<string, unknown>[])
      for (const k of ["path", "bytes", "maxAbsDiff", "p50Ms", "p95Ms", "status"]) expect(f).toHaveProperty(k);
    expect(typeof json.healthScore).toBe("number");
    expect(["passed", "warning"]).toContain(json.status);
    expect(fs.existsSync(path.join(out, "health_report.md"))).toBe(true);
  });

  test("bad input: one line on stderr, non-zero exit", async () => {
    const cases = [
      { args: ["export", "--run", runId, "--drive", drive, "--formats", "tfjs,savedmodel"], match: /UsageError: --formats.*tfjs/ },
      { args: ["export", "--run", "nope", "--drive", drive, "--formats", "tfjs"], match: /no run "nope"/ },
      { args: ["export", "--run", runId, "--drive", drive, "--formats", "tfjs", "--out", path.join(ROOT, "package.json", "x")], match: /cannot write the export to/ },
    ];
    for (const c of cases) {
      const r = await cli(c.args, tmp);
      expect(r.code).not.toBe(0);
      expect(
        r.stderr
          .trim()
          .split("\n")
          .filter((l) => !/^=+$|Hi, looks like|^$/.test(l)),
      ).toEqual([expect.stringMatching(c.match)]);
      expect(r.stdout.trim()).toBe("");
    }
  });
});
