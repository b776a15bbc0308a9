// `sweep --queue redis://...`: the trials go onto a BullMQ queue (one job per
// trial, id `<sweepId>--<trial>`) for `tscolab worker`s on any machine that
// shares the Drive, and this process follows them until every trial is done
// (or returns at once with --detach).
//
// sweep.json stays the record, written only by the process that follows (the
// workers write nothing but their run folders). Each poll reads the job's
// state and progress and each trial's run.json; a run.json that says
// completed or failed wins over anything the queue says. A job that is gone
// from the queue while its run is unfinished (Redis restarted without its
// data, the queue flushed) is queued again: its run resumes from its last
// checkpoint. While Redis is away the run folders alone are followed.
import path from "node:path";
import type { Job, Queue } from "bullmq";
import { TscolabError, UsageError } from "../../errors";
import { writeSweep, currentSweepWriter, type SweepRecord, type TrialRecord } from "../sweep_store";
import { findTrialRun, sweepResult, finishFromRunJson, paramsText, readRunJson, type SweepInput, type SweepProgress, type SweepResult } from "../sweep";
import { JOB_NAME, JOB_OPTIONS, QUEUE_NAME, trialJobId, trialJobProgress, trialJobResult, type TrialJobData } from "./jobs";
import { describeRedisError, parseRedisUrl, probeRedis, redisOptions, type RedisTarget } from "./redis_url";

export interface SweepQueue {
  target: RedisTarget;
  connectTimeoutMs: number;
}

/** Seconds → ms for --connect-timeout (default 10 s). */
export function connectTimeoutMs(seconds: number | undefined): number {
  if (seconds === undefined) return 10_000;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new UsageError(`--connect-timeout: expected seconds, more than 0 and at most 600, got ${seconds}`);
  return Math.round(seconds * 1000);
}

/** Checks --queue (and reaches Redis) before the sweep creates anything. */
export async function openSweepQueue(input: SweepInput): Promise<SweepQueue | undefined> {
  if (input.queue === undefined) {
    if (input.detach) throw new UsageError("--detach goes with --queue redis://HOST:PORT: it returns once the trials are queued for workers");
    return undefined;
  }
  const target = parseRedisUrl(input.queue);
  const ms = connectTimeoutMs(input.connectTimeout);
  await probeRedis(target, ms, "--queue");
  return { target, connectTimeoutMs: ms };
}

const POLL_MS = 500;
const isFinal = (t: TrialRecord) => t.status === "completed" || t.status === "failed";
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: "ETIMEDOUT" })), ms);
    }),
  ]);
}

export async function sweepOnQueue(s: {
  input: SweepInput;
  queue: SweepQueue;
  record: SweepRecord;
  sweepDir: string;
  driveRoot: string;
  notes: string[];
  log: (line: string) => void;
}): Promise<SweepResult> {
  const { input, record, sweepDir, driveRoot, notes, log } = s;
  const { target } = s.queue;
  const { Queue } = await import("bullmq");
  // Commands fail at once while Redis is away (no offline queue): the poll below then follows the run folders.
  const q: Queue = new Queue(QUEUE_NAME, {
    connection: redisOptions(target, { connectTimeout: s.queue.connectTimeoutMs, enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
  });
  let down: string | null = null;
  q.on("error", (e: Error) => {
    if (down) return;
    down = describeRedisError(e, s.queue.connectTimeoutMs / 1000);
    log(`the queue's Redis at ${target.shown} is unreachable (${down}): waiting for it; workers keep training, the run folders keep the record`);
  });

  const live = new Map<string, { phase: string | null; epoch: number | null; epochsPlanned: number | null }>();
  const emit = () =>
    input.onProgress?.({
      sweepId: record.sweepId,
      objective: record.objective,
      mode: record.mode,
      trials: record.trials.map((t) => ({ ...t, phase: null, epoch: null, epochsPlanned: null, ...live.get(t.name) })),
    } satisfies SweepProgress);
  let saving: Promise<void> = Promise.resolve();
  let saveError: unknown;
  const save = () => {
    saving = saving.then(() => writeSweep(sweepDir, record)).catch((e) => void (saveError ??= e));
    return saving;
  };

  const jobData = (t: TrialRecord): TrialJobData => ({ format: "tscolab-trial/1", sweepId: record.sweepId, trial: t.name });
  const enqueue = (t: TrialRecord) => q.add(JOB_NAME, jobData(t), { ...JOB_OPTIONS, jobId: trialJobId(record.sweepId, t.name) });
  const ended = (t: TrialRecord, worker: string | undefined) => {
    const on = worker ? ` on ${worker}` : "";
    if (t.status === "completed") log(`[${t.name}] completed${on}: ${record.objective} ${t.value ?? "n/a"} (run ${t.runId})`);
    else log(`[${t.name}] FAILED${on}: ${t.diagnosis ?? "unknown reason"} (run ${t.runId ?? "none"}); the sweep goes on`);
  };
  const runDuration = (j: Record<string, unknown>) => {
    const span = Date.parse(String(j.updatedAt)) - Date.parse(String(j.createdAt));
    return Number.isFinite(span) ? span : null;
  };
  /** run.json's word, when it says the trial is over. */
  const finishedRun = (t: TrialRecord): boolean => {
    if (!t.runId) return false;
    const j = readRunJson(driveRoot, t.runId);
    if (!j || (j.status !== "completed" && j.status !== "failed")) return false;
    finishFromRunJson(record, t, j);
    t.durationMs = runDuration(j);
    live.delete(t.name);
    return true;
  };

  try {
    // Resuming: a trial that failed before any run was made failed on a worker's setup (its Drive, a data file, the
    // code it may run), so once that is fixed it is worth another go; a run that failed is final, as in a local sweep.
    if (input.resume) {
      const retried = record.trials.filter((t) => t.status === "failed" && !t.runId);
      for (const t of retried) Object.assign(t, { status: "pending", diagnosis: null, value: null });
      if (retried.length) notes.push(`queued again: ${retried.map((t) => t.name).join(", ")}, which failed before a run was made (a worker's setup)`);
    }
    const todo = record.trials.filter((t) => !isFinal(t));
    try {
      await withTimeout(q.waitUntilReady(), s.queue.connectTimeoutMs);
      // sweep.json first: a worker that takes a job reads the trial's config from it.
      record.queue = { url: target.shown, name: QUEUE_NAME };
      record.status = "running";
      record.writer = currentSweepWriter();
      await writeSweep(sweepDir, record);
      // One job per trial: an existing live job is kept; a finished job of an unfinished trial (an earlier attempt) is replaced.
      for (const t of todo) {
        const job = await q.getJob(trialJobId(record.sweepId, t.name));
        if (job) {
          const state = await job.getState();
          if (state !== "completed" && state !== "failed" && state !== "unknown") continue;
          await job.remove().catch(() => undefined);
        }
        await enqueue(t);
        t.status = t.runId ? "interrupted" : "pending";
      }
    } catch (e) {
      const why = describeRedisError(e as Error, s.queue.connectTimeoutMs / 1000);
      throw new TscolabError(
        `the queue's Redis at ${target.shown} failed while queuing sweep ${record.sweepId}: ${why}`,
        `check Redis, then --resume ${record.sweepId} --queue ${target.shown}`,
      );
    }
    record.status = input.detach ? "queued" : "running";
    record.writer = input.detach ? null : currentSweepWriter();
    await writeSweep(sweepDir, record);

    const done = record.trials.length - todo.length;
    const kind = record.space.ablation ? "ablation" : record.space.random ? (Object.keys(record.space.grid).length ? "grid x random" : "random") : "grid";
    log(
      `sweep ${record.sweepId}: ${record.trials.length} trial(s) (${kind}), ${done ? `${done} already finished, ` : ""}${todo.length} on the queue ${target.shown} (${QUEUE_NAME}), objective ${record.objective} (${record.mode}); record ${path.join(sweepDir, "sweep.json")}`,
    );
    if (input.parallel) notes.push("--parallel does not apply to a queued sweep: each worker's --concurrency says how many trials it trains at once");
    const workerCommand = `tscolab worker --queue ${target.shown} --drive ${driveRoot}${target.password ? "   (with the queue's password in the URL or in $TSCOLAB_QUEUE)" : ""}`;
    if (todo.length) log(`workers take them: ${workerCommand}`);
    for (const n of notes) log(n);
    if (input.detach) {
      notes.push(`queued; follow it with: tscolab sweep --resume ${record.sweepId} --queue ${target.shown}`);
      return await result("queued");
    }
    emit();

    const lastState = new Map<string, string>();
    const workers = new Map<string, string>();
    const startedAt = Date.now();
    let waitingSaid = false;
    while (!record.trials.every(isFinal) && !input.signal?.aborted) {
      await sleep(POLL_MS, input.signal);
      if (input.signal?.aborted) break;
      const before = JSON.stringify(record.trials);
      try {
        await withTimeout(poll(), Math.max(3000, s.queue.connectTimeoutMs));
        if (down) {
          log(`the queue's Redis at ${target.shown} is back`);
          down = null;
        }
      } catch (e) {
        if (!down) {
          down = describeRedisError(e as Error, s.queue.connectTimeoutMs / 1000);
          log(`the queue's Redis at ${target.shown} is unreachable (${down}): waiting for it; workers keep training, the run folders keep the record`);
        }
        for (const t of record.trials) if (!isFinal(t) && finishedRun(t)) ended(t, undefined);
      }
      if (!waitingSaid && Date.now() - startedAt > 15_000 && ![...lastState.values()].some((st) => st === "active" || st === "completed" || st === "failed")) {
        waitingSaid = true;
        log(`no worker has taken a trial yet; start one on any machine that shares the Drive: ${workerCommand}`);
      }
      if (JSON.stringify(record.trials) !== before) {
        void save();
        emit();
      }
    }
    if (!record.trials.every(isFinal))
      notes.push(`stopped following; the trials stay on the queue. Follow again with: tscolab sweep --resume ${record.sweepId} --queue ${target.shown}`);
    return await result(record.trials.every(isFinal) ? "completed" : "queued");

    async function poll(): Promise<void> {
      for (const t of record.trials) {
        if (isFinal(t)) continue;
        const id = trialJobId(record.sweepId, t.name);
        const job: Job | undefined = await q.getJob(id);
        if (!job) {
          // Gone from the queue: the run folder says whether anything is left to do.
          t.runId ??= findTrialRun(driveRoot, record.sweepId, t.name);
          if (finishedRun(t)) {
            ended(t, undefined);
            continue;
          }
          await enqueue(t);
          log(`[${t.name}] was not on the queue any more (was the queue lost?): queued again${t.runId ? `; it resumes run ${t.runId} from its last checkpoint` : ""}`);
          t.status = t.runId ? "interrupted" : "pending";
          lastState.set(t.name, "waiting");
          continue;
        }
        const state = await job.getState();
        const progress = trialJobProgress.safeParse(job.progress).data;
        if (progress?.runId && progress.runId !== t.runId) t.runId = progress.runId;
        const previous = lastState.get(t.name);
        lastState.set(t.name, state);
        if (finishedRun(t)) {
          ended(t, progress?.worker);
          continue;
        }
        if (state === "completed") {
          const r = trialJobResult.safeParse(job.returnvalue).data;
          if (!r) continue;
          Object.assign(t, { runId: r.runId ?? t.runId, status: r.status, metrics: r.metrics, epochs: r.epochs, diagnosis: r.diagnosis });
          t.value = r.status === "completed" && typeof r.metrics[record.objective] === "number" ? r.metrics[record.objective]! : null;
          live.delete(t.name);
          ended(t, r.worker);
        } else if (state === "failed") {
          t.status = "failed";
          t.value = null;
          t.diagnosis = job.failedReason || "the job failed without a reason";
          live.delete(t.name);
          ended(t, progress?.worker);
        } else if (state === "active") {
          // A new worker on it (taken from the queue, or handed over after its worker was lost without the job being seen waiting).
          if (progress && (previous !== "active" || progress.worker !== workers.get(t.name))) {
            const from = previous === "active" && workers.get(t.name) ? ` (handed over from ${workers.get(t.name)})` : "";
            log(`[${t.name}] ${progress.resumed ? `resuming run ${progress.runId}` : "started"} on ${progress.worker}${from}: ${paramsText(t.params)}`);
            workers.set(t.name, progress.worker);
          }
          t.status = "running";
          live.set(t.name, { phase: progress?.phase ?? "starting", epoch: progress?.epoch ?? null, epochsPlanned: progress?.epochs ?? null });
        } else {
          if (previous === "active") log(`[${t.name}] back on the queue (its worker stopped or was lost)${t.runId ? `: it resumes run ${t.runId} from its last checkpoint` : ""}`);
          workers.delete(t.name);
          t.status = t.runId ? "interrupted" : "pending";
          live.set(t.name, { phase: "queued", epoch: null, epochsPlanned: null });
        }
      }
    }
  } finally {
    await withTimeout(q.close(), 5000).catch(() => undefined);
  }

  async function result(status: SweepResult["status"]): Promise<SweepResult> {
    record.status = status === "stopped" ? "stopped" : status;
    record.writer = null;
    await save();
    if (saveError) throw saveError;
    emit();
    const r = sweepResult(record, sweepDir, status, notes);
    const { completed, failed } = r;
    log(
      `sweep ${record.sweepId} ${status}: ${completed} completed, ${failed} failed` +
        (record.trials.length - completed - failed ? `, ${record.trials.length - completed - failed} on the queue` : "") +
        (r.best ? `; best ${r.best.trial} (${paramsText(r.best.params)}): ${record.objective} ${r.best.value} (run ${r.best.runId})` : ""),
    );
    return r;
  }
}
