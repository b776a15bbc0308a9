// monitor() on real runs over small CSVs: every run's profile.json, drift of
// inputs and outputs (PSI, KS) on an undrifted set (ok) and on one whose
// mean shifted (fail), a constant training feature that changes (reported,
// no division by zero), the baseline comparison per metric with
// --max-regression, a baseline of another task refused, thresholds
// overridden from the CLI, exit codes and the Markdown report.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { monitor } from "../engine/monitor/monitor";
import { referenceProfile, type ReferenceProfile } from "../engine/monitor/profile";
import { ks, kolmogorovSurvival, psi } from "../engine/monitor/stats";
import { train, type TrainResult } from "../engine/train/train";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-monitor-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const drive = path.join(tmp, "drive");

/** Rows of four gaussian features and a constant `flag`; the class follows a linear rule. Seeded (Park–Miller, Box–Muller). */
function rows(n: number, seed: number, opts: { shiftA?: number; flag?: number } = {}): number[][] {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const norm = () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
  return Array.from({ length: n }, () => {
    const a = 10 + 2 * norm() + (opts.shiftA ?? 0);
    const b = -3 + norm();
    const c = 100 + 15 * norm();
    const d = norm();
    return [a, b, c, d, opts.flag ?? 1];
  });
}
const label = (r: number[]) => {
  const score = (r[0] - 10) / 2 + (r[1] + 3) - (r[2] - 100) / 15 + 0.3 * r[3];
  return score > 0.5 ? "high" : score < -0.5 ? "low" : "mid";
};
function writeCsv(name: string, data: number[][]): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, ["a,b,c,d,flag,y", ...data.map((r) => [...r.map((v) => v.toFixed(4)), label(r)].join(","))].join("\n") + "\n");
  return file;
}

const trainRows = rows(600, 7);
const trainCsv = writeCsv("train.csv", trainRows);
const sameCsv = writeCsv("same.csv", rows(400, 99));
// Feature a shifted by 1.5 of its standard deviations (3 units); the constant flag becomes 2.
const driftedCsv = writeCsv("drifted.csv", rows(400, 99, { shiftA: 3, flag: 2 }));
const shiftedCsv = writeCsv("shifted.csv", rows(400, 99, { shiftA: 3 }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), ...args], { cwd: tmp, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const config = (epochs: number) => ({ data: { train: trainCsv, label: "y" }, epochs, seed: 5, batchSize: 32, learningRate: 0.01, model: { zoo: "mlp" as const, hidden: [16] } });
let strong: TrainResult;
let weak: TrainResult;
let profile: ReferenceProfile;

beforeAll(async () => {
  strong = await train(config(15), { drive });
  weak = await train({ ...config(1), learningRate: 0.0005, runName: "weak" }, { drive });
  profile = referenceProfile.parse(JSON.parse(fs.readFileSync(path.join(strong.runDir, "profile.json"), "utf8")));
});

describe("the reference profile every run writes", () => {
  test("per raw feature: count, mean, std, quantiles, histogram, a sample; per output column on the validation rows", () => {
    const n = strong.dataset.trainExamples;
    expect(profile.inputs.rows).toBe(n);
    expect(profile.inputs.features.map((f) => f.name)).toEqual(["a", "b", "c", "d", "flag"]);
    const a = profile.inputs.features[0];
    expect(a.count).toBe(n);
    // Raw values (the trainer normalises them): a has mean ≈ 10 and std ≈ 2 in the data.
    const mean = trainRows.reduce((s, r) => s + r[0], 0) / trainRows.length;
    expect(Math.abs(a.mean - mean)).toBeLessThan(0.3);
    expect(a.std).toBeGreaterThan(1.6);
    expect(a.std).toBeLessThan(2.4);
    expect(a.quantiles.p05).toBeLessThan(a.quantiles.p50);
    expect(a.quantiles.p50).toBeLessThan(a.quantiles.p95);
    expect(a.histogram.counts.reduce((x, y) => x + y, 0)).toBe(n);
    expect(a.sample).toHaveLength(n);
    expect(profile.inputs.features[4]).toMatchObject({ name: "flag", mean: 1, std: 0, min: 1, max: 1, histogram: { counts: [n] } });
    expect(profile.outputs).toMatchObject({ source: "validation", checkpoint: "best", rows: strong.dataset.validExamples });
    expect(profile.outputs!.columns.map((c) => c.name)).toEqual(["p_high", "p_low", "p_mid"]);
    expect(Object.values(profile.outputs!.predictedClasses!).reduce((x, y) => x + y, 0)).toBe(strong.dataset.validExamples);
  });
});

describe("drift", () => {
  test("an undrifted sample is ok; a shifted mean fails on that feature and on the outputs; the constant feature that changed is reported", async () => {
    const same = await monitor({ candidate: strong.runId, data: sameCsv, drive, out: path.join(tmp, "same") });
    const drifted = await monitor({ candidate: strong.runId, data: driftedCsv, drive, out: path.join(tmp, "drifted") });
    const line = (m: typeof same, name: string) => [...m.drift!.inputs, ...m.drift!.outputs].find((d) => d.name === name)!;
    console.log(
      `PSI / KS of feature a: undrifted ${line(same, "a").psi.value.toFixed(3)} / ${line(same, "a").ks.statistic.toFixed(3)}, drifted ${line(drifted, "a").psi.value.toFixed(3)} / ${line(drifted, "a").ks.statistic.toFixed(3)}; output p_high: ${line(same, "p_high").psi.value.toFixed(3)} → ${line(drifted, "p_high").psi.value.toFixed(3)}`,
    );
    expect(same.status, same.reasons.join("; ")).toBe("ok");
    expect([...same.drift!.inputs, ...same.drift!.outputs].every((d) => d.status === "ok")).toBe(true);
    expect(same.metrics).not.toBeNull();

    expect(drifted.status).toBe("fail");
    expect(line(drifted, "a")).toMatchObject({ status: "fail", psi: { status: "fail", significant: true }, ks: { status: "fail" } });
    expect(line(drifted, "a").meanShift!).toBeGreaterThan(1.2);
    for (const unchanged of ["b", "c", "d"]) expect(line(drifted, unchanged).status).toBe("ok");
    expect(drifted.drift!.outputs.some((d) => d.status === "fail")).toBe(true);
    // flag was 1 in every training row and is 2 now: reported with its reason, no mean shift in std units, nothing divided by zero.
    const flag = line(drifted, "flag");
    expect(flag).toMatchObject({ status: "fail", meanShift: null, referenceMean: 1, currentMean: 2, note: expect.stringMatching(/no variance in the reference/) });
    expect(Number.isFinite(flag.psi.value) && Number.isFinite(flag.ks.statistic)).toBe(true);
    expect(drifted.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^input a drifted \(fail\)/), expect.stringMatching(/^input flag drifted \(fail\)/)]));
    const md = fs.readFileSync(drifted.report.markdown, "utf8");
    expect(md).toMatch(/^# Monitor report: ❌ fail/);
    expect(md).toMatch(/## Input drift[\s\S]*\| a \| ❌ fail \|/);
    expect(JSON.parse(fs.readFileSync(drifted.report.json, "utf8")).status).toBe("fail");
  });

  test("PSI and KS: identical samples give 0, the KS statistic and p-value agree with the textbook values", () => {
    const ref = [0.1, 0.5, 0.9, 1.3, 2.2, 2.5, 3.1, 3.3, 4.0, 4.4, 5.0, 6.1];
    const cur = [1.0, 1.9, 2.0, 2.8, 3.5, 3.9, 4.5, 5.5, 6.0, 6.6, 7.1, 7.7, 8.0];
    expect(psi(ref, ref).value).toBe(0);
    expect(ks(ref, ref)).toEqual({ statistic: 0, pValue: 1 });
    // scipy.stats.ks_2samp(ref, cur): statistic 0.3782051282, asymptotic p 0.281, exact p 0.229.
    const k = ks(ref, cur);
    expect(k.statistic).toBeCloseTo(0.3782051282051282, 12);
    expect(k.pValue).toBeGreaterThan(0.22);
    expect(k.pValue).toBeLessThan(0.29);
    // Kolmogorov's distribution: P(K > 1.36) ≈ 0.049 (the 5% critical value).
    expect(kolmogorovSurvival(1.358)).toBeCloseTo(0.05, 3);
    // A constant reference: below / equal / above, finite.
    expect(psi([3, 3, 3], [3, 3, 4]).value).toBeGreaterThan(0.25);
    expect(Number.isFinite(psi([3, 3, 3], [3, 3, 4]).value)).toBe(true);
  });
});

describe("baseline comparison", () => {
  test("per metric: baseline, candidate, delta, status; a weaker candidate beyond --max-regression fails with the metric named", async () => {
    const better = await monitor({ candidate: strong.runId, baseline: weak.runId, data: sameCsv, drive, out: path.join(tmp, "better") });
    expect(better.comparison.map((c) => c.metric)).toEqual(["accuracy", "macroF1", "macroPrecision", "macroRecall", "logLoss"]);
    const acc = better.comparison[0];
    expect(acc.delta).toBeCloseTo(acc.candidate - acc.baseline, 12);
    expect(acc.candidate).toBeGreaterThan(acc.baseline);
    expect(better.comparison.every((c) => c.status === "ok")).toBe(true);
    expect(better.status).toBe("ok");

    const worse = await monitor({ candidate: weak.runId, baseline: strong.runId, data: sameCsv, drive, maxRegression: 0.05, out: path.join(tmp, "worse") });
    expect(worse.status).toBe("fail");
    expect(worse.comparison.find((c) => c.metric === "accuracy")).toMatchObject({ status: "fail", allowed: 0.05, relative: false });
    expect(worse.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^accuracy regressed: .* vs baseline .* allowed 0\.05/)]));
  });

  test("a baseline of another task is refused in one line", async () => {
    const regression = await train({ data: { train: trainCsv, label: "d", features: ["a", "b", "c"] }, task: "regression", epochs: 1, seed: 1, tier: "3" }, { drive });
    await expect(monitor({ candidate: strong.runId, baseline: regression.runId, data: sameCsv, drive, out: path.join(tmp, "x") })).rejects.toThrow(
      new RegExp(
        `baseline ${regression.runId} is a regression run but candidate ${strong.runId} is classification \\(fix: compare against a baseline trained for the same task\\)`,
      ),
    );
  });
});

describe("tscolab monitor", () => {
  test("--json for CI: exit 0 when ok, 1 when it fails; thresholds are flags", async () => {
    const ok = await cli(["monitor", "--candidate", strong.runId, "--drive", drive, "--data", sameCsv, "--out", "cli-ok", "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: "ok", thresholds: { psiWarn: 0.1, psiFail: 0.25, ksWarn: 0.1, ksFail: 0.2, alpha: 0.05, maxRegression: 0.02 } });
    expect(fs.existsSync(path.join(tmp, "cli-ok", "monitor.md"))).toBe(true);

    const fail = await cli(["monitor", strong.runId, "--drive", drive, "--data", driftedCsv, "--out", "cli-fail", "--json"]);
    expect(fail.code).toBe(1);
    expect(JSON.parse(fail.stdout).status).toBe("fail");

    // Thresholds the shift of feature a does not reach: it passes.
    const strict = await cli(["monitor", strong.runId, "--drive", drive, "--data", shiftedCsv, "--out", "cli-strict"]);
    expect(strict.code).toBe(1);
    const lenient = await cli([
      "monitor",
      strong.runId,
      "--drive",
      drive,
      "--data",
      shiftedCsv,
      "--psi-warn",
      "50",
      "--psi-fail",
      "100",
      "--ks-warn",
      "0.99",
      "--ks-fail",
      "1",
      "--out",
      "cli-lenient",
    ]);
    expect(lenient.code, lenient.stdout + lenient.stderr).toBe(0);
    expect(lenient.stdout).toMatch(/: OK/);
  });
});
