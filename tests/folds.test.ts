// K-fold runs ("folds": K): the fold assignment (stratified, seeded), the
// parent run and its fold runs on disk, out-of-fold predictions that come
// from the one model that did not train on each row (checked row by row, and
// by a model that memorises noise: perfect on its training rows, chance out
// of fold), the metrics beside the folds' mean and spread, "auto" from the
// profile, an interrupted parent resumed (only the unfinished folds run, and
// the result is the uninterrupted one, byte for byte), and every bad input as
// one line.
process.env.TSCOLAB_BACKEND = "cpu"; // bit-identity is promised on one backend
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import "../magics";
import { invokeMagic } from "../magics/registry";
import { sweep } from "../engine/experiments";
import { loadDataset } from "../engine/data/dataset";
import { assignFolds, foldRows } from "../engine/folds/assign";
import { AUTO_FOLDS, foldCount } from "../engine/folds/record";
import { predictSplit } from "../engine/folds/predictions";
import { loadLatestCheckpoint, loadModelFromFiles, sha256 } from "../engine/store";
import { resolvedConfig } from "../engine/train/config";
import { train, type TrainResult } from "../engine/train/train";
import { TscolabError, UsageError, type MagicContext } from "../magics/types";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "tscolab.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-folds-"));
const IRIS = { data: { train: { builtin: "iris" as const } }, batchSize: 16, model: { zoo: "mlp" as const, hidden: [8] }, learningRate: 0.02 };

type Obj = Record<string, unknown>;
const runJson = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, "run.json"), "utf8")) as Obj;
const readLines = (file: string) =>
  fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Obj);

/** Final weights of a run, as a hash. */
async function finalWeights(runDir: string): Promise<string> {
  const { checkpoint } = await loadLatestCheckpoint(runDir);
  return sha256(checkpoint!.files["weights.bin"]!);
}

describe("fold assignment", () => {
  test("stratified: every class spread over the folds within one row, sizes within one row, seeded", () => {
    // 3 classes of 10, 7 and 4 rows, interleaved.
    const y = Float32Array.from([...Array(10).fill(0), ...Array(7).fill(1), ...Array(4).fill(2)].sort((a, b) => ((a * 7 + b * 3) % 5) - ((b * 7 + a * 3) % 5)));
    const fold = assignFolds(y, { k: 4, seed: 3, stratified: true, source: "t" });
    for (const c of [0, 1, 2]) {
      const counts = [0, 1, 2, 3].map((f) => fold.filter((v, i) => v === f && y[i] === c).length);
      expect(Math.max(...counts) - Math.min(...counts), `class ${c}: ${counts}`).toBeLessThanOrEqual(1);
    }
    const sizes = [0, 1, 2, 3].map((f) => fold.filter((v) => v === f).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(assignFolds(y, { k: 4, seed: 3, stratified: true, source: "t" })).toEqual(fold);
    expect(assignFolds(y, { k: 4, seed: 4, stratified: true, source: "t" })).not.toEqual(fold);
    const { train: tr, valid } = foldRows(fold, 2);
    expect([...tr, ...valid].sort((a, b) => a - b)).toEqual([...Array(y.length).keys()]);
    expect([...valid].every((r) => fold[r] === 1)).toBe(true);
    // Regression: one seeded order dealt round-robin.
    const r = assignFolds(new Float32Array(11), { k: 3, seed: 1, stratified: false, source: "t" });
    expect([0, 1, 2].map((f) => r.filter((v) => v === f).length).sort()).toEqual([3, 4, 4]);
  });

  test("bad K, one line each: fewer than 2, more than the smallest class, more than the rows", () => {
    const y = Float32Array.from([0, 0, 0, 1, 1, 0, 0]);
    expect(() => assignFolds(y, { k: 1, seed: 1, stratified: true, source: "t" })).toThrow(/folds: 1 is not a fold count; cross-validation needs at least 2 folds/);
    expect(() => assignFolds(y, { k: 3, seed: 1, stratified: true, classes: ["cat", "dog"], source: "pets.csv" })).toThrow(
      'folds: 3 is more than the 2 rows of class "dog" in pets.csv; every fold must hold out at least one row of each class (fix: use folds <= 2, or add rows of that class)',
    );
    expect(() => assignFolds(new Float32Array(4), { k: 5, seed: 1, stratified: false, source: "r.csv" })).toThrow(/folds: 5 is more than the 4 rows of r.csv/);
  });

  test('"auto" comes from the profile (3 on cpu, 5 on optimized, 10 on aggressive); a number given wins', () => {
    expect([foldCount("auto", "cpu"), foldCount("auto", "optimized"), foldCount("auto", "aggressive")]).toEqual([3, 5, 10]);
    expect(foldCount(7, "aggressive")).toBe(7);
    expect(AUTO_FOLDS.enhanced).toBe(5);
  });
});

describe("folds runs", () => {
  let iris: TrainResult;
  const drive = path.join(work, "drive-iris");

  test('iris, "folds": "auto" on cpu: a parent run, 3 fold runs, oof.jsonl from the models that never trained on each row', async () => {
    const t0 = Date.now();
    iris = await train({ ...IRIS, runName: "iris-cv", seed: 5, epochs: 6, folds: "auto", data: { train: { builtin: "iris" }, validationSplit: 0.3 } }, { drive });
    expect(iris.status).toBe("completed");
    const f = iris.folds!;
    expect([f.k, f.auto, f.stratified, f.seed]).toEqual([3, true, true, 5]);
    expect(iris.notes).toContain("folds: auto gives 3 folds on the cpu profile");
    expect(iris.notes.some((n) => n.includes("validationSplit is not used with folds"))).toBe(true);
    expect(iris.config.folds).toBe(3);

    // On disk: the parent (kind folds) and three ordinary runs tagged with it.
    const parent = runJson(iris.runDir);
    expect(parent).toMatchObject({ kind: "folds", status: "completed", metrics: iris.metrics, bestFold: f.bestFold });
    expect(f.runs.map((r) => [r.fold, r.status, r.rows])).toEqual([
      [1, "completed", 50],
      [2, "completed", 50],
      [3, "completed", 50],
    ]);
    const foldDirs = f.runs.map((r) => path.join(drive, "tscolab", "runs", r.runId!));
    foldDirs.forEach((dir, i) => {
      const j = runJson(dir);
      expect(j).toMatchObject({ foldOf: iris.runId, fold: i + 1, folds: 3, status: "completed" });
      expect((j.config as Obj).folds).toBeNull();
      expect(((j.config as Obj).data as Obj).fold).toEqual({ of: 3, holdOut: i + 1, seed: 5 });
      // Tiers 1 and 2 ran with fold 1 only.
      expect(((j.tiers as Obj)["1"] as Obj).status).toBe(i === 0 ? "passed" : "skipped");
      expect(fs.existsSync(path.join(dir, "checkpoints"))).toBe(true);
    });

    // Every row once, predicted by the fold that held it out; that fold's model never trained on it.
    const oof = readLines(path.join(iris.runDir, "oof.jsonl"));
    expect(oof.map((l) => l.row)).toEqual([...Array(150).keys()]);
    const labels = ["setosa", "versicolor", "virginica"];
    for (const [i, dir] of foldDirs.entries()) {
      const cfg = resolvedConfig.parse(runJson(dir).config);
      const ds = await loadDataset(cfg.data, { seed: cfg.seed, task: "classification" });
      const trained = new Set(ds.rows!.train);
      const held = [...ds.rows!.valid];
      expect(held.length).toBe(50);
      expect(held.every((r) => !trained.has(r))).toBe(true);
      expect(held.every((r) => oof[r]!.fold === i + 1)).toBe(true);
      // The line is that model's own prediction: recomputed from its final checkpoint.
      const { checkpoint } = await loadLatestCheckpoint(dir);
      const model = await loadModelFromFiles(checkpoint!.files, tf);
      const p = predictSplit(tf, model, ds.valid, ds.info.inputShape, "classification");
      held.forEach((row, k) => {
        const line = oof[row]!;
        expect(line.label).toBe(labels[ds.valid.y[k]!]);
        // Written as the shortest decimals that read back as the model's float32 outputs.
        expect((Object.values(line.probabilities as Obj) as number[]).map(Math.fround)).toEqual(Array.from(p.subarray(k * 3, k * 3 + 3)));
      });
      model.dispose();
    }

    // Out-of-fold metrics beside the folds' mean and spread: with equal folds, OOF accuracy is the mean accuracy.
    const accs = f.runs.map((r) => r.metrics.val_accuracy!);
    const mean = accs.reduce((a, b) => a + b, 0) / 3;
    expect(f.mean.val_accuracy).toBeCloseTo(mean, 12);
    expect(f.std.val_accuracy).toBeCloseTo(Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / 2), 12);
    expect(iris.metrics.val_accuracy).toBeCloseTo(mean, 12);
    expect(f.oof).toMatchObject({ rows: 150, metrics: iris.metrics });
    const hits = oof.filter((l) => l.label === l.prediction).length;
    expect(iris.metrics.val_accuracy).toBeCloseTo(hits / 150, 12);
    expect(iris.model.outputs[0]!.shape).toEqual([null, 3]);
    console.log(`iris folds (auto: 3): ${((Date.now() - t0) / 1000).toFixed(1)} s; OOF accuracy ${iris.metrics.val_accuracy!.toFixed(3)}`);
  });

  test("no leakage: a model that memorises pure noise is perfect on its training rows and at chance out of fold", async () => {
    const t0 = Date.now();
    let s = 99;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const file = path.join(work, "noise.csv");
    const rows = Array.from({ length: 80 }, (_, i) => [...Array.from({ length: 12 }, () => (rnd() * 2 - 1).toFixed(4)), i % 2 ? "a" : "b"].join(","));
    fs.writeFileSync(file, [[...Array.from({ length: 12 }, (_, j) => `f${j}`), "label"].join(","), ...rows].join("\n") + "\n");
    const r = await train(
      {
        runName: "noise",
        seed: 2,
        data: { train: file },
        model: { zoo: "mlp", hidden: [128] },
        epochs: 60,
        batchSize: 16,
        learningRate: 0.02,
        folds: 2,
        checkpoint: { everyEpochs: 30 },
      },
      { drive: path.join(work, "drive-noise") },
    );
    expect(r.status).toBe("completed");
    // Each fold model fits its own training rows...
    for (const entry of r.folds!.runs) {
      const dir = path.join(work, "drive-noise", "tscolab", "runs", entry.runId!);
      const cfg = resolvedConfig.parse(runJson(dir).config);
      const ds = await loadDataset(cfg.data, { seed: cfg.seed, cwd: work });
      const { checkpoint } = await loadLatestCheckpoint(dir);
      const model = await loadModelFromFiles(checkpoint!.files, tf);
      const p = predictSplit(tf, model, ds.train, ds.info.inputShape, "classification");
      const fit = Array.from(ds.train.y).filter((y, i) => (p[i * 2 + 1]! > p[i * 2]! ? 1 : 0) === y).length / ds.train.n;
      expect(fit).toBeGreaterThan(0.95);
      model.dispose();
    }
    // ...and knows nothing about the rows it did not see.
    expect(r.metrics.val_accuracy).toBeGreaterThan(0.25);
    expect(r.metrics.val_accuracy).toBeLessThan(0.75);
    console.log(`noise folds: ${((Date.now() - t0) / 1000).toFixed(1)} s; OOF accuracy ${r.metrics.val_accuracy}`);
  });

  test("interrupted during fold 2 and resumed with --resume last: fold 1 is kept, fold 2 continues, fold 3 starts; same bytes as uninterrupted", async () => {
    const t0 = Date.now();
    const config = {
      ...IRIS,
      runName: "cv-stop",
      seed: 8,
      epochs: 8,
      folds: 3,
      model: { zoo: "mlp" as const, hidden: [16], dropout: 0.2 },
      checkpoint: { everyEpochs: 1, everySteps: 3 },
    };
    const whole = await train(config, { drive: path.join(work, "drive-whole") });
    expect(whole.status).toBe("completed");

    const drive = path.join(work, "drive-stop");
    const controller = new AbortController();
    const stopped = await train(config, {
      drive,
      signal: controller.signal,
      onProgress: (e) => {
        // Events name the parent run; the fold is in `fold`.
        expect(e.runId).not.toMatch(/-fold\d$/);
        if (e.fold?.fold === 2 && e.fold.runId.endsWith("-fold2") && e.phase === "tier3" && e.step >= 13) controller.abort();
      },
    });
    expect(stopped.status).toBe("stopped");
    expect(stopped.diagnosis).toMatch(/^fold 2: /);
    expect(stopped.folds!.runs.map((r) => r.status)).toEqual(["completed", "stopped", "pending"]);
    expect(runJson(stopped.runDir)).toMatchObject({ status: "stopped", resumable: true });
    const fold1 = runJson(path.join(drive, "tscolab", "runs", stopped.folds!.runs[0]!.runId!));

    // "last" is fold 2's run: the parent is resumed instead.
    const resumed = await train(undefined, { drive, resume: "last" });
    expect(resumed.status).toBe("completed");
    expect(resumed.runId).toBe(stopped.runId);
    expect(resumed.notes[0]).toMatch(/is fold 2 of .*: resuming that folds run/);
    expect(resumed.folds!.runs.slice(0, 2).map((r) => r.runId)).toEqual(stopped.folds!.runs.slice(0, 2).map((r) => r.runId));
    expect(runJson(path.join(drive, "tscolab", "runs", resumed.folds!.runs[0]!.runId!)).updatedAt).toBe(fold1.updatedAt);
    expect(fs.readdirSync(path.join(drive, "tscolab", "runs")).filter((n) => !n.startsWith("."))).toHaveLength(4);

    // The uninterrupted run's result, byte for byte.
    expect(fs.readFileSync(path.join(resumed.runDir, "oof.jsonl"))).toEqual(fs.readFileSync(path.join(whole.runDir, "oof.jsonl")));
    expect(resumed.metrics).toEqual(whole.metrics);
    for (const [i, r] of resumed.folds!.runs.entries()) {
      expect(await finalWeights(path.join(drive, "tscolab", "runs", r.runId!))).toBe(
        await finalWeights(path.join(work, "drive-whole", "tscolab", "runs", whole.folds!.runs[i]!.runId!)),
      );
    }
    // A completed folds run resumed again trains nothing.
    const again = await train(undefined, { drive, resume: stopped.runId });
    expect(again.folds!.runs.map((r) => r.runId)).toEqual(resumed.folds!.runs.map((r) => r.runId));
    console.log(`folds interrupt + resume + uninterrupted: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test("%train --folds K and the rendering: a row per fold, mean ± sd, out-of-fold", async () => {
    const ctx: MagicContext = { cwd: work, signal: new AbortController().signal, variables: {}, rich: false, display: () => ({ update() {} }), stdout() {}, stderr() {} };
    const out = await invokeMagic("train", `--data iris --folds 2 --epochs 2 --hidden 4 --drive ${path.join(work, "drive-magic")}`, ctx);
    const text = String(out.bundle!["text/plain"]);
    expect(text).toMatch(/^folds run \S+: completed, 2 folds, stratified/);
    expect(text).toMatch(/\n {2}1 +completed +2 +75 /);
    expect(text).toMatch(/mean ± sd +\d\.\d+ ± \d/);
    expect(text).toMatch(/out-of-fold +150 /);
    expect(String(out.bundle!["text/html"])).toContain("out-of-fold");
  });
});

test("a sweep over a folds config: each trial is a folds run, ranked by its out-of-fold metric", async () => {
  const t0 = Date.now();
  const drive = path.join(work, "drive-sweep");
  const r = await sweep({ config: { ...IRIS, runName: "cv-sweep", epochs: 3, folds: 2 }, grid: ["learningRate=0.01,0.05"], drive, cwd: work });
  expect(r.trials.map((t) => t.status)).toEqual(["completed", "completed"]);
  for (const t of r.trials) {
    const parent = runJson(path.join(drive, "tscolab", "runs", t.runId!));
    expect(parent).toMatchObject({ kind: "folds", sweepId: r.sweepId, sweepTrial: t.name, metrics: t.metrics });
    expect((parent.oof as Obj).metrics).toEqual(t.metrics);
  }
  console.log(`sweep of 2 folds runs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

describe("bad input, one line each", () => {
  const drive = path.join(work, "drive-bad");
  const small = path.join(work, "small.csv");
  fs.writeFileSync(small, "a,b,label\n" + ["1,2,x", "2,1,x", "3,3,x", "1,1,y", "2,2,y", "5,1,x"].join("\n") + "\n");

  test("folds below 2, more folds than the smallest class, a notebook model, tiers without training", async () => {
    await expect(train({ ...IRIS, folds: 1 }, { drive })).rejects.toThrow(
      new TscolabError("folds: 1 is not a fold count; cross-validation needs at least 2 folds", 'set "folds" to 2 or more (or "auto"), or leave it out for one run'),
    );
    await expect(train({ data: { train: small }, folds: 3 }, { drive, cwd: work })).rejects.toThrow(
      `folds: 3 is more than the 2 rows of class "y" in ${small}; every fold must hold out at least one row of each class (fix: use folds <= 2, or add rows of that class)`,
    );
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: "softmax" })] });
    await expect(train({ ...IRIS, folds: 2 }, { drive, model })).rejects.toThrow(UsageError);
    await expect(train({ ...IRIS, folds: 2, tier: "1" }, { drive })).rejects.toThrow(/folds: each fold must train \(tier 3\)/);
    // Nothing was created for any of them.
    expect(fs.existsSync(path.join(drive, "tscolab", "runs")) ? fs.readdirSync(path.join(drive, "tscolab", "runs")) : []).toEqual([]);
  });

  test("the CLI: one line on stderr, exit 1", () => {
    const r = spawnSync(process.execPath, [CLI, "train", "--data", small, "--folds", "5", "--drive", drive], { cwd: work, encoding: "utf8", env: process.env });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      `TscolabError: folds: 5 is more than the 2 rows of class "y" in ${small}; every fold must hold out at least one row of each class (fix: use folds <= 2, or add rows of that class)`,
    ]);
    const bad = spawnSync(process.execPath, [CLI, "train", "--data", "iris", "--folds", "many"], { cwd: work, encoding: "utf8", env: process.env });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^UsageError: --folds: /);
  });
});
