// %sweep / sweep() / `tscolab sweep` with real trials (iris, a few epochs,
// real child processes): grid and random sweeps, two trials at once, a trial
// that fails its tiers while the sweep goes on, an ablation, every bad input
// as one line, and a sweep SIGKILLed mid-trial (the whole process group, a
// real signal) then resumed, each trial ending bit-identical to the same
// trial run alone.
process.env.TSCOLAB_BACKEND = "cpu"; // bit-identity is promised on one backend; the trials inherit it
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import "../magics";
import { invokeMagic } from "../magics/registry";
import { listRuns, sweep, type SweepResult } from "../engine/experiments";
import { expandTrials, parseAblation, trialConfig } from "../engine/experiments/space";
import { readMetrics } from "../engine/store";
import { fingerprint } from "./helpers/queue";
import { TscolabError, UsageError, type MagicContext, type MimeBundle } from "../magics/types";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "tscolab.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-exp-sweep-"));
const SEED = Number(process.env.TSCOLAB_SWEEP_KILL_SEED ?? Date.now() % 100000);
let rngState = SEED;
const random = () => (rngState = (Math.imul(rngState, 1103515245) + 12345) >>> 0) / 2 ** 32;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const IRIS = { data: { train: { builtin: "iris" } }, batchSize: 16, model: { zoo: "mlp", hidden: [8] } };

interface Proc {
  pid: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function cli(args: string[], opts: { detached?: boolean } = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: process.env, stdio: ["ignore", "pipe", "pipe"], detached: opts.detached });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return { pid: child.pid!, done: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }))) };
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

const runJson = (drive: string, runId: string) => JSON.parse(fs.readFileSync(path.join(drive, "tscolab", "runs", runId, "run.json"), "utf8"));
const sweepJson = (drive: string, sweepId: string) => JSON.parse(fs.readFileSync(path.join(drive, "tscolab", "sweeps", sweepId, "sweep.json"), "utf8"));

describe("sweeps that run", () => {
  test("grid, two trials at once, a trial failing its tiers is reported and the sweep goes on (CLI, --json)", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-grid");
    writeJson("grid.json", { ...IRIS, runName: "grid", seed: 4, epochs: 3 });
    const r = await cli(["sweep", "--config", "grid.json", "--grid", "learningRate=0.01,1000", "--grid", "model.hidden=[8],[8,8]", "--parallel", "2", "--drive", drive, "--json"])
      .done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepResult;
    expect(out.objective).toBe("val_loss");
    expect(out.trials.map((t) => [t.name, t.params, t.status])).toEqual([
      ["t00", { learningRate: 0.01, "model.hidden": [8] }, "completed"],
      ["t01", { learningRate: 0.01, "model.hidden": [8, 8] }, "completed"],
      ["t02", { learningRate: 1000, "model.hidden": [8] }, "failed"],
      ["t03", { learningRate: 1000, "model.hidden": [8, 8] }, "failed"],
    ]);
    expect(out.trials[2]!.diagnosis).toMatch(/^tier 1 failed: /);
    const good = out.trials.slice(0, 2);
    const best = good[0]!.value! <= good[1]!.value! ? good[0]! : good[1]!;
    expect(out.best).toEqual({ runId: best.runId, trial: best.name, params: best.params, value: best.value });
    for (const t of out.trials) {
      const j = runJson(drive, t.runId!);
      expect([j.sweepId, j.sweepParams, j.sweepTrial]).toEqual([out.sweepId, t.params, t.name]);
      expect(j.config.learningRate).toBe(t.params.learningRate);
      expect(j.config.model.hidden).toEqual(t.params["model.hidden"]);
      if (t.status === "completed") expect(t.metrics).toEqual(j.metrics);
    }
    // Two at once: t00 and t01 both started before either ended, each in its own process.
    const events = [...r.stderr.matchAll(/^\[(t0\d)\] (started|completed|FAILED)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(events.slice(0, 2).sort()).toEqual(["t00 started", "t01 started"]);
    expect(new Set(out.trials.map((t) => runJson(drive, t.runId!).writer.pid)).size).toBe(4);
    // sweep.json is the record: space, objective, each trial's params, run id and status.
    const record = sweepJson(drive, out.sweepId);
    expect(record).toMatchObject({ status: "completed", objective: "val_loss", space: { grid: { learningRate: [0.01, 1000], "model.hidden": [[8], [8, 8]] } } });
    expect(record.trials.map((t: { runId: string; status: string }) => [t.runId, t.status])).toEqual(out.trials.map((t) => [t.runId, t.status]));
    // The terminal got one line per trial start and end, the failure said so.
    expect(r.stderr).toMatch(/\[t02\] FAILED in [\d.]+ s: tier 1 failed: .*; the sweep goes on/);
    expect(r.stderr).toMatch(/\[t00\] completed in [\d.]+ s: val_loss /);
    // Every trial is an ordinary run, found by its sweep id.
    const rows = await listRuns({ drive, where: [`sweepId=${out.sweepId}`], sort: "runName" });
    expect(rows.runs.map((x) => x.runName)).toEqual(["grid-t00", "grid-t01", "grid-t02", "grid-t03"]);
    console.log(`grid sweep, 4 trials, parallel 2: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test("random draws are seeded by the base config's seed; the notebook shows one live row per trial", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-random");
    const space = ["learningRate=loguniform(0.001,0.1)", "batchSize=choice(8|16|32)", "model.dropout=uniform(0,0.3)", "model.hidden=choice([8]|[16,8])"];
    const displays: MimeBundle[][] = [];
    const ctx: MagicContext = {
      cwd: work,
      signal: new AbortController().signal,
      variables: {},
      rich: true,
      display(bundle) {
        const shown = [bundle];
        displays.push(shown);
        return { update: (next) => void shown.push(next) };
      },
      stdout() {},
      stderr() {},
    };
    const body = JSON.stringify({ ...IRIS, runName: "rnd", seed: 21, epochs: 2 });
    const outcome = await invokeMagic("sweep", `--random 3 ${space.map((s) => `--space '${s}'`).join(" ")} --objective val_accuracy --drive ${drive}`, ctx, { body });
    const r = outcome.result as SweepResult;
    expect(r.mode).toBe("max");
    expect(r.trials.every((t) => t.status === "completed")).toBe(true);
    const drawn = r.trials.map((t) => t.params);
    // The same space and seed draw the same values; another seed draws others.
    const stored = { grid: {}, random: { n: 3, space: Object.fromEntries(space.map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)])) }, ablation: null };
    expect(expandTrials(stored, 21).map((t) => t.params)).toEqual(drawn);
    expect(expandTrials(stored, 22).map((t) => t.params)).not.toEqual(drawn);
    for (const p of drawn) {
      expect(p.learningRate).toBeGreaterThanOrEqual(0.001);
      expect(p.learningRate).toBeLessThanOrEqual(0.1);
      expect([8, 16, 32]).toContain(p.batchSize);
      expect(p["model.dropout"]).toBeGreaterThanOrEqual(0);
      expect(p["model.dropout"]).toBeLessThan(0.3);
      expect([[8], [16, 8]]).toContainEqual(p["model.hidden"]);
    }
    expect(new Set(drawn.map((p) => p.learningRate)).size).toBe(3);
    for (const t of r.trials) {
      const j = runJson(drive, t.runId!);
      expect(j.sweepParams).toEqual(t.params);
      expect([j.config.learningRate, j.config.batchSize, j.config.model.dropout]).toEqual([t.params.learningRate, t.params.batchSize, t.params["model.dropout"]]);
    }
    // One display, updated in place: a row per trial, ending with every trial completed.
    expect(displays.length).toBe(1);
    const live = displays[0]!;
    expect(live.length).toBeGreaterThan(3);
    const last = String(live.at(-1)!["text/plain"]);
    expect(last).toMatch(/3\/3 finished, 0 running/);
    expect(last.match(/^t0\d .* completed /gm)).toHaveLength(3);
    expect(live.some((b) => /training|tier \d/.test(String(b["text/plain"])))).toBe(true);
    const html = String((outcome.bundle as MimeBundle)["text/html"]);
    expect(html).toContain("★");
    console.log(`random sweep, 3 trials: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

describe("ablation", () => {
  test("the ablation preset runs the base and one trial per option it switches on, each switched off", async () => {
    const drive = path.join(work, "drive-ablation");
    const base = { ...IRIS, runName: "abl", seed: 6, epochs: 2, preset: "ablation", weightDecay: 0.01, model: { zoo: "mlp", hidden: [8], dropout: 0.2 } };
    const r = await sweep({ config: base, drive, cwd: work, parallel: 2 });
    expect(r.trials.map((t) => [t.name, t.params])).toEqual([
      ["base", {}],
      ["no-model.dropout", { "model.dropout": 0 }],
      ["no-weightDecay", { weightDecay: 0 }],
      ["no-data.normalize", { "data.normalize": false }],
    ]);
    expect(r.trials.every((t) => t.status === "completed")).toBe(true);
    const configs = Object.fromEntries(r.trials.map((t) => [t.name, runJson(drive, t.runId!).config]));
    expect([configs.base.model.dropout, configs.base.weightDecay, configs.base.data.normalize]).toEqual([0.2, 0.01, true]);
    expect([configs["no-model.dropout"].model.dropout, configs["no-model.dropout"].weightDecay]).toEqual([0, 0.01]);
    expect([configs["no-weightDecay"].model.dropout, configs["no-weightDecay"].weightDecay]).toEqual([0.2, 0]);
    expect(configs["no-data.normalize"].data.normalize).toBe(false);
    // The preset still shapes the budget of every trial.
    expect(Object.values(configs).every((c) => c.preset === "ablation")).toBe(true);

    // An explicit list, with what "off" means for an option the table does not know.
    const explicit = expandTrials({ grid: {}, random: null, ablation: parseAblation(["schedule.warmupEpochs=0", "model.dropout"], base) }, 0);
    expect(explicit.map((t) => [t.name, t.params])).toEqual([
      ["base", {}],
      ["no-schedule.warmupEpochs", { "schedule.warmupEpochs": 0 }],
      ["no-model.dropout", { "model.dropout": 0 }],
    ]);
  });
});

describe("bad input is one line naming the problem and the fix", () => {
  const base = { ...IRIS, epochs: 1 };
  const cases: [string, Parameters<typeof sweep>[0], string | RegExp][] = [
    [
      "unknown key, closest suggested",
      { grid: ["learningrate=0.1,0.2"] },
      '--grid: unknown config key "learningrate" (did you mean "learningRate"?); keys are dotted train-config keys such as learningRate, batchSize, model.hidden',
    ],
    ["unknown nested key", { grid: ["model.hiden=[8],[16]"] }, /^--grid: unknown config key "model.hiden" \(did you mean "model.hidden"\?\)/],
    ["empty grid", { grid: ["learningRate="] }, '--grid learningRate: empty grid, no values after "="; list them like learningRate=V1,V2,...'],
    ["grid without =", { grid: ["learningRate"] }, /^--grid "learningRate": expected KEY=V1,V2,\.\.\./],
    ["nothing to sweep", {}, "nothing to sweep: give --grid KEY=V1,V2,..., --random N with --space KEY=DIST, or --ablate KEY"],
    [
      "misspelt distribution",
      { random: 2, space: ["learningRate=logunifrom(1e-4,1e-1)"] },
      /^--space learningRate=logunifrom\(1e-4,1e-1\): unknown distribution "logunifrom" \(did you mean loguniform\?\); use loguniform\(a,b\)/,
    ],
    ["unparseable distribution", { random: 2, space: ["learningRate=uniform(0.1)"] }, /^--space learningRate=uniform\(0\.1\): uniform\(\) takes two numbers a,b; use loguniform/],
    [
      "not a distribution",
      { random: 2, space: ["batchSize=16"] },
      /^--space batchSize=16: cannot parse the distribution; use loguniform\(a,b\), uniform\(a,b\), int\(a,b\) or choice\(v1\|v2\|\.\.\.\)/,
    ],
    ["loguniform from zero", { random: 2, space: ["learningRate=loguniform(0,1)"] }, /loguniform needs a > 0/],
    ["random without a space", { random: 3 }, /^--random N needs at least one --space KEY=DIST/],
    ["a value the config refuses", { grid: ["batchSize=16,many"] }, /^invalid config \(sweep trial t01: batchSize="many"\): batchSize: /],
    ["objective misspelt", { grid: ["learningRate=0.1"], objective: "val_acuracy" }, /^--objective "val_acuracy": not a validation metric \(did you mean val_accuracy\?\)/],
    ["ablation mixed with a grid", { grid: ["learningRate=0.1"], ablate: ["model.dropout"] }, /^--ablate runs on its own/],
    [
      "ablation of an option with no known off value",
      { ablate: ["epochs"] },
      /^--ablate epochs: no known "off" value for it; say what switches it off, like --ablate epochs=VALUE/,
    ],
    ["a key the sweep sets itself", { grid: ["drive=a,b"] }, /^--grid drive: a sweep cannot vary "drive"/],
  ];
  for (const [what, input, message] of cases) {
    test(what, async () => {
      const err = await sweep({ config: base, drive: path.join(work, "drive-bad"), cwd: work, ...input }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, "sweep() should have refused the input").toBeInstanceOf(Error);
      expect(err instanceof UsageError || err instanceof TscolabError, String(err)).toBe(true);
      if (typeof message === "string") expect(err!.message).toBe(message);
      else expect(err!.message).toMatch(message);
      expect(err!.message).not.toContain("\n");
    });
  }
  test("no sweep was created by any of them", () => {
    expect(fs.existsSync(path.join(work, "drive-bad", "tscolab", "sweeps"))).toBe(false);
  });

  test("a sweep id that does not exist; the CLI prints one line and exits non-zero", async () => {
    const err = await sweep({ resume: "20990101-000000-nope", drive: path.join(work, "drive-grid"), cwd: work }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TscolabError);
    expect((err as Error).message).toMatch(
      /^no sweep "20990101-000000-nope" under .*drive-grid\/tscolab\/sweeps; newest: \d{8}-\d{6}-grid-sweep \(fix: pass a sweep id printed by %sweep \(or tscolab sweep\), a sweep folder, or last\)$/,
    );
    const r = await cli(["sweep", "--config", "grid.json", "--grid", "learningRat=0.1", "--drive", path.join(work, "drive-bad")]).done;
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'UsageError: --grid: unknown config key "learningRat" (did you mean "learningRate"?); keys are dotted train-config keys such as learningRate, batchSize, model.hidden',
    );
  });
});

function newestCheckpointStep(runDir: string): number {
  const dir = path.join(runDir, "checkpoints");
  let newest = -1;
  for (const n of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (/^step-\d+$/.test(n)) newest = Math.max(newest, Number(n.slice(5)));
  return newest;
}

describe("kill and resume", () => {
  test("a sweep SIGKILLed mid-trial (process group) and resumed: every trial bit-identical to the same trial run alone", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-kill");
    // Dropout, shuffling, Adam, a cosine schedule and mid-epoch checkpoints: every random stream must survive the kill.
    const base = {
      runName: "kill",
      seed: 13,
      data: { train: { builtin: "iris" } },
      model: { zoo: "mlp", hidden: [32, 16], dropout: 0.2 },
      epochs: 18,
      batchSize: 4,
      optimizer: "adam",
      schedule: { type: "cosine", warmupEpochs: 1 },
      // Straight to the Drive (local: false), where the kill moment is read: a local-first trial's Drive copy lags,
      // and both trials could finish before it shows the target step.
      checkpoint: { everyEpochs: 1, everySteps: 9, keepLast: 2, local: false },
    };
    writeJson("kill.json", base);
    // 30 steps per epoch, 540 in all: the kill lands once t00 has a checkpoint past a random step, plus 0-40 ms.
    const target = 60 + Math.floor(random() * 400);
    const extraMs = Math.round(random() * 40);
    console.log(`sweep kill: seed ${SEED} (replay with TSCOLAB_SWEEP_KILL_SEED=${SEED}): kill after t00's checkpoint >= step ${target} + ${extraMs} ms`);
    const first = cli(["sweep", "--config", "kill.json", "--grid", "learningRate=0.01,0.003", "--parallel", "2", "--drive", drive, "--json"], { detached: true });
    let exited = false;
    void first.done.then(() => (exited = true));
    const runsDir = path.join(drive, "tscolab", "runs");
    const t00 = () => (fs.existsSync(runsDir) ? fs.readdirSync(runsDir).find((n) => n.endsWith("-kill-t00")) : undefined);
    for (const end = Date.now() + 120_000; !exited && !(t00() && newestCheckpointStep(path.join(runsDir, t00()!)) >= target); await sleep(10)) {
      if (Date.now() > end) throw new Error(`timed out waiting for t00's checkpoint at step ${target}`);
    }
    await sleep(extraMs);
    process.kill(-first.pid, "SIGKILL"); // the sweep and its trial processes, as a lost runtime would
    const killed = await first.done;
    expect(killed.signal, `the sweep was still running when killed; stderr: ${killed.stderr.slice(-1500)}`).toBe("SIGKILL");

    const sweepId = fs.readdirSync(path.join(drive, "tscolab", "sweeps"))[0]!;
    const before = sweepJson(drive, sweepId);
    expect(before.status).toBe("running");
    expect(before.trials[0]).toMatchObject({ name: "t00", status: "running", runId: t00() });
    const runsBefore = fs
      .readdirSync(runsDir)
      .filter((n) => !n.startsWith("."))
      .sort();

    const resumed = await cli(["sweep", "--resume", sweepId, "--drive", drive, "--json"]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const out = JSON.parse(resumed.stdout) as SweepResult;
    expect(out.status).toBe("completed");
    expect(out.trials.map((t) => t.status)).toEqual(["completed", "completed"]);
    expect(resumed.stderr).toMatch(/\[t00\] resuming run \S+-kill-t00/);
    // Interrupted trials continued in their own run folders: no new run was made for them.
    expect(
      fs
        .readdirSync(runsDir)
        .filter((n) => !n.startsWith("."))
        .sort(),
    ).toEqual(expect.arrayContaining(runsBefore));
    expect(fs.readdirSync(runsDir).filter((n) => !n.startsWith("."))).toHaveLength(2);

    // The same trials, each run alone and never interrupted.
    const alone = await Promise.all(
      out.trials.map((t) => {
        const file = writeJson(`alone-${t.name}.json`, { ...trialConfig(base, t.params), runName: `alone-${t.name}` });
        return cli(["train", "--config", file, "--drive", path.join(work, `drive-alone-${t.name}`), "--json"]).done;
      }),
    );
    for (const [i, t] of out.trials.entries()) {
      expect(alone[i]!.code, alone[i]!.stderr).toBe(0);
      const summary = JSON.parse(alone[i]!.stdout);
      const sweptRun = await fingerprint(path.join(runsDir, t.runId!));
      expect(sweptRun).toEqual(await fingerprint(summary.runDir));
      expect(sweptRun.step).toBe(540);
      expect(t.metrics).toEqual(summary.metrics);
    }
    // Resuming a finished sweep runs nothing.
    const again = await cli(["sweep", "--resume", "last", "--drive", drive, "--json"]).done;
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).trials.map((t: { runId: string }) => t.runId)).toEqual(out.trials.map((t) => t.runId));
    expect(fs.readdirSync(runsDir).filter((n) => !n.startsWith("."))).toHaveLength(2);
    console.log(`sweep kill + resume + 2 runs alone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

describe("the sweep process dies alone", () => {
  test("its trial processes stop with a checkpoint; a resume started at once waits for them, then continues the trials", async () => {
    const drive = path.join(work, "drive-orphans");
    writeJson("orphans.json", {
      runName: "orph",
      seed: 2,
      data: { train: { builtin: "iris" } },
      model: { zoo: "mlp", hidden: [16] },
      epochs: 12,
      batchSize: 4,
      // Written to the Drive directly, so the trial is still training when the Drive shows its step 40 and the sweep
      // is killed (a local-first trial runs ahead of its Drive copy and may have finished by then).
      checkpoint: { everyEpochs: 1, everySteps: 10, keepLast: 2, local: false },
    });
    const first = cli(["sweep", "--config", "orphans.json", "--grid", "learningRate=0.01", "--drive", drive, "--json"]);
    const runsDir = path.join(drive, "tscolab", "runs");
    const run = () => (fs.existsSync(runsDir) ? fs.readdirSync(runsDir).find((n) => n.endsWith("-orph-t00")) : undefined);
    for (const end = Date.now() + 120_000; !(run() && newestCheckpointStep(path.join(runsDir, run()!)) >= 40); await sleep(10)) {
      if (Date.now() > end) throw new Error("timed out waiting for the trial's first checkpoints");
    }
    process.kill(first.pid, "SIGKILL"); // only the sweep: its trial's process is left behind
    expect((await first.done).signal).toBe("SIGKILL");
    const sweepId = fs.readdirSync(path.join(drive, "tscolab", "sweeps"))[0]!;
    const resumed = await cli(["sweep", "--resume", sweepId, "--drive", drive, "--json"]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const out = JSON.parse(resumed.stdout) as SweepResult;
    expect(out.trials.map((t) => [t.runId, t.status, t.epochs])).toEqual([[run(), "completed", 12]]);
    // The orphan stopped the run itself (status "stopped", a checkpoint), or was still at it when the resume began and was waited for.
    expect(resumed.stderr).toMatch(/\[t00\] resuming run \S+-orph-t00/);
    const { rows } = await readMetrics(path.join(runsDir, run()!));
    expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect((await listRuns({ drive })).runs).toMatchObject([{ runId: run(), status: "completed", reason: null, epochs: 12 }]);
  });
});

describe("interrupt", () => {
  test("the stop button (abort) stops the running trial with a checkpoint and starts no other; --resume finishes the sweep", async () => {
    const drive = path.join(work, "drive-abort");
    const controller = new AbortController();
    const base = {
      runName: "stop",
      seed: 3,
      data: { train: { builtin: "iris" } },
      model: { zoo: "mlp", hidden: [16] },
      epochs: 10,
      batchSize: 4,
      checkpoint: { everyEpochs: 1, everySteps: 10, keepLast: 2 },
    };
    const r = await sweep({
      config: base,
      grid: ["learningRate=0.01,0.02"],
      drive,
      cwd: work,
      signal: controller.signal,
      onProgress: (p) => {
        if ((p.trials[0]!.epoch ?? 0) >= 2) controller.abort();
      },
    });
    expect(r.status).toBe("stopped");
    expect(r.trials.map((t) => t.status)).toEqual(["interrupted", "pending"]);
    expect(r.trials[1]!.runId).toBeNull();
    const stopped = runJson(drive, r.trials[0]!.runId!);
    expect([stopped.status, stopped.resumable]).toEqual(["stopped", true]);
    expect(r.best).toBeNull();

    const done = await sweep({ resume: r.sweepId, drive, cwd: work });
    expect(done.status).toBe("completed");
    expect(done.trials.map((t) => [t.status, t.epochs])).toEqual([
      ["completed", 10],
      ["completed", 10],
    ]);
    expect(done.trials[0]!.runId).toBe(r.trials[0]!.runId);
    expect((await readMetrics(path.join(drive, "tscolab", "runs", done.trials[0]!.runId!))).rows.map((x) => x.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
