// Bundles: `tscolab bundle RUN --out FILE.zip` holds what a run needs to be
// re-run and checked; `reproduce` re-runs it in a fresh folder on the
// fingerprinted data and finds it bit-identical (dropout included, and an
// extended run too), refuses data whose sha256 differs naming the file, and
// names the first step where a run that does differ diverged.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { bundleRun } from "../engine/bundle/bundle";
import { compareDigests, reproduce } from "../engine/bundle/reproduce";
import { train, type TrainResult } from "../engine/train/train";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-bundle-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const drive = path.join(tmp, "drive");

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), ...args], { cwd: tmp, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A small two-feature CSV with a three-way label. */
function csv(n: number, seed: number): string {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const lines = ["u,v,w,kind"];
  for (let i = 0; i < n; i++) {
    const [u, v, w] = [rnd() * 4 - 2, rnd() * 10, rnd()];
    lines.push(`${u.toFixed(5)},${v.toFixed(5)},${w.toFixed(5)},${u + v / 5 > 1.5 ? "big" : u > 0 ? "mid" : "small"}`);
  }
  return lines.join("\n") + "\n";
}

const dataDir = path.join(tmp, "data");
fs.mkdirSync(dataDir);
const trainCsv = path.join(dataDir, "train.csv");
fs.writeFileSync(trainCsv, csv(240, 3));
const config = {
  data: { train: trainCsv, label: "kind" },
  epochs: 5,
  seed: 9,
  batchSize: 16,
  learningRate: 0.005,
  model: { zoo: "mlp" as const, hidden: [16, 8], dropout: 0.2 },
};
let run: TrainResult;
let zipFile = "";

beforeAll(async () => {
  run = await train(config, { drive });
  zipFile = path.join(tmp, "run.zip");
});

describe("tscolab bundle", () => {
  test("the zip holds config, environment, data sha256, metrics, digests, plots, the model and the package-lock hash", async () => {
    const r = await cli(["bundle", run.runId, "--drive", drive, "--out", zipFile, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.path).toBe(zipFile);
    const zip = unzipSync(fs.readFileSync(zipFile));
    expect(Object.keys(zip)).toEqual(
      expect.arrayContaining([
        "bundle.json",
        "config.json",
        "run.json",
        "environment.json",
        "metrics.jsonl",
        "digests.jsonl",
        "profile.json",
        "plots/history.svg",
        "model/last/model.json",
        "model/last/weights.bin",
        "model/best/weights.bin",
      ]),
    );
    const manifest = JSON.parse(strFromU8(zip["bundle.json"]));
    const stepsPerEpoch = Math.ceil(run.dataset.trainExamples / config.batchSize);
    expect(manifest).toMatchObject({
      format: "tscolab-bundle/1",
      runId: run.runId,
      fingerprintedAt: "training",
      data: [{ role: "train", source: trainCsv, path: trainCsv, bytes: fs.statSync(trainCsv).size }],
      packageLock: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      final: { step: 5 * stepsPerEpoch, epoch: 5 },
      scheduleCycles: [5],
      modelSource: "zoo",
    });
    expect(JSON.parse(strFromU8(zip["config.json"])).seed).toBe(9);
    // One weights digest per step (a small model).
    expect(strFromU8(zip["digests.jsonl"]).trim().split("\n")).toHaveLength(5 * stepsPerEpoch);
  });
});

describe("tscolab reproduce", () => {
  test("in a fresh folder, on the data moved elsewhere: identical, final weights bit for bit and every recorded step", async () => {
    const fresh = path.join(tmp, "fresh");
    fs.mkdirSync(path.join(fresh, "data"), { recursive: true });
    fs.renameSync(trainCsv, path.join(fresh, "data", "train.csv")); // the recorded path no longer holds it
    try {
      const t0 = Date.now();
      const r = await reproduce({ bundle: zipFile, dataDir: path.join(fresh, "data"), drive: path.join(fresh, "drive") });
      console.log(`reproduce (5 epochs, dropout): ${Date.now() - t0} ms, ${r.digests.compared} steps compared`);
      expect(r.status).toBe("identical");
      expect(r.firstDivergence).toBeNull();
      expect(r.finalWeights.identical).toBe(true);
      expect(r.digests.compared).toBe(r.digests.original);
      expect(r.runDir.startsWith(path.join(fresh, "drive"))).toBe(true);
      expect(r.data).toEqual([{ role: "train", file: path.join(fresh, "data", "train.csv"), sha256: expect.any(String) }]);
    } finally {
      fs.renameSync(path.join(fresh, "data", "train.csv"), trainCsv);
    }
  });

  test("data whose sha256 differs is refused, naming the file", async () => {
    const changed = path.join(tmp, "changed");
    fs.mkdirSync(changed);
    fs.writeFileSync(path.join(changed, "train.csv"), fs.readFileSync(trainCsv, "utf8").replace(/\n(-?\d)/, "\n9"));
    await expect(reproduce({ bundle: zipFile, dataDir: changed, drive: path.join(tmp, "refused") })).rejects.toThrow(
      new RegExp(`data file ${path.join(changed, "train.csv").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} has sha256 [0-9a-f]{12}… but the bundled run trained on [0-9a-f]{12}…`),
    );
    expect(fs.existsSync(path.join(tmp, "refused"))).toBe(false); // refused before any training
  });

  test("a run that differs (the bundle's learning rate edited): diverged at step 1, exit 1 from the CLI", async () => {
    const zip = unzipSync(fs.readFileSync(zipFile));
    const edited = { ...JSON.parse(strFromU8(zip["config.json"])), learningRate: 0.05 };
    const tampered = path.join(tmp, "tampered.zip");
    fs.writeFileSync(tampered, zipSync({ ...zip, "config.json": strToU8(JSON.stringify(edited)) }));
    const r = await cli(["reproduce", tampered, "--drive", path.join(tmp, "diverged"), "--json"]);
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ status: "diverged", firstDivergence: { step: 1, epoch: 1 }, lastIdenticalStep: null, finalWeights: { identical: false } });
  });

  test("the first differing step is the first recorded step whose digests differ", () => {
    const line = (step: number, sha: string) => ({ step, epoch: 1, sha256: sha });
    const original = [line(1, "a"), line(2, "b"), line(3, "c"), line(4, "d")];
    expect(compareDigests(original, [line(1, "a"), line(2, "b"), line(3, "x"), line(4, "y")])).toMatchObject({ first: { step: 3 }, lastIdentical: 2, compared: 3 });
    expect(compareDigests(original, [line(1, "a"), line(3, "c"), line(4, "d")])).toMatchObject({ first: null, lastIdentical: 4, compared: 3 });
  });

  test("an extended run (5 then 8 epochs) reproduces identically: trained and extended the same way", async () => {
    const extended = await train({ epochs: 8 } as never, { drive, resume: run.runId });
    expect(extended.epochs).toBe(8);
    const file = path.join(tmp, "extended.zip");
    const b = await bundleRun({ run: run.runId, drive, out: file });
    expect(JSON.parse(strFromU8(unzipSync(fs.readFileSync(file))["bundle.json"])).scheduleCycles).toEqual([5, 8]);
    const r = await reproduce({ bundle: b.path, drive: path.join(tmp, "extended-repro") });
    expect(r.status, JSON.stringify(r.firstDivergence)).toBe("identical");
    expect(r.original.epoch).toBe(8);
  });
});
