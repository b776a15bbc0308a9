// %compare / compareRuns() / `tscolab compare` on real iris runs: only the
// config keys that differ, final and best metrics with deltas, and learning
// curves overlaid in one SVG (log scale for a loss over decades, tick labels
// with room to show small values).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import "../magics";
import { invokeMagic } from "../magics/registry";
import { train, type TrainResult } from "../engine/train/train";
import { readMetrics } from "../engine/store";
import { compareRuns, type CompareResult } from "../engine/experiments";
import { curvesSvg } from "../engine/experiments/curves_svg";
import { panelScale } from "../engine/util/plot_scale";
import type { MagicContext, MimeBundle } from "../magics/types";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "tscolab.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-exp-compare-"));
const drive = path.join(work, "drive");
let a: TrainResult;
let b: TrainResult;
let c: TrainResult;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const base = { seed: 9, data: { train: { builtin: "iris" as const } }, batchSize: 16, epochs: 5 };
  const opts = { drive, cwd: work, backend: "cpu" };
  a = await train({ ...base, runName: "cmp-a", learningRate: 0.01, model: { zoo: "mlp", hidden: [8] } }, opts);
  b = await train({ ...base, runName: "cmp-b", learningRate: 0.03, model: { zoo: "mlp", hidden: [16, 8] } }, opts);
  c = await train({ ...base, runName: "cmp-c", learningRate: 0.01, model: { zoo: "mlp", hidden: [8] }, epochs: 3 }, opts);
}, 120_000);

describe("compareRuns", () => {
  test("config keys that differ (and only those), final and best metrics, deltas against the first run", async () => {
    const r = await compareRuns([a.runId, b.runId], { drive });
    expect(r.runs.map((x) => x.runId)).toEqual([a.runId, b.runId]);
    expect(r.baseline).toBe(a.runId);
    // runName differs too, but it names the run rather than shaping it.
    expect(r.configDiff).toEqual({ learningRate: { [a.runId]: 0.01, [b.runId]: 0.03 }, "model.hidden": { [a.runId]: [8], [b.runId]: [16, 8] } });
    expect(Object.keys(r.metrics)).toEqual(["loss", "val_loss", "val_accuracy"]);
    expect(r.metrics.val_loss).toEqual({ [a.runId]: a.metrics.val_loss, [b.runId]: b.metrics.val_loss });
    expect(r.deltas.val_accuracy![b.runId]).toBeCloseTo(b.metrics.val_accuracy! - a.metrics.val_accuracy!, 12);
    expect(r.deltas.val_accuracy![a.runId]).toBe(0);
    for (const run of [a, b]) {
      const rows = (await readMetrics(run.runDir)).rows as unknown as Record<string, number>[];
      const lowest = Math.min(...rows.map((x) => x.val_loss!));
      expect(r.best.val_loss![run.runId]).toEqual({ value: lowest, epoch: rows.find((x) => x.val_loss === lowest)!.epoch });
      const highest = Math.max(...rows.map((x) => x.val_accuracy!));
      expect(r.best.val_accuracy![run.runId]!.value).toBe(highest);
      expect(r.metrics.loss![run.runId]).toBe(rows.at(-1)!.loss);
    }
    expect(r.winner.val_loss).toBe(a.metrics.val_loss! < b.metrics.val_loss! ? a.runId : b.runId);
    // One curve per run in each of the three panels, on shared epoch ticks.
    const svg = r.svg!;
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<g class="panel"/g)).toHaveLength(3);
    expect(svg.match(/<path d="M/g)).toHaveLength(6);
    expect(JSON.parse(JSON.stringify(r))).not.toHaveProperty("svg");

    const three = await compareRuns([a.runId, c.runId, b.runDir], { drive });
    expect(Object.keys(three.configDiff).sort()).toEqual(["epochs", "learningRate", "model.hidden"]);
    expect(three.configDiff.epochs).toEqual({ [a.runId]: 5, [c.runId]: 3, [b.runId]: 5 });
  });

  test("runs are named by id, a unique part of an id, a folder or last; bad references are one clear line", async () => {
    const r = await compareRuns(["cmp-a", "last"], { drive });
    expect(r.runs.map((x) => x.runId)).toEqual([a.runId, c.runId]);
    await expect(compareRuns([a.runId], { drive })).rejects.toThrow(/compare needs at least two runs, got 1/);
    await expect(compareRuns([a.runId, "no-such-run"], { drive })).rejects.toThrow(/no run "no-such-run" under .*; newest: /);
    await expect(compareRuns(["cmp-", a.runId], { drive })).rejects.toThrow(/run "cmp-" is ambiguous/);
    await expect(compareRuns([a.runId, a.runDir], { drive })).rejects.toThrow(`run ${a.runId} is given twice`);
    await expect(compareRuns([a.runId, b.runId], { drive, out: "curves.png" })).rejects.toThrow(/--out "curves.png": expected a file name ending in \.svg/);
  });
});

describe("learning-curve SVG", () => {
  test("a loss spanning more than two decades gets a log axis; one within two decades a linear one", () => {
    expect(panelScale([1.2, 0.3, 0.013])).toMatchObject({ log: false }); // a factor of 92
    expect(panelScale([1.2, 0.3, 0.011])).toMatchObject({ log: true }); // 109
    const log = panelScale([2.1, 0.2, 0.0031, 0.000581]);
    expect(log).toMatchObject({ log: true, min: 1e-4, max: 10 });
    expect(log.ticks).toEqual([1e-4, 1e-3, 1e-2, 1e-1, 1, 10]);
  });

  test("tick labels of small values fit left of the axis (nothing clipped at the panel's edge)", () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, val_mse: 0.000581 + i * 0.0000137, loss: 3 * 10 ** (-i / 3) }));
    const svg = curvesSvg([{ label: "r", rows }], ["val_mse", "loss"], { columns: 1 });
    const panels = svg.split('<g class="panel"').slice(1);
    expect(panels.map((p) => /data-scale="(\w+)"/.exec(p)![1])).toEqual(["linear", "log"]);
    for (const p of panels) {
      const axisX = Number(/<line x1="([\d.]+)" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+" stroke="#999"\/><line x1="([\d.]+)"/.exec(p)![2]);
      const labels = [...p.matchAll(/<text x="([\d.]+)" y="[\d.]+" font-size="10" text-anchor="end">([^<]+)<\/text>/g)];
      expect(labels.length).toBeGreaterThanOrEqual(3);
      for (const [, x, text] of labels) {
        expect(Number(x)).toBeLessThan(axisX);
        // 6 px per character at font-size 10 is wider than the real glyphs; 14 px stay free for the axis title.
        expect(Number(x) - text!.length * 6, `label ${text} at x=${x}`).toBeGreaterThanOrEqual(14);
      }
    }
    expect(svg).toContain(">0.00060</text>");
  });
});

describe("%compare and tscolab compare", () => {
  test("the magic shows the tables and the SVG; the CLI prints the JSON keys and writes --out", async () => {
    const ctx: MagicContext = { cwd: work, signal: new AbortController().signal, variables: { first: a }, rich: true, display: () => ({ update() {} }), stdout() {}, stderr() {} };
    const outcome = await invokeMagic("compare", `first ${b.runId} --drive ${drive}`, ctx);
    const html = String((outcome.bundle as MimeBundle)["text/html"]);
    expect(html).toContain("<svg");
    expect(html).toContain("Config keys that differ");
    expect((outcome.result as CompareResult).runs[0]!.runId).toBe(a.runId);

    const res = await cli(["compare", a.runId, b.runId, "--drive", drive, "--json", "--out", "plots/curves.svg"]);
    expect(res.code, res.stderr).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(Object.keys(json)).toEqual(expect.arrayContaining(["runs", "configDiff", "metrics", "best"]));
    expect(json.configDiff.learningRate).toEqual({ [a.runId]: 0.01, [b.runId]: 0.03 });
    const svg = fs.readFileSync(path.join(work, "plots", "curves.svg"), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<path d="M/g)).toHaveLength(6);
    const text = await cli(["compare", a.runId, b.runId, "--drive", drive]);
    expect(text.stdout).toMatch(/Config keys that differ:\nkey\s+.*\nlearningRate\s+0\.01\s+0\.03\nmodel\.hidden\s+\[8\]\s+\[16,8\]/);
  });
});
