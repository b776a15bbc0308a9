// Sweeps on a BullMQ queue with real workers: `tscolab worker` processes
// (each in its own process group) on Debian's redis-server, killed and
// stopped with real signals. A worker SIGKILLed mid-trial loses nothing (the
// stalled job goes to the other worker, which resumes the run from its last
// committed checkpoint); SIGTERM stops after the current step with a
// checkpoint and gives the job back; a worker frozen with SIGSTOP keeps its
// trial from being trained twice. Every trial ends bit-identical to the same
// trial run alone.
process.env.TSCOLAB_BACKEND = "cpu"; // bit-identity is promised on one backend; workers and trials inherit it
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Queue } from "bullmq";
import { readMetrics } from "../engine/store";
import { trialConfig } from "../engine/experiments/space";
import { QUEUE_NAME, trialJobId } from "../engine/experiments/queue/jobs";
import type { SweepResult } from "../engine/experiments";
import type { WorkerResult } from "../engine/experiments/queue/worker";
import "../magics";
import { invokeMagic } from "../magics/registry";
import type { MagicContext, MimeBundle } from "../magics/types";
import { haveRedisServer, startRedisServer, type RedisServer } from "./helpers/redis";
import {
  aloneFingerprint,
  cli,
  findRun,
  fingerprint,
  killStarted,
  newestCheckpointStep,
  runDirs,
  runJson,
  runsDir,
  signal,
  sleep,
  sweepIds,
  waitFor,
  type Proc,
} from "./helpers/queue";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-queue-workers-"));
const STALL = "2"; // seconds: a lost worker's trial is handed on within a few of these
const hasRedis = haveRedisServer("the queue tests (tests/queue_workers.test.ts)");
let redis: RedisServer;

// 30 steps an epoch (120 training rows, batches of 4), a checkpoint every 10 steps; dropout, shuffling and Adam must survive.
const BASE = {
  runName: "qw",
  seed: 17,
  data: { train: { builtin: "iris" } },
  model: { zoo: "mlp", hidden: [16], dropout: 0.1 },
  epochs: 12,
  batchSize: 4,
  optimizer: "adam",
  checkpoint: { everyEpochs: 1, everySteps: 10, keepLast: 2 },
};

function writeJson(name: string, value: unknown): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

function worker(drive: string, extra: string[] = []): Proc {
  return cli(["worker", "--queue", redis.url, "--drive", drive, "--stall-interval", STALL, ...extra], { cwd: work, group: true });
}
const serving = (w: Proc) => waitFor("a worker to start serving", () => /serving redis:/.test(w.log()), 30_000, w.log);
const trialOf = (w: Proc) => w.log().match(/\/(t\d+)\] (?:started|resuming)/)?.[1];
/** TSCOLAB_QUEUE_TEST_LOGS=1 prints every worker's log. */
const showLogs = (...ws: Proc[]) => process.env.TSCOLAB_QUEUE_TEST_LOGS && ws.forEach((w, i) => console.log(`--- worker ${i} ---\n${w.log()}`));
const queueOf = () => new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: 1 } });

/** Each trial of a finished sweep against the same trial trained alone. */
async function expectAlone(drive: string, out: SweepResult, base: Record<string, unknown>) {
  for (const t of out.trials) {
    const swept = await fingerprint(path.join(runsDir(drive), t.runId!));
    const alone = await aloneFingerprint({ ...trialConfig(base, t.params), runName: `alone-${t.name}` }, path.join(work, `alone-${out.sweepId}-${t.name}`), work);
    expect(swept, `trial ${t.name} bit-identical to the same trial run alone`).toEqual(alone);
    expect(swept.metrics.map((r) => r.epoch)).toEqual(Array.from({ length: base.epochs as number }, (_, i) => i + 1));
  }
}

beforeAll(async () => {
  if (hasRedis) redis = await startRedisServer();
});
// A worker left serving another test's Drive would take (and fail) the next test's trials.
afterEach(killStarted);
afterAll(async () => {
  await redis?.stop();
});

describe.skipIf(!hasRedis)("workers on a queue", () => {
  test("a worker SIGKILLed mid-trial (with its trial's process) loses nothing: the other worker resumes the trial from its last checkpoint", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-kill");
    // Checkpoints straight to the Drive (local: false), where the test watches for step 60: a local-first
    // trial's Drive copy lags, and the trial could finish before the copy shows the step to kill at.
    writeJson("kill.json", { ...BASE, checkpoint: { ...BASE.checkpoint, local: false } });
    const a = worker(drive);
    const b = worker(drive);
    await Promise.all([serving(a), serving(b)]);
    const follow = cli(["sweep", "--config", "kill.json", "--grid", "learningRate=0.01,0.003", "--queue", redis.url, "--drive", drive, "--json"], { cwd: work });
    await waitFor(
      "worker A to take a trial",
      () => !!trialOf(a),
      60_000,
      () => a.log() + follow.log(),
    );
    const trial = trialOf(a)!;
    const run = () => findRun(drive, `-qw-${trial}`);
    await waitFor(`${trial}'s checkpoint at step 60`, () => !!run() && newestCheckpointStep(path.join(runsDir(drive), run()!)) >= 60, 60_000, a.log);
    const killedAt = newestCheckpointStep(path.join(runsDir(drive), run()!));
    signal(a, "SIGKILL"); // the worker and its trial's process, as a lost machine would
    const killedMs = Date.now();
    expect((await a.done).signal).toBe("SIGKILL");
    await waitFor("the other worker to resume the killed trial", () => new RegExp(`/${trial}\\] resuming run`).test(b.log()), 60_000, b.log);
    const handoverS = (Date.now() - killedMs) / 1000;
    expect(killedAt, "killed mid-trial").toBeLessThan(360);

    const r = await follow.done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepResult;
    expect(out.trials.map((t) => t.status)).toEqual(["completed", "completed"]);
    // Handed over by the stalled-job check, resumed in the same run folder by the other worker.
    expect(r.stderr).toMatch(new RegExp(`\\[${trial}\\] (back on the queue|resuming run ${run()} on \\S+ \\(handed over from)`));
    expect(b.log()).toMatch(new RegExp(`/${trial}\\] resuming run ${run()}`));
    expect(runDirs(drive)).toHaveLength(2);
    expect(runJson(drive, run()!)).toMatchObject({ status: "completed", sweepId: out.sweepId, sweepTrial: trial });
    await expectAlone(drive, out, BASE);
    signal(b, "SIGTERM");
    expect((await b.done).code).toBe(0);
    showLogs(a, b);
    console.log(
      `queue SIGKILL: killed at step ${killedAt} of 360, resumed on the other worker ${handoverS.toFixed(1)} s later (stall interval ${STALL} s); 2 trials + 2 alone: ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  test("SIGTERM: the worker finishes its step, commits a checkpoint and gives the job back; another worker resumes it", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-term");
    // Long enough to outlast the signal: a local-first trial runs ahead of the checkpoints its Drive shows.
    const config = { ...BASE, runName: "qt", epochs: 48 };
    writeJson("term.json", config);
    const c = worker(drive);
    await serving(c);
    const queued = await cli(["sweep", "--config", "term.json", "--grid", "learningRate=0.01", "--queue", redis.url, "--detach", "--drive", drive, "--json"], { cwd: work }).done;
    expect(queued.code, queued.stderr).toBe(0);
    const detached = JSON.parse(queued.stdout) as SweepResult;
    expect(detached.status).toBe("queued");
    const run = () => findRun(drive, "-qt-t00");
    await waitFor("the trial's checkpoint at step 40", () => !!run() && newestCheckpointStep(path.join(runsDir(drive), run()!)) >= 40, 60_000, c.log);
    const before = newestCheckpointStep(path.join(runsDir(drive), run()!));
    signal(c, "SIGTERM"); // the whole group, as Slurm's scancel does; a container's stop signals only the worker, same outcome
    const termMs = Date.now();
    const stopped = await c.done;
    const stopS = (Date.now() - termMs) / 1000;
    expect(stopped.code, stopped.stderr).toBe(0);
    const j = runJson(drive, run()!);
    expect([j.status, j.resumable]).toEqual(["stopped", true]);
    expect(newestCheckpointStep(path.join(runsDir(drive), run()!))).toBeGreaterThanOrEqual(before);
    expect(c.log()).toMatch(/\/t00\] back on the queue: stopped at epoch \d+ with a checkpoint \(this worker is stopping\)/);
    const q = queueOf();
    expect(await (await q.getJob(trialJobId(detached.sweepId, "t00")))!.getState()).toBe("waiting");
    await q.close();

    const d = worker(drive);
    const r = await cli(["sweep", "--resume", detached.sweepId, "--queue", redis.url, "--drive", drive, "--json"], { cwd: work }).done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepResult;
    expect(out.trials.map((t) => [t.status, t.runId])).toEqual([["completed", run()]]);
    expect(d.log()).toMatch(new RegExp(`/t00\\] resuming run ${run()}`));
    await expectAlone(drive, out, config);
    signal(d, "SIGTERM");
    expect((await d.done).code).toBe(0);
    showLogs(c, d);
    console.log(`queue SIGTERM: stopped at step ${before}+, gave the job back and exited in ${stopS.toFixed(1)} s; resume + 1 alone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test("a stalled job re-delivered while its worker is only frozen (SIGSTOP) is not trained twice", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-stop");
    // Checkpoints straight to the Drive (local: false): the freeze must land while the trial is still training,
    // and the Drive's files are what the other worker reads; a local-first trial can finish before its Drive copy shows step 40.
    writeJson("stop.json", { ...BASE, runName: "qs", checkpoint: { ...BASE.checkpoint, local: false } });
    const e = worker(drive);
    const f = worker(drive);
    await Promise.all([serving(e), serving(f)]);
    const queued = await cli(["sweep", "--config", "stop.json", "--grid", "learningRate=0.01", "--queue", redis.url, "--detach", "--drive", drive, "--json"], { cwd: work }).done;
    expect(queued.code, queued.stderr).toBe(0);
    const sweepId = sweepIds(drive)[0]!;
    await waitFor(
      "a worker to take the trial",
      () => !!trialOf(e) || !!trialOf(f),
      60_000,
      () => e.log() + f.log(),
    );
    const [frozen, other] = trialOf(e) ? [e, f] : [f, e];
    const run = () => findRun(drive, "-qs-t00");
    const runDir = () => path.join(runsDir(drive), run()!);
    await waitFor("the trial's checkpoint at step 40", () => !!run() && newestCheckpointStep(runDir()) >= 40, 60_000, frozen.log);
    signal(frozen, "SIGSTOP"); // the worker and its trial's process: alive, holding nothing
    await sleep(200);
    const step = newestCheckpointStep(runDir());
    const metricsBytes = fs.statSync(path.join(runDir(), "metrics.jsonl")).size;
    const writer = runJson(drive, run()!).writer;

    // The lock runs out, the stalled check hands the job over; the other worker finds the run's writer alive and leaves it alone.
    await waitFor(
      "the other worker to find the run still being written",
      () => /\/t00\] run \S+ is still being written by process \d+ on this machine/.test(other.log()),
      40_000,
      other.log,
    );
    await sleep(3000);
    expect(newestCheckpointStep(runDir())).toBe(step);
    expect(fs.statSync(path.join(runDir(), "metrics.jsonl")).size).toBe(metricsBytes);
    expect(runJson(drive, run()!).writer).toEqual(writer);
    expect(other.log()).not.toMatch(/\/t00\] (started|resuming)/);

    // Woken, the frozen worker cannot vouch for its claim: it stops its trial at once, and the trial is resumed once.
    signal(frozen, "SIGCONT");
    await waitFor("the woken worker to give its claim up", () => /\/t00\] gave up its claim/.test(frozen.log()), 20_000, frozen.log);
    const r = await cli(["sweep", "--resume", sweepId, "--queue", redis.url, "--drive", drive, "--json"], { cwd: work }).done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepResult;
    expect(out.trials.map((t) => [t.status, t.runId])).toEqual([["completed", run()]]);
    expect(frozen.log() + other.log()).toMatch(new RegExp(`/t00\\] resuming run ${run()}`));
    expect(runDirs(drive)).toHaveLength(1);
    const { rows } = await readMetrics(runDir());
    expect(rows.map((x) => x.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await expectAlone(drive, out, { ...BASE, runName: "qs" });
    signal(e, "SIGTERM");
    signal(f, "SIGTERM");
    expect((await e.done).code).toBe(0);
    expect((await f.done).code).toBe(0);
    showLogs(frozen, other);
    console.log(`queue SIGSTOP (frozen at step ${step}) + resume + 1 alone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test("in a notebook: %worker (two trials at once) serves until the stop button, %%sweep --queue shows one live row per trial and returns the ranked result", async () => {
    const drive = path.join(work, "drive-notebook");
    const displays: MimeBundle[][] = [];
    const printed: string[] = [];
    const context = (signal: AbortSignal): MagicContext => ({
      cwd: work,
      signal,
      variables: {},
      rich: true,
      display(bundle) {
        const shown = [bundle];
        displays.push(shown);
        return { update: (next) => void shown.push(next) };
      },
      stdout: (t) => void printed.push(t),
      stderr: (t) => void printed.push(t),
    });
    const stop = new AbortController();
    const serving = invokeMagic("worker", `--queue ${redis.url} --drive ${drive} --stall-interval ${STALL} --concurrency 2`, context(stop.signal));
    const body = JSON.stringify({ ...BASE, runName: "nb", epochs: 2 });
    const outcome = await invokeMagic("sweep", `--grid learningRate=0.01,0.02 --queue ${redis.url} --drive ${drive}`, context(new AbortController().signal), { body });
    const r = outcome.result as SweepResult;
    expect(r.status).toBe("completed");
    expect(r.trials.map((t) => t.status)).toEqual(["completed", "completed"]);
    expect(String(outcome.bundle!["text/plain"])).toMatch(/^sweep \S+ completed: 2 completed, 0 failed/);
    const live = displays.find((d) => /finished, \d+ running/.test(String(d[0]!["text/plain"])))!;
    expect(live.length).toBeGreaterThan(1);
    expect(String(live[live.length - 1]!["text/plain"])).toMatch(/2\/2 finished, 0 running/);

    stop.abort(); // the stop button
    const w = (await serving).result as WorkerResult;
    expect([w.completed, w.failed, w.gaveBack]).toEqual([2, 0, 0]);
    // --concurrency 2: both trials started before either ended, each in its own process.
    const events = [...printed.join("").matchAll(/\/(t0\d)\] (started|completed)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(events.slice(0, 2).sort()).toEqual(["t00 started", "t01 started"]);
    expect(new Set(r.trials.map((t) => runJson(drive, t.runId!).writer.pid)).size).toBe(2);
  });
});
