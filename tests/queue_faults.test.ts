// Sweeps on a BullMQ queue when things go wrong, with real workers on
// Debian's redis-server: Redis killed and started again (workers wait and
// reconnect; no trial lost or trained twice), the queue's data lost (the
// follower queues what is unfinished again; sweep.json is rebuilt from the
// run folders), bad input (one line each, the job failed with it, the worker
// keeps serving), and a Redis password that never shows up anywhere.
process.env.TSCOLAB_BACKEND = "cpu"; // bit-identity is promised on one backend; workers and trials inherit it
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Queue } from "bullmq";
import { readMetrics } from "../engine/store";
import { trialConfig } from "../engine/experiments/space";
import { QUEUE_NAME, trialJobId } from "../engine/experiments/queue/jobs";
import type { SweepResult } from "../engine/experiments";
import { freePort, haveRedisServer, startRedisServer, type RedisServer } from "./helpers/redis";
import {
  aloneFingerprint,
  cli,
  findRun,
  fingerprint,
  killStarted,
  newestCheckpointStep,
  runDirs,
  runJson,
  runStatus,
  runsDir,
  signal,
  sleep,
  sweepIds,
  sweepJson,
  waitFor,
  type Proc,
} from "./helpers/queue";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-queue-faults-"));
const hasRedis = haveRedisServer("the queue tests (tests/queue_faults.test.ts)");
let redis: RedisServer; // keeps its data across a restart
const started: RedisServer[] = [];

const BASE = {
  seed: 23,
  data: { train: { builtin: "iris" } },
  model: { zoo: "mlp", hidden: [16], dropout: 0.1 },
  epochs: 8,
  batchSize: 4,
  optimizer: "adam",
  checkpoint: { everyEpochs: 1, everySteps: 10, keepLast: 2 },
};

function writeJson(name: string, value: unknown): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

function worker(url: string, drive: string, extra: string[] = [], env?: NodeJS.ProcessEnv): Proc {
  return cli(["worker", ...(url ? ["--queue", url] : []), "--drive", drive, "--stall-interval", "2", ...extra], { cwd: work, group: true, env });
}
const serving = (w: Proc) => waitFor("a worker to start serving", () => /serving redis:/.test(w.log()), 30_000, w.log);
const showLogs = (...ws: Proc[]) => process.env.TSCOLAB_QUEUE_TEST_LOGS && ws.forEach((w, i) => console.log(`--- process ${i} ---\n${w.log()}`));

async function expectAlone(drive: string, out: SweepResult, base: Record<string, unknown>) {
  for (const t of out.trials) {
    const swept = await fingerprint(path.join(runsDir(drive), t.runId!));
    const alone = await aloneFingerprint({ ...trialConfig(base, t.params), runName: `alone-${t.name}` }, path.join(work, `alone-${out.sweepId}-${t.name}`), work);
    expect(swept, `trial ${t.name} bit-identical to the same trial run alone`).toEqual(alone);
  }
}

beforeAll(async () => {
  if (hasRedis) started.push((redis = await startRedisServer({ persist: true })));
});
// A test that failed leaves its jobs behind: the next test's workers would take (and fail) them.
afterEach(async () => {
  await killStarted();
  const client = redis?.client();
  await client?.flushall().catch(() => undefined);
  client?.disconnect();
});
afterAll(async () => {
  for (const r of started) await r.stop();
});

describe.skipIf(!hasRedis)("Redis away, queue lost", () => {
  test("Redis killed mid-sweep and started again: workers and the follower wait and reconnect, no trial lost or trained twice", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-outage");
    // 60 steps an epoch: each trial outlasts the outage's first seconds, however fast the machine.
    // Long enough that the trials still train through the outage and past their claims, on an idle machine too.
    // Trials timed to outlast the outage write their checkpoints to the Drive directly (local: false), at the speed
    // this was measured with: a local-first trial trains several times faster and ends before Redis is back.
    const outage = { ...BASE, runName: "qo", epochs: 48, batchSize: 2, checkpoint: { everyEpochs: 1, everySteps: 20, keepLast: 2, local: false } };
    writeJson("outage.json", outage);
    const a = worker(redis.url, drive);
    const b = worker(redis.url, drive);
    await Promise.all([serving(a), serving(b)]);
    const follow = cli(["sweep", "--config", "outage.json", "--grid", "learningRate=0.01,0.005,0.002", "--queue", redis.url, "--drive", drive, "--json"], { cwd: work });
    const training = () => runDirs(drive).filter((n) => newestCheckpointStep(path.join(runsDir(drive), n)) >= 40).length;
    await waitFor(
      "two trials in training",
      () => training() >= 2,
      60_000,
      () => a.log() + b.log() + follow.log(),
    );
    await redis.stop("SIGKILL");
    // Longer than the claims last: the workers stop their trials' processes rather than risk a second writer.
    await sleep(5000);
    await redis.start();

    const r = await follow.done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepResult;
    expect(out.trials.map((t) => t.status)).toEqual(["completed", "completed", "completed"]);
    const folders = runDirs(drive).map((n) => `${n}: ${fs.readdirSync(path.join(runsDir(drive), n)).join(",")} ${JSON.stringify(runStatus(drive, n))}`);
    expect(runDirs(drive), `${folders.join("\n")}\n${a.log()}\n${b.log()}`).toHaveLength(3);
    for (const t of out.trials) {
      const { rows } = await readMetrics(path.join(runsDir(drive), t.runId!));
      expect(rows.map((x) => x.epoch)).toEqual(Array.from({ length: outage.epochs }, (_, i) => i + 1));
    }
    // Redis stayed away longer than a claim can go unconfirmed: a worker still training stopped its trial at once, and the trial was resumed.
    expect(a.log() + b.log()).toMatch(/\] gave up its claim \(the claim went unconfirmed for \d+ ms\)/);
    expect(a.log() + b.log()).toMatch(/\] resuming run /);
    for (const w of [a, b]) expect(w.log()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable \(.*\): waiting and reconnecting/);
    expect(a.log() + b.log()).toMatch(/Redis at \S+ is back: serving again/);
    expect(r.stderr).toMatch(/the queue's Redis at \S+ is unreachable/);
    expect(r.stderr).toMatch(/the queue's Redis at \S+ is back/);
    // The trials resumed after the outage end bit-identical to the same trials run alone.
    const resumed = out.trials.filter((t) => (a.log() + b.log()).includes(`resuming run ${t.runId}`));
    expect(resumed.length).toBeGreaterThan(0);
    await expectAlone(drive, { ...out, trials: resumed }, outage);
    showLogs(a, b, follow);
    console.log(`queue Redis outage (5 s) + 3 trials + ${resumed.length} alone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test("the queue's data lost mid-sweep (FLUSHALL): a resumed follower rebuilds sweep.json from the run folders and queues only what is unfinished", async () => {
    const t0 = Date.now();
    const drive = path.join(work, "drive-lost");
    // Written to the Drive directly (local: false), as the outage test above: t01 must still be training when the
    // Drive shows its step 20, and a local-first trial runs ahead of its Drive copy.
    writeJson("lost.json", { ...BASE, runName: "ql", epochs: 12, checkpoint: { ...BASE.checkpoint, local: false } });
    const g = worker(redis.url, drive);
    await serving(g);
    const queued = await cli(["sweep", "--config", "lost.json", "--grid", "learningRate=0.01,0.005", "--queue", redis.url, "--detach", "--drive", drive, "--json"], { cwd: work })
      .done;
    expect(queued.code, queued.stderr).toBe(0);
    const sweepId = (JSON.parse(queued.stdout) as SweepResult).sweepId;
    const t00 = () => findRun(drive, "-ql-t00");
    const t01 = () => findRun(drive, "-ql-t01");
    await waitFor(
      "t00 completed and t01 in training",
      () => !!t00() && runStatus(drive, t00()!) === "completed" && !!t01() && newestCheckpointStep(path.join(runsDir(drive), t01()!)) >= 20,
      60_000,
      g.log,
    );
    signal(g, "SIGSTOP"); // t01 cannot finish meanwhile: the resumed follower must find it unfinished
    const client = redis.client();
    await client.flushall();
    expect(await client.keys("*")).toEqual([]);
    client.disconnect();
    // Nobody followed the detached sweep: its record still says what it said when the trials were queued.
    expect(sweepJson(drive, sweepId).trials.map((t: { status: string }) => t.status)).toEqual(["pending", "pending"]);

    const resumed = cli(["sweep", "--resume", sweepId, "--queue", redis.url, "--drive", drive, "--json"], { cwd: work });
    await waitFor("the follower to queue t01 again", () => /1 already finished, 1 on the queue/.test(resumed.log()), 30_000, resumed.log);
    signal(g, "SIGCONT"); // its claim is gone with the queue: it stops its trial at once and takes the new job
    const r = await resumed.done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepResult;
    expect(out.trials.map((t) => [t.name, t.status, t.runId])).toEqual([
      ["t00", "completed", t00()],
      ["t01", "completed", t01()],
    ]);
    // t00 came from its run folder and was not queued again. t01 was queued again: the woken worker either took its
    // claim back (nobody else held it) and finished, the new job then finding the run completed, or gave it up and resumed.
    expect(g.log()).toMatch(new RegExp(`/t01\\] (resuming run ${t01()}|already completed in run ${t01()}: nothing to train)`));
    expect(runDirs(drive)).toHaveLength(2);
    const record = sweepJson(drive, sweepId);
    expect(record.status).toBe("completed");
    expect(record.trials.map((t: { runId: string; metrics: unknown }) => [t.runId, t.metrics])).toEqual(out.trials.map((t) => [t.runId, runJson(drive, t.runId!).metrics]));
    const { rows } = await readMetrics(path.join(runsDir(drive), t01()!));
    expect(rows.map((x) => x.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await expectAlone(drive, out, { ...BASE, runName: "ql", epochs: 12, checkpoint: { ...BASE.checkpoint, local: false } });
    showLogs(g);
    console.log(`queue lost (FLUSHALL) + resume: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

describe.skipIf(!hasRedis)("bad input: one line each, the job failed with it, the worker keeps serving", () => {
  test("an unreachable Redis, a Redis that never answers, a malformed URL: the sweep and the worker fail fast, nothing created", async () => {
    const closed = await freePort();
    const drive = path.join(work, "drive-unreachable");
    writeJson("unreach.json", { ...BASE, runName: "qu" });
    let t = Date.now();
    const s = await cli(["sweep", "--config", "unreach.json", "--grid", "learningRate=0.01", "--queue", `redis://127.0.0.1:${closed}`, "--drive", drive], { cwd: work }).done;
    expect(s.code).toBe(1);
    expect(s.stderr.trim()).toBe(
      `TscolabError: cannot reach the queue's Redis at redis://127.0.0.1:${closed}: connection refused (nothing listens there) (fix: start redis-server there (or fix the host and port in --queue); --connect-timeout S sets how long to wait)`,
    );
    expect(Date.now() - t).toBeLessThan(8000);
    expect(fs.existsSync(drive)).toBe(false);
    t = Date.now();
    const w = await cli(["worker", "--queue", `redis://127.0.0.1:${closed}`, "--drive", drive], { cwd: work }).done;
    expect(w.code).toBe(1);
    expect(w.stderr.trim()).toMatch(new RegExp(`^TscolabError: cannot reach the queue's Redis at redis://127\\.0\\.0\\.1:${closed}: connection refused`));
    expect(w.stderr.trim().split("\n")).toHaveLength(1);
    expect(Date.now() - t).toBeLessThan(8000);

    // Something listens but never answers: bounded by --connect-timeout.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      t = Date.now();
      const hung = await cli(["worker", "--queue", `redis://127.0.0.1:${port}`, "--drive", drive, "--connect-timeout", "1"], { cwd: work }).done;
      expect(hung.code).toBe(1);
      expect(hung.stderr.trim()).toMatch(new RegExp(`^TscolabError: cannot reach the queue's Redis at redis://127\\.0\\.0\\.1:${port}: no answer within 1 s`));
      expect(Date.now() - t).toBeLessThan(8000);
    } finally {
      silent.close();
    }

    const bad = await cli(["sweep", "--config", "unreach.json", "--grid", "learningRate=0.01", "--queue", "http://127.0.0.1:1", "--drive", drive], { cwd: work }).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'UsageError: --queue: expected redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT, redis://HOST:PORT/DB, rediss:// for TLS), got "http://127.0.0.1:1" (scheme http)',
    );
    const detach = await cli(["sweep", "--config", "unreach.json", "--grid", "learningRate=0.01", "--detach", "--drive", drive], { cwd: work }).done;
    expect(detach.code).toBe(2);
    expect(detach.stderr.trim()).toMatch(/^UsageError: --detach goes with --queue/);
    expect(fs.existsSync(drive)).toBe(false);
  });

  test("a Drive the worker cannot see, a data file missing on its machine, model code the scan refuses, trust the worker did not give: each job failed with its reason, then a good trial runs", async () => {
    const t0 = Date.now();
    const mine = path.join(work, "drive-worker");
    const elsewhere = path.join(work, "drive-elsewhere");
    const h = worker(redis.url, mine);
    await serving(h);
    const q = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: 1 } });
    const sweepOnce = async (name: string, config: Record<string, unknown>, drive: string) => {
      writeJson(`${name}.json`, { ...BASE, epochs: 2, runName: name, ...config });
      const r = await cli(["sweep", "--config", `${name}.json`, "--grid", "learningRate=0.01", "--queue", redis.url, "--drive", drive, "--json"], { cwd: work }).done;
      const out = JSON.parse(r.stdout) as SweepResult;
      const job = await q.getJob(trialJobId(out.sweepId, "t00"));
      return { code: r.code, out, trial: out.trials[0]!, job: job!, state: await job!.getState() };
    };

    const notSeen = await sweepOnce("bad-drive", {}, elsewhere);
    expect(notSeen.code).toBe(1);
    expect(notSeen.state).toBe("failed");
    expect(notSeen.trial.status).toBe("failed");
    expect(notSeen.job.failedReason).toBe(
      `TscolabError: sweep ${notSeen.out.sweepId} is not on this worker's Drive: ${path.join(mine, "tscolab", "sweeps", notSeen.out.sweepId, "sweep.json")} does not exist (fix: mount the Drive the sweep was started on and start the worker with --drive pointing at it (or set $TSCOLAB_DRIVE))`,
    );
    expect(notSeen.trial.diagnosis).toBe(notSeen.job.failedReason);

    const missing = await sweepOnce("bad-data", { data: { train: path.join(work, "not-on-this-machine.csv"), label: "y" } }, mine);
    expect([missing.code, missing.state, missing.trial.status]).toEqual([1, "failed", "failed"]);
    expect(missing.job.failedReason).toMatch(new RegExp(`^TscolabError: data file ${path.join(work, "not-on-this-machine.csv").replace(/[.]/g, "\\.")} does not exist`));
    expect(missing.job.failedReason).not.toContain("\n");

    fs.writeFileSync(
      path.join(work, "sneaky_model.ts"),
      'import { execSync } from "child_process";\nexport function createModel({ tf, inputShape, outputs }: any) {\n  execSync("true");\n  return tf.sequential({ layers: [tf.layers.dense({ inputShape, units: outputs, activation: "softmax" })] });\n}\n',
    );
    const scanned = await sweepOnce("bad-code", { model: { file: path.join(work, "sneaky_model.ts") } }, mine);
    expect([scanned.code, scanned.state]).toEqual([1, "failed"]);
    expect(scanned.job.failedReason).toMatch(
      /^TscolabError: refusing to run model file \S+sneaky_model\.ts of trial \S+\/t00: sneaky_model\.ts:1: child process: import\("child_process"\)/,
    );
    expect(scanned.job.failedReason).toMatch(/set "trust": true in the sweep's model config and start the worker with --trust\)$/);

    const trusted = await sweepOnce("bad-trust", { model: { zoo: "mlp", hidden: [8], trust: true } }, mine);
    expect([trusted.code, trusted.state]).toEqual([1, "failed"]);
    expect(trusted.job.failedReason).toMatch(/asks to run model code despite what the scan finds \("trust": true\), and this worker was not started with --trust/);

    // The same worker, still serving. A folder a trial process killed while creating its run left behind (no run.json,
    // no checkpoint) is removed rather than left as a second folder for the trial.
    const halfMade = path.join(runsDir(mine), "20200101-000000-good-t00");
    fs.mkdirSync(path.join(halfMade, "checkpoints"), { recursive: true });
    const good = await sweepOnce("good", {}, mine);
    expect(h.log()).toMatch(/\/t00\] removed run folder 20200101-000000-good-t00: a stopped trial process left it without run\.json/);
    expect(fs.existsSync(halfMade)).toBe(false);
    expect([good.code, good.state, good.trial.status]).toEqual([0, "completed", "completed"]);
    expect(h.exited()).toBe(false);
    expect(h.log()).toMatch(/\/t00\] completed: val_loss/);
    for (const line of h
      .log()
      .split("\n")
      .filter((l) => /FAILED/.test(l)))
      expect(line.length).toBeLessThan(600);

    // Once a worker sees that Drive, --resume queues the trial that failed before any run was made again.
    signal(h, "SIGTERM");
    expect((await h.done).code).toBe(0);
    const there = worker(redis.url, elsewhere);
    await serving(there);
    const again = await cli(["sweep", "--resume", notSeen.out.sweepId, "--queue", redis.url, "--drive", elsewhere, "--json"], { cwd: work }).done;
    expect(again.code, again.stderr).toBe(0);
    const retried = JSON.parse(again.stdout) as SweepResult;
    expect(retried.trials.map((t) => t.status)).toEqual(["completed"]);
    expect(retried.notes).toContain("queued again: t00, which failed before a run was made (a worker's setup)");
    await q.close();
    showLogs(h);
    console.log(`queue bad input, 5 sweeps on one worker: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

describe.skipIf(!hasRedis)("a Redis password", () => {
  const PASS = "Sesame-7f3a-only-in-the-url";
  test("works in the URL (argv) and in $TSCOLAB_QUEUE, and never appears in logs, sweep.json, run.json, any Drive file or the queue's data", async () => {
    const secured = await startRedisServer({ password: PASS });
    started.push(secured);
    const drive = path.join(work, "drive-pass");
    writeJson("pass.json", { ...BASE, epochs: 2, runName: "qp" });
    const viaEnv = worker("", drive, [], { TSCOLAB_QUEUE: secured.url });
    await serving(viaEnv);
    const follow = await cli(["sweep", "--config", "pass.json", "--grid", "learningRate=0.01,0.02", "--queue", secured.url, "--drive", drive, "--json"], { cwd: work }).done;
    expect(follow.code, follow.stderr).toBe(0);
    const out = JSON.parse(follow.stdout) as SweepResult;
    expect(out.trials.map((t) => t.status)).toEqual(["completed", "completed"]);
    signal(viaEnv, "SIGTERM");
    const stopped = await viaEnv.done;
    expect(stopped.code).toBe(0);

    const leaks: string[] = [];
    const check = (where: string, text: string) => void (text.includes(PASS) && leaks.push(where));
    check("worker output", viaEnv.log());
    check("sweep stdout", follow.stdout);
    check("sweep stderr", follow.stderr);
    expect(follow.stderr).toContain(`on the queue redis://127.0.0.1:${secured.port} (tscolab-trials)`);
    expect(sweepJson(drive, out.sweepId).queue).toEqual({ url: `redis://127.0.0.1:${secured.port}`, name: "tscolab-trials" });
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const files = walk(drive);
    expect(files.filter((f) => f.endsWith("run.json"))).toHaveLength(2);
    for (const f of files) check(f, fs.readFileSync(f).toString("latin1"));
    // Everything the queue holds.
    const client = secured.client();
    for (const key of await client.keys("*")) {
      const type = await client.type(key);
      const value =
        type === "string"
          ? await client.get(key)
          : type === "hash"
            ? JSON.stringify(await client.hgetall(key))
            : type === "list"
              ? JSON.stringify(await client.lrange(key, 0, -1))
              : type === "set"
                ? JSON.stringify(await client.smembers(key))
                : type === "zset"
                  ? JSON.stringify(await client.zrange(key, 0, -1))
                  : type === "stream"
                    ? JSON.stringify(await client.xrange(key, "-", "+"))
                    : "";
      check(`redis ${key}`, `${key} ${value}`);
    }
    client.disconnect();
    expect(leaks).toEqual([]);

    // A wrong or missing password: one line, the password given not echoed.
    const wrong = await cli(["sweep", "--config", "pass.json", "--grid", "learningRate=0.01", "--queue", `redis://:not-${PASS}@127.0.0.1:${secured.port}`, "--drive", drive], {
      cwd: work,
    }).done;
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      `TscolabError: cannot reach the queue's Redis at redis://127.0.0.1:${secured.port}: it refused the user name or password (WRONGPASS) (fix: put the password in the URL as redis://:PASSWORD@HOST:PORT (or in $TSCOLAB_QUEUE))`,
    );
    const none = await cli(["worker", "--queue", `redis://127.0.0.1:${secured.port}`, "--drive", drive], { cwd: work }).done;
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toMatch(/: it needs a password \(NOAUTH\) \(fix: /);
    expect(sweepIds(drive)).toHaveLength(1);
  });
});
