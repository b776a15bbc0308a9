// %runs / listRuns() / `tscolab runs` on real iris runs: filters, sorting,
// limits, an unreadable folder listed with its reason, and the index (a cache
// of rows) deleted, garbled and outdated without losing or staling a row.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import "../magics";
import { invokeMagic } from "../magics/registry";
import { train, type TrainResult } from "../engine/train/train";
import { updateRunJson } from "../engine/store";
import { listRuns, indexPath, type RunsList } from "../engine/experiments";
import { SORT_HANDLER } from "../magics/runs/table";
import { UsageError, type MagicContext, type MimeBundle } from "../magics/types";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "tscolab.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-exp-runs-"));
const drive = path.join(work, "drive");
const runs: Record<string, TrainResult> = {};

const base = { seed: 5, data: { train: { builtin: "iris" as const } }, batchSize: 16, model: { zoo: "mlp" as const, hidden: [8] } };

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

function ctx(): MagicContext {
  return { cwd: work, signal: new AbortController().signal, variables: {}, rich: true, display: () => ({ update() {} }), stdout() {}, stderr() {} };
}

const ids = (l: RunsList) => l.runs.map((r) => r.runId);

beforeAll(async () => {
  const opts = { drive, cwd: work, backend: "cpu" };
  runs.slow = await train({ ...base, runName: "slow", learningRate: 0.003, epochs: 3 }, opts);
  runs.fast = await train({ ...base, runName: "fast", learningRate: 0.03, epochs: 4 }, opts);
  runs.tagged = await train(
    { ...base, runName: "tagged", learningRate: 0.01, epochs: 2 },
    { ...opts, sweep: { sweepId: "abc", sweepParams: { learningRate: 0.01 }, sweepTrial: "t00" } },
  );
  runs.broken = await train({ ...base, runName: "broken", learningRate: 1000, epochs: 2 }, opts);
  expect(Object.values(runs).map((r) => r.status)).toEqual(["completed", "completed", "completed", "failed"]);
  // Two folders that are not readable runs: garbage in run.json, and no run.json at all.
  fs.mkdirSync(path.join(drive, "tscolab", "runs", "20200101-000000-garbled"));
  fs.writeFileSync(path.join(drive, "tscolab", "runs", "20200101-000000-garbled", "run.json"), '{"runId": "20200101-000000-garbled", "status": ');
  fs.mkdirSync(path.join(drive, "tscolab", "runs", "20200102-000000-empty"));
}, 120_000);

describe("listRuns", () => {
  test("one row per run folder, newest first, with the documented keys; unreadable folders are rows with a reason", async () => {
    const l = await listRuns({ drive });
    expect(l.total).toBe(6);
    expect(ids(l)).toEqual([runs.broken!.runId, runs.tagged!.runId, runs.fast!.runId, runs.slow!.runId, "20200102-000000-empty", "20200101-000000-garbled"]);
    const row = l.runs.find((r) => r.runId === runs.fast!.runId)!;
    for (const key of ["runId", "runName", "status", "createdAt", "durationS", "task", "model", "sweepId", "sweepParams", "metrics", "best", "tiers", "config"])
      expect(row).toHaveProperty(key);
    expect(row).toMatchObject({
      runName: "fast",
      status: "completed",
      task: "classification",
      model: { zoo: "mlp", hidden: [8] },
      sweepId: null,
      sweepParams: null,
      epochs: 4,
      tiers: { "1": "passed", "2": "passed", "3": "passed" },
    });
    expect(row.metrics).toEqual(runs.fast!.metrics);
    expect(row.best).toEqual(runs.fast!.best);
    expect(row.durationS).toBeGreaterThanOrEqual(0);
    expect((row.config as { learningRate: number }).learningRate).toBe(0.03);
    const tagged = l.runs.find((r) => r.runId === runs.tagged!.runId)!;
    expect(tagged).toMatchObject({ sweepId: "abc", sweepParams: { learningRate: 0.01 } });
    const broken = l.runs.find((r) => r.runId === runs.broken!.runId)!;
    expect(broken.status).toBe("failed");
    expect(broken.reason).toMatch(/tier 1 failed/);
    const garbled = l.runs.find((r) => r.runId === "20200101-000000-garbled")!;
    expect(garbled).toMatchObject({ status: "unreadable", createdAt: "2020-01-01T00:00:00.000Z" });
    expect(garbled.reason).toMatch(/run\.json is not valid JSON/);
    expect(l.runs.find((r) => r.runId === "20200102-000000-empty")).toMatchObject({ status: "unreadable", reason: expect.stringMatching(/no run\.json/) });
  });

  test("--where on dotted keys (ANDed), --sort ascending and descending, --limit", async () => {
    const q = async (where: string[], sort?: string, limit?: number) => ids(await listRuns({ drive, where, sort, limit }));
    expect(await q(["status=completed"])).toEqual([runs.tagged!.runId, runs.fast!.runId, runs.slow!.runId]);
    expect(await q(["status!=completed"])).toEqual([runs.broken!.runId, "20200102-000000-empty", "20200101-000000-garbled"]);
    expect(await q(["sweepId=abc"])).toEqual([runs.tagged!.runId]);
    expect(await q(["sweepParams.learningRate=0.01"])).toEqual([runs.tagged!.runId]);
    expect(await q(["config.learningRate>0.005", "config.learningRate<=0.03"])).toEqual([runs.tagged!.runId, runs.fast!.runId]);
    expect(await q(["model.hidden=[8]", "epochs>=3"])).toEqual([runs.fast!.runId, runs.slow!.runId]);
    expect(await q(["tiers.1=failed"])).toEqual([runs.broken!.runId]);
    const acc = (id: string) => runs[Object.keys(runs).find((k) => runs[k]!.runId === id)!]!.metrics.val_accuracy!;
    const threshold = acc(runs.fast!.runId);
    expect(await q([`metrics.val_accuracy>=${threshold}`])).toEqual(
      Object.values(runs)
        .filter((r) => r.metrics.val_accuracy !== undefined && r.metrics.val_accuracy >= threshold)
        .map((r) => r.runId)
        .reverse(),
    );

    const completed = Object.values(runs).filter((r) => r.status === "completed");
    const byLoss = [...completed].sort((a, b) => a.metrics.val_loss! - b.metrics.val_loss!).map((r) => r.runId);
    // Rows without the key go last in both directions.
    const ascending = await q([], "metrics.val_loss");
    expect(ascending.slice(0, 3)).toEqual(byLoss);
    expect(ascending.slice(3).sort()).toEqual([runs.broken!.runId, "20200101-000000-garbled", "20200102-000000-empty"].sort());
    const descending = await q([], "-metrics.val_loss");
    expect(descending.slice(0, 3)).toEqual([...byLoss].reverse());
    expect(await q(["status=completed"], "-metrics.val_loss", 2)).toEqual([...byLoss].reverse().slice(0, 2));
    expect(await q([], undefined, 1)).toEqual([runs.broken!.runId]);
    const limited = await listRuns({ drive, where: ["status=completed"], limit: 1 });
    expect([limited.total, limited.matched, limited.runs.length]).toEqual([6, 3, 1]);
  });

  test("bad --where / --sort is one UsageError naming the key and the fix", async () => {
    await expect(listRuns({ drive, where: ["statsu=completed"] })).rejects.toThrow(
      new UsageError(
        '--where: unknown key "statsu" (did you mean "status"?); keys: runId, runName, status, reason, createdAt, updatedAt, durationS, task, model, sweepId, sweepParams, metrics, best, tiers, epochs, backend, config, runDir (dotted inside, e.g. metrics.val_loss)',
      ),
    );
    await expect(listRuns({ drive, where: ["metrics.val_acurracy>0.5"] })).rejects.toThrow('--where: no run has "metrics.val_acurracy" (did you mean "metrics.val_accuracy"?)');
    await expect(listRuns({ drive, where: ["metrics.val_accuracy~0.5"] })).rejects.toThrow(
      /--where "metrics.val_accuracy~0.5": expected KEY OP VALUE with OP one of = != > >= < <=/,
    );
    await expect(listRuns({ drive, sort: "-metrics.val_los" })).rejects.toThrow('--sort: no run has "metrics.val_los" (did you mean "metrics.val_loss"?)');
  });

  test("the index is only a cache: reused when warm, rebuilt when deleted or garbled, refreshed when a run.json changes", async () => {
    const first = await listRuns({ drive });
    expect(fs.existsSync(indexPath(drive))).toBe(true);
    const warm = await listRuns({ drive });
    expect(warm.index).toMatchObject({ reused: 5, read: 0, written: false }); // the folder without run.json has nothing to cache
    expect(warm.runs).toEqual(first.runs);

    fs.rmSync(indexPath(drive));
    const rebuilt = await listRuns({ drive });
    expect(rebuilt.index).toMatchObject({ reused: 0, read: 5, written: true });
    expect(rebuilt.runs).toEqual(first.runs);

    fs.writeFileSync(indexPath(drive), "{ garbage");
    const fromGarbage = await listRuns({ drive });
    expect(fromGarbage.runs).toEqual(first.runs);
    expect(JSON.parse(fs.readFileSync(indexPath(drive), "utf8")).format).toMatch(/^tscolab-runs-index/);

    // A run.json rewritten (as the trainer and resume do): its row follows; the others still come from the index.
    await updateRunJson(runs.slow!.runDir, { status: "stopped", metrics: { val_loss: 0.123, val_accuracy: 0.5 } });
    const changed = await listRuns({ drive });
    expect(changed.index).toMatchObject({ reused: 4, read: 1, written: true });
    expect(changed.runs.find((r) => r.runId === runs.slow!.runId)).toMatchObject({ status: "stopped", metrics: { val_loss: 0.123, val_accuracy: 0.5 } });
    // A run folder removed: its row goes, and with it its index entry.
    fs.renameSync(path.join(drive, "tscolab", "runs", "20200102-000000-empty"), path.join(drive, "tscolab", "runs", ".trash-empty"));
    expect((await listRuns({ drive })).total).toBe(5);
    fs.renameSync(path.join(drive, "tscolab", "runs", ".trash-empty"), path.join(drive, "tscolab", "runs", "20200102-000000-empty"));
    await updateRunJson(runs.slow!.runDir, { status: "completed", metrics: runs.slow!.metrics });
  });
});

describe("%runs and tscolab runs", () => {
  test("the notebook table marks the best value of each metric column and sorts by header click", async () => {
    const outcome = await invokeMagic("runs", "--where status=completed", ctx());
    const bundle = outcome.bundle as MimeBundle;
    const html = String(bundle["text/html"]);
    const completed = Object.values(runs).filter((r) => r.status === "completed");
    const bestAcc = Math.max(...completed.map((r) => r.metrics.val_accuracy!));
    const bestLoss = Math.min(...completed.map((r) => r.metrics.val_loss!));
    // Exactly one marked cell per metric column, and it holds that column's best value.
    const marked = [...html.matchAll(/<td style="[^"]*font-weight:bold;background:#d4f7d4[^"]*" data-v="([^"]*)"/g)].map((m) => Number(m[1]));
    expect(marked.sort()).toEqual([bestAcc, bestLoss].sort());
    expect(html).toContain('onclick="');
    expect(() => new Function(SORT_HANDLER)).not.toThrow();
    expect(bundle["text/plain"]).toMatch(/3 run\(s\)|6 run\(s\) under .*, 3 match/);
  });

  test("tscolab runs --json prints the rows; the text lists unreadable folders with their reason", async () => {
    const json = await cli(["runs", "--drive", drive, "--where", "status=completed", "--where", "metrics.val_accuracy>0", "--sort", "-metrics.val_accuracy", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const list = JSON.parse(json.stdout) as RunsList;
    expect(list.runs.map((r) => r.metrics.val_accuracy)).toEqual(
      Object.values(runs)
        .filter((r) => r.status === "completed")
        .map((r) => r.metrics.val_accuracy)
        .sort((a, b) => b! - a!),
    );
    const text = await cli(["runs", "--drive", drive]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/20200101-000000-garbled\s+unreadable/);
    expect(text.stdout).toMatch(/Unreadable run folders:\n {2}20200102-000000-empty: no run\.json/);
    const bad = await cli(["runs", "--drive", drive, "--sort", "-metrics.val_los"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('UsageError: --sort: no run has "metrics.val_los" (did you mean "metrics.val_loss"?)');
  });
});
