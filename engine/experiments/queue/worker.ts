// `tscolab worker --queue redis://HOST:PORT`: takes sweep trials from the
// BullMQ queue and trains each as an ordinary run in its own process (the
// sweep's trial_worker), new or resumed from the run's last committed
// checkpoint. Any number of workers, on any machines that share the Drive.
//
// Losing nothing:
// - The job's BullMQ lock lasts one stall interval and is renewed by this
//   process (not the training one); a worker killed outright stops renewing,
//   BullMQ's stalled-job check hands the job to another worker, and the trial
//   resumes from its newest committed checkpoint.
// - Stopping (SIGTERM, Ctrl-C, the stop button) asks each training process to
//   stop after its current step with a checkpoint, then moves its job back to
//   waiting for another worker to resume.
// Never two at once:
// - A worker trains a trial only while it holds the trial's claim (./claim.ts),
//   a lease in Redis that it gives up, killing the training process, as soon
//   as it cannot vouch for it.
// - On this machine run.json's writer claim also counts: a run whose writer
//   process still lives (a frozen or orphaned trial) is not touched; the job
//   is put back for later.
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import IORedis from "ioredis";
import type { Job, Worker } from "bullmq";
import { TscolabError, UsageError } from "../../errors";
import { resolveDriveRoot, runsDir } from "../../store/drive_root";
import { RUN_JSON, slugRunName } from "../../store/runs";
import { writerSchema } from "../../store/writer";
import { processAlive } from "../../util/process_alive";
import { isPlainObject } from "../dotted";
import { trialConfig } from "../space";
import { baseName, findTrialRun, readRunJson, workerPath } from "../sweep";
import { openSweep, sweepsDir, SWEEP_JSON } from "../sweep_store";
import type { TrialMessage, TrialRequest } from "../trial_worker";
import { TrialClaim, claimKey } from "./claim";
import { connectTimeoutMs } from "./follow";
import { MAX_STALLS, QUEUE_NAME, trialJobData, type TrialJobProgress, type TrialJobResult } from "./jobs";
import { QUEUE_ENV, describeRedisError, parseRedisUrl, probeRedis, queueUrlFrom, redisOptions } from "./redis_url";
import { checkTrialCode } from "./trust";

export interface WorkerOptions {
  /** `redis://HOST:PORT` (or `redis://:PASSWORD@HOST:PORT`); default $TSCOLAB_QUEUE. */
  queue?: string;
  drive?: string;
  cwd?: string;
  /** Trials trained at once, each in its own process (default 1). */
  concurrency?: number;
  /** Seconds a job's lock lasts without renewal; a lost worker's trial is handed on after about two or three of these (default 30). */
  stallInterval?: number;
  /** Seconds to wait for Redis at start (default 10). */
  connectTimeout?: number;
  /** Run model code the scan flags, when the trial's config also says "trust": true. */
  trust?: boolean;
  /** Aborted: stop taking trials, give the running ones back after their current step. */
  signal?: AbortSignal;
  onLog?: (line: string) => void;
}

export interface WorkerJobRecord {
  jobId: string;
  sweepId: string;
  trial: string;
  outcome: "completed" | "failed" | "gave back" | "later" | "error";
  runId: string | null;
  reason: string | null;
}

export interface WorkerResult {
  worker: string;
  queue: string;
  drive: string;
  status: "stopped";
  completed: number;
  failed: number;
  gaveBack: number;
  jobs: WorkerJobRecord[];
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: "ETIMEDOUT" })), ms);
    }),
  ]);
}

const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function stallMs(seconds: number | undefined): number {
  if (seconds === undefined) return 30_000;
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) throw new UsageError(`--stall-interval: expected seconds from 0.2 to 3600, got ${seconds}`);
  return Math.round(seconds * 1000);
}

/**
 * Folders of this trial's run name that a trial process killed while creating its run left without run.json and
 * without a checkpoint: nothing in them, and nobody else makes this trial's run while its claim is held.
 */
function removeHalfMadeRuns(driveRoot: string, runName: string): string[] {
  const dir = runsDir(driveRoot);
  const pattern = new RegExp(`^\\d{8}-\\d{6}-${slugRunName(runName).replace(/[.]/g, "\\.")}(-\\d+)?$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => pattern.test(n));
  } catch {
    return [];
  }
  return names.filter((n) => {
    const run = path.join(dir, n);
    if (fs.existsSync(path.join(run, RUN_JSON))) return false;
    const checkpoints = path.join(run, "checkpoints");
    if (fs.existsSync(checkpoints) && fs.readdirSync(checkpoints).length) return false;
    try {
      fs.rmSync(run, { recursive: true, force: true });
      return true;
    } catch {
      return false;
    }
  });
}

const isConnectionError = (e: Error) =>
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|EHOSTUNREACH|ENETUNREACH)$/.test(String((e as NodeJS.ErrnoException).code)) ||
  /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|NOAUTH|WRONGPASS|LOADING/.test(e.message);

/** One line for a job's failed reason: the error's name and message, no stack. */
const oneLine = (e: { name?: string; message?: string }) => `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${(e.message ?? String(e)).split("\n")[0]}`;

export async function runWorker(opts: WorkerOptions = {}): Promise<WorkerResult> {
  const url = queueUrlFrom(opts.queue);
  if (!url) throw new UsageError(`--queue: give the queue's address, redis://HOST:PORT (or set $${QUEUE_ENV})`);
  const target = parseRedisUrl(url);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency: expected a whole number from 1 to 64, got ${concurrency}`);
  const lockMs = stallMs(opts.stallInterval);
  const timeoutMs = connectTimeoutMs(opts.connectTimeout);
  const cwd = opts.cwd ?? process.cwd();
  const driveRoot = resolveDriveRoot(opts.drive, cwd);
  const log = opts.onLog ?? (() => undefined);
  const me = `${os.hostname()}:${process.pid}`;
  const workerTrust = opts.trust ?? false;

  await probeRedis(target, timeoutMs, "--queue");
  const { Worker, DelayedError, WaitingError, UnrecoverableError } = await import("bullmq");

  const jobs: WorkerJobRecord[] = [];
  const note = (r: WorkerJobRecord) => {
    jobs.push(r);
    if (jobs.length > 10_000) jobs.splice(0, jobs.length - 10_000); // a worker serving for weeks keeps the recent ones
  };
  const active = new Map<string, { child: ChildProcess | null; label: string }>();
  let stopping = false;

  // Claims live on their own connection, with no offline queue: while Redis is away a renewal fails at once
  // instead of waiting, so the claim's clock (not the connection's) decides when to give a trial up.
  const claims = new IORedis(redisOptions(target, { connectTimeout: timeoutMs, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 500 }));
  let redisDown: string | null = null;
  const onDown = (e: Error) => {
    if (redisDown || stopping) return;
    redisDown = describeRedisError(e, timeoutMs / 1000);
    log(`Redis at ${target.shown} is unreachable (${redisDown}): waiting and reconnecting; trials in training carry on while their claims hold`);
  };
  claims.on("error", onDown);
  // BullMQ reports connection trouble and job trouble (a lock lost to another worker) on one channel.
  const said = new Set<string>();
  const onWorkerError = (e: Error) => {
    if (isConnectionError(e)) return onDown(e);
    const line = e.message.split("\n")[0] ?? String(e);
    if (said.has(line)) return;
    said.add(line);
    log(`queue: ${line}`);
  };
  claims.on("ready", () => {
    if (!redisDown) return;
    redisDown = null;
    log(`Redis at ${target.shown} is back: serving again`);
  });
  await withTimeout(new Promise<void>((resolve) => (claims.status === "ready" ? resolve() : claims.once("ready", () => resolve()))), timeoutMs).catch(() => undefined);

  const retryMs = Math.max(500, Math.round(lockMs / 2));
  // A claim outlives a job's lock: a worker gives its trial up after 1.5 stall intervals without confirming its claim,
  // half an interval before anyone else may take it, so a slow moment (a busy machine, a slow Redis) is not a false alarm.
  const claimMs = 2 * lockMs;
  const laterSaid = new Map<string, string>();

  const processor = async (job: Job, token?: string): Promise<TrialJobResult> => {
    const jobId = String(job.id);
    const parsed = trialJobData.safeParse(job.data);
    if (!parsed.success) {
      const reason = `job ${jobId} is not a tscolab trial: ${parsed.error.issues[0]?.message ?? "bad data"}`;
      log(`[${jobId}] FAILED: ${reason}`);
      note({ jobId, sweepId: "?", trial: "?", outcome: "failed", runId: null, reason });
      throw new UnrecoverableError(reason);
    }
    const { sweepId, trial } = parsed.data;
    const label = `${sweepId}/${trial}`;
    const record = (outcome: WorkerJobRecord["outcome"], runId: string | null, reason: string | null) => note({ jobId, sweepId, trial, outcome, runId, reason });

    const fail = (e: { name?: string; message?: string }, runId: string | null = null): never => {
      const reason = oneLine(e);
      log(`[${label}] FAILED: ${reason}`);
      record("failed", runId, reason);
      throw new UnrecoverableError(reason);
    };
    /** Puts the job back for later (the trial is busy elsewhere), without counting an attempt. */
    const later = async (why: string): Promise<never> => {
      if (laterSaid.get(jobId) !== why) log(`[${label}] ${why}: trying again in ${(retryMs / 1000).toFixed(1)} s`);
      laterSaid.set(jobId, why);
      record("later", null, why);
      try {
        await withTimeout(job.moveToDelayed(Date.now() + retryMs, token), 5000);
      } catch {
        // The job's lock is gone (another worker has it) or Redis is away: it comes back when its lock runs out.
        throw new WaitingError();
      }
      throw new DelayedError();
    };
    /** Moves the job back to waiting so another worker (or this one) resumes the trial. */
    const giveBack = async (why: string, runId: string | null): Promise<never> => {
      try {
        await withTimeout(job.moveToWait(token), 5000);
        log(`[${label}] back on the queue: ${why}`);
      } catch (e) {
        log(`[${label}] ${why}; it could not be put back now (${describeRedisError(e as Error, 5)}): it returns to the queue when its lock runs out`);
      }
      record("gave back", runId, why);
      throw new WaitingError();
    };
    if (stopping) return giveBack("this worker is stopping", null);

    // The sweep's record, on this worker's view of the shared Drive.
    const sweepFile = path.join(sweepsDir(driveRoot), sweepId, SWEEP_JSON);
    if (!fs.existsSync(sweepFile))
      return fail(
        new TscolabError(
          `sweep ${sweepId} is not on this worker's Drive: ${sweepFile} does not exist`,
          "mount the Drive the sweep was started on and start the worker with --drive pointing at it (or set $TSCOLAB_DRIVE)",
        ),
      );
    let sweepRecord;
    try {
      sweepRecord = openSweep(driveRoot, sweepId, cwd).record;
    } catch (e) {
      return fail(e as Error);
    }
    const spec = sweepRecord.trials.find((t) => t.name === trial);
    if (!spec)
      return fail(
        new TscolabError(`sweep ${sweepId} has no trial ${trial}`, `start the sweep again; its record ${sweepFile} lists ${sweepRecord.trials.map((t) => t.name).join(", ")}`),
      );

    let claimed;
    try {
      claimed = await TrialClaim.acquire(claims, claimKey(QUEUE_NAME, jobId), claimMs);
    } catch (e) {
      // Redis away between taking the job and claiming it: the job goes back when Redis returns.
      return giveBack(`no claim possible (${describeRedisError(e as Error, timeoutMs / 1000)})`, null);
    }
    if ("heldBy" in claimed) return later(`held by ${claimed.heldBy}`);
    const claim = claimed.claim;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await claim.release();
    };

    try {
      // The run folder is the record: a trial already finished is reported, not trained again.
      const runId = findTrialRun(driveRoot, sweepId, trial);
      const runJson = runId ? readRunJson(driveRoot, runId) : null;
      if (runId && runJson && (runJson.status === "completed" || runJson.status === "failed")) {
        const metrics: Record<string, number> = {};
        if (isPlainObject(runJson.metrics)) for (const [k, v] of Object.entries(runJson.metrics)) if (typeof v === "number") metrics[k] = v;
        log(`[${label}] already ${runJson.status} in run ${runId}: nothing to train`);
        record(runJson.status === "completed" ? "completed" : "failed", runId, null);
        await release();
        return {
          runId,
          status: runJson.status,
          metrics,
          epochs: typeof runJson.epochsCompleted === "number" ? runJson.epochsCompleted : null,
          diagnosis: typeof runJson.diagnosis === "string" ? runJson.diagnosis : typeof runJson.error === "string" ? runJson.error : null,
          worker: me,
        };
      }
      if (runId && runJson?.status === "running") {
        const w = writerSchema.safeParse(runJson.writer);
        if (w.success && w.data.host === os.hostname() && w.data.pid !== process.pid && processAlive(w.data.pid)) {
          await release();
          return later(`run ${runId} is still being written by process ${w.data.pid} on this machine (a frozen or stopping trial)`);
        }
      }

      const resume = runId && runJson ? runId : undefined;
      const config = resume ? undefined : { ...trialConfig(sweepRecord.base, spec.params), runName: `${baseName(sweepRecord.base)}-${trial}` };
      if (!resume)
        for (const name of removeHalfMadeRuns(driveRoot, config!.runName))
          log(`[${label}] removed run folder ${name}: a stopped trial process left it without run.json, holding nothing`);
      const trialCwd = isDir(sweepRecord.cwd) ? sweepRecord.cwd : cwd;
      try {
        checkTrialCode(resume ? runJson!.config : config, { cwd: trialCwd, workerTrust, label: `trial ${label}`, resuming: !!resume });
      } catch (e) {
        await release();
        return fail(e as Error, runId);
      }
      if (stopping) {
        await release();
        return giveBack("this worker is stopping", runId);
      }

      const request: TrialRequest = {
        type: "run",
        config,
        resume,
        drive: driveRoot,
        cwd: trialCwd,
        sweep: { sweepId, sweepParams: spec.params, sweepTrial: trial },
        objective: sweepRecord.objective,
        configSource: `(sweep ${sweepId}, trial ${trial}, queued)`,
      };
      log(
        `[${label}] ${resume ? `resuming run ${resume}` : "started"}${trialCwd !== sweepRecord.cwd ? ` (the sweep's folder ${sweepRecord.cwd} is not on this machine; relative paths start at ${trialCwd})` : ""}`,
      );
      const progress: TrialJobProgress = { worker: me, runId: resume ?? null, phase: "starting", epoch: null, epochs: null, value: null, resumed: !!resume };
      let sending = false;
      let dirty = false;
      const pushProgress = () => {
        if (sending) return void (dirty = true);
        sending = true;
        void withTimeout(job.updateProgress({ ...progress }), 5000)
          .catch(() => undefined)
          .finally(() => {
            sending = false;
            if (dirty) {
              dirty = false;
              pushProgress();
            }
          });
      };
      pushProgress();

      // No queue URL (and so no password) reaches the training process or its run.json.
      const env = { ...process.env };
      delete env[QUEUE_ENV];
      const execArgv = process.execArgv.filter((a) => !/^--inspect/.test(a));
      const child = fork(workerPath(), [], { cwd: trialCwd, stdio: ["ignore", "pipe", "pipe", "ipc"], env, execArgv });
      active.set(jobId, { child, label });
      let fenced: string | null = null;
      claim.keep((why) => {
        fenced = why;
        log(`[${label}] gave up its claim (${why}): its training process is stopped at once; the trial resumes from its last checkpoint`);
        child.kill("SIGKILL");
      });
      let tail = "";
      const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
      child.stdout!.on("data", keep);
      child.stderr!.on("data", keep);
      let summary: Record<string, unknown> | undefined;
      let error: { name: string; message: string } | undefined;
      child.on("message", (m: TrialMessage) => {
        if (m.type === "run-id") {
          progress.runId = m.runId;
          pushProgress();
        } else if (m.type === "progress") {
          Object.assign(progress, { phase: m.phase, epoch: m.epoch, epochs: m.epochs, value: m.value ?? progress.value });
          pushProgress();
        } else if (m.type === "done") summary = m.summary;
        else if (m.type === "error") error = m;
      });
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on("exit", (code, signal) => resolve({ code, signal }));
        child.on("error", () => resolve({ code: null, signal: null }));
        child.send(request);
        // A stop that came while the process was starting.
        if (stopping) child.kill("SIGINT");
      });
      active.delete(jobId);
      claim.stop();
      const trainedRun = typeof summary?.runId === "string" ? summary.runId : progress.runId;

      if (fenced) {
        await release();
        return giveBack(`its claim was lost (${fenced})`, trainedRun);
      }
      if (summary && (summary.status === "completed" || summary.status === "failed")) {
        const metrics: Record<string, number> = {};
        if (isPlainObject(summary.metrics)) for (const [k, v] of Object.entries(summary.metrics)) if (typeof v === "number") metrics[k] = v;
        const diagnosis = summary.status === "failed" && typeof summary.diagnosis === "string" ? summary.diagnosis : null;
        const value = metrics[sweepRecord.objective];
        if (summary.status === "completed") log(`[${label}] completed: ${sweepRecord.objective} ${value ?? "n/a"} (run ${trainedRun})`);
        else log(`[${label}] FAILED: ${diagnosis ?? "unknown reason"} (run ${trainedRun})`);
        record(summary.status, trainedRun, diagnosis);
        await release();
        return { runId: trainedRun, status: summary.status, metrics, epochs: typeof summary.epochs === "number" ? summary.epochs : null, diagnosis, worker: me };
      }
      if (summary) {
        // Stopped after a step with a checkpoint (this worker is stopping): someone resumes it.
        await release();
        return giveBack(`stopped at epoch ${summary.epochs ?? "?"} with a checkpoint${stopping ? " (this worker is stopping)" : ""}`, trainedRun);
      }
      if (error) {
        await release();
        return fail(error, trainedRun);
      }
      await release();
      if (stopping) return giveBack("this worker is stopping", trainedRun);
      const why = `the trial's process ended (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`}) before reporting${tail.trim() ? `: ${tail.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
      log(`[${label}] ${why}; attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}`);
      record("error", trainedRun, why);
      throw new Error(why);
    } catch (e) {
      // DelayedError / WaitingError / UnrecoverableError pass through; anything else releases the claim first.
      if (!released && !(e instanceof DelayedError) && !(e instanceof WaitingError)) await release();
      throw e;
    }
  };

  const worker: Worker = new Worker(QUEUE_NAME, processor, {
    connection: redisOptions(target, { connectTimeout: timeoutMs, maxRetriesPerRequest: null }),
    concurrency,
    autorun: false,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: MAX_STALLS,
    // Come back to the queue every few seconds when idle, so a stop is noticed quickly.
    drainDelay: 5,
  });
  worker.on("error", onWorkerError);

  log(
    `worker ${me}: serving ${target.shown} (queue ${QUEUE_NAME}), Drive ${driveRoot}${isDir(driveRoot) ? "" : " (not there yet)"}, ${concurrency} trial(s) at a time, stall interval ${lockMs / 1000} s${workerTrust ? ", --trust" : ""}`,
  );
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log(active.size ? `stopping: ${active.size} trial(s) stop after their current step with a checkpoint and go back on the queue` : "stopping");
    for (const a of active.values()) a.child?.kill("SIGINT");
  };
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener("abort", stop);
  const running = worker.run();
  try {
    await new Promise<void>((resolve) => {
      if (stopping) resolve();
      opts.signal?.addEventListener("abort", () => resolve());
      void running.then(() => resolve());
    });
    // Waits for the trials being handed back; bounded, since a close can hang while Redis is away.
    await withTimeout(worker.close(), 60_000).catch(() => worker.close(true).catch(() => undefined));
    await withTimeout(running, 5000).catch(() => undefined);
  } finally {
    opts.signal?.removeEventListener("abort", stop);
    for (const a of active.values()) a.child?.kill("SIGKILL");
    claims.disconnect();
  }
  const count = (o: WorkerJobRecord["outcome"]) => jobs.filter((j) => j.outcome === o).length;
  return { worker: me, queue: target.shown, drive: driveRoot, status: "stopped", completed: count("completed"), failed: count("failed"), gaveBack: count("gave back"), jobs };
}
