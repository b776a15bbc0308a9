// sweep(): many ordinary runs over a space of settings. Each trial is a
// train() run in its own child process (trial_worker), `parallel` at a time;
// its run.json carries sweepId, sweepParams and sweepTrial. sweep.json is
// rewritten atomically at every change, so a sweep killed at any moment and
// resumed runs only what is missing and continues interrupted trials from
// their checkpoints (the train engine's resume): each trial ends as it would
// have run alone.
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { resolveDriveRoot, runsDir } from "../store/drive_root";
import { RUN_JSON } from "../store/runs";
import { TscolabError, UsageError } from "../errors";
import { closest } from "../util/closest";
import { processAlive } from "../util/process_alive";
import { parseTrainConfig } from "../train/config";
import { lowerIsBetter } from "./compare";
import { isPlainObject, parseLiteral, setDotted } from "./dotted";
import { checkConfigKey, expandTrials, parseAblation, parseGrid, parseSpace, trialConfig, validateTrials, type SweepSpace } from "./space";
import { assertSweepNotRunning, createSweepDir, currentSweepWriter, openSweep, writeSweep, type SweepRecord, type TrialRecord } from "./sweep_store";
import type { TrialMessage, TrialRequest } from "./trial_worker";
import { compiledScript } from "../util/compiled_script";

type Obj = Record<string, unknown>;

export const OBJECTIVES = ["val_loss", "val_accuracy", "val_mse", "val_mae", "val_pearson"] as const;

export interface SweepInput {
  /** The base train config, or the path of its JSON file. */
  config?: Obj | string;
  /** `KEY=VALUE` settings applied to the base config first (`epochs=5`, `model.dropout=0.1`). */
  set?: string[];
  /** `KEY=V1,V2,...` texts, or key → values. */
  grid?: string[] | Record<string, unknown[]>;
  /** Random trials (per grid point), drawn from `space` with the base config's seed. */
  random?: number;
  /** `KEY=DIST` texts, or key → DIST text (`loguniform(1e-4,1e-1)`, `uniform(a,b)`, `int(a,b)`, `choice(a|b)`). */
  space?: string[] | Record<string, string>;
  /** An ablation: `KEY` or `KEY=OFF` per option to switch off; `[]` with the ablation preset picks them from the base. */
  ablate?: string[];
  /** Metric the trials are ranked by (default: the base's earlyStopping.monitor, else val_loss). */
  objective?: string;
  /** Trials run at once, each in its own process (default 1). */
  parallel?: number;
  /** Sweep id, folder or `last`: run what is missing, resume interrupted trials. */
  resume?: string;
  /** `redis://HOST:PORT`: put the trials on this BullMQ queue for `tscolab worker`s instead of running them here. */
  queue?: string;
  /** With `queue`: return once the trials are queued instead of following them. */
  detach?: boolean;
  /** With `queue`: seconds to wait for Redis before giving up (default 10). */
  connectTimeout?: number;
  drive?: string;
  cwd?: string;
  signal?: AbortSignal;
  onProgress?: (p: SweepProgress) => void;
  /** One line per event worth a log line (sweep start, trial start/end, sweep end). */
  onLog?: (line: string) => void;
}

/** A trial as the live display shows it. */
export interface TrialView extends TrialRecord {
  phase: string | null;
  epoch: number | null;
  epochsPlanned: number | null;
}

export interface SweepProgress {
  sweepId: string;
  objective: string;
  mode: "min" | "max";
  trials: TrialView[];
}

export interface SweepResult {
  sweepId: string;
  sweepDir: string;
  /** "completed": every trial completed or failed; "stopped": interrupted, resume with --resume; "queued": on a queue, nobody following. */
  status: "completed" | "stopped" | "queued";
  objective: string;
  mode: "min" | "max";
  space: SweepSpace;
  trials: TrialRecord[];
  best: { runId: string; trial: string; params: Record<string, unknown>; value: number } | null;
  completed: number;
  failed: number;
  notes: string[];
}

/** The base config: a copy of the object given, or the JSON file at `config` (relative to `cwd`). */
export function readSweepBase(config: SweepInput["config"], cwd: string): Obj {
  if (config === undefined) throw new UsageError("--config: a sweep needs a base train config (a JSON file, or the %%sweep cell body)");
  if (typeof config !== "string") return structuredClone(config);
  const file = path.resolve(cwd, config);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TscolabError(`config file ${file} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`, "pass --config with the path of a JSON train config");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TscolabError(`config file ${file} is not valid JSON: ${(e as Error).message}`, "write the base config as one JSON object");
  }
  if (!isPlainObject(value))
    throw new TscolabError(`config file ${file} must hold a JSON object`, 'wrap the settings in { ... }, e.g. { "data": { "train": { "builtin": "iris" } } }');
  return value;
}

const asTexts = (v: string[] | Record<string, unknown> | undefined, join: (k: string, x: unknown) => string): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : Object.entries(v).map(([k, x]) => join(k, x));

/** Base config + flags → the space, with every bad input refused before anything runs. */
function buildSpace(input: SweepInput, base: Obj): SweepSpace {
  const gridTexts = asTexts(input.grid, (k, vs) => `${k}=${(vs as unknown[]).map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(",")}`);
  const spaceTexts = asTexts(input.space, (k, d) => `${k}=${d}`);
  const ablate = input.ablate ?? [];
  // The ablation preset with nothing else to sweep is an ablation of every option the base switches on.
  const ablationPreset = base.preset === "ablation" && !gridTexts.length && !spaceTexts.length && !input.random;
  if (ablate.length || ablationPreset) {
    if (gridTexts.length || spaceTexts.length || input.random)
      throw new UsageError("--ablate runs on its own (the base, then one trial per option switched off); sweep a grid or random space in another sweep");
    return { grid: {}, random: null, ablation: parseAblation(ablate, base) };
  }
  const grid = parseGrid(gridTexts);
  const space = parseSpace(spaceTexts);
  if (input.random !== undefined && (!Number.isInteger(input.random) || input.random < 1)) throw new UsageError(`--random: expected a whole number >= 1, got ${input.random}`);
  if (input.random && !Object.keys(space).length)
    throw new UsageError("--random N needs at least one --space KEY=DIST to draw from, e.g. --space learningRate=loguniform(1e-4,1e-1)");
  if (Object.keys(space).length && !input.random) throw new UsageError("--space needs --random N: how many trials to draw");
  for (const k of Object.keys(space)) if (k in grid) throw new UsageError(`${k} is in both --grid and --space; give it one or the other`);
  if (!Object.keys(grid).length && !input.random) throw new UsageError("nothing to sweep: give --grid KEY=V1,V2,..., --random N with --space KEY=DIST, or --ablate KEY");
  return { grid, random: input.random ? { n: input.random, space } : null, ablation: null };
}

function objectiveOf(input: SweepInput, base: Obj): { objective: string; mode: "min" | "max" } {
  const monitor =
    isPlainObject(base.earlyStopping) && typeof base.earlyStopping.monitor === "string" && base.earlyStopping.monitor.startsWith("val_") ? base.earlyStopping.monitor : "val_loss";
  const objective = input.objective ?? monitor;
  if (!(OBJECTIVES as readonly string[]).includes(objective)) {
    const guess = closest(objective, [...OBJECTIVES]);
    throw new UsageError(`--objective ${JSON.stringify(objective)}: not a validation metric${guess ? ` (did you mean ${guess}?)` : ""}; allowed: ${OBJECTIVES.join(", ")}`);
  }
  return { objective, mode: lowerIsBetter(objective) ? "min" : "max" };
}

/** The compiled trial worker (sweeps run from dist/ or, under tests, from sources beside a built dist/). */
export function workerPath(): string {
  const script = compiledScript(__dirname, "engine/experiments/trial_worker.js");
  if (script) return script;
  throw new TscolabError("the sweep's trial worker (dist/engine/experiments/trial_worker.js) is not built", "run npm run build in the tscolab package");
}

export const baseName = (base: Obj): string => {
  if (typeof base.runName === "string" && base.runName) return base.runName;
  const train = isPlainObject(base.data) ? base.data.train : undefined;
  if (typeof train === "string") return train.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  if (isPlainObject(train) && typeof train.builtin === "string") return train.builtin;
  return "sweep";
};

export const paramsText = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ") || "(base)";

export function readRunJson(driveRoot: string, runId: string): Obj | null {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(runsDir(driveRoot), runId, RUN_JSON), "utf8"));
    return isPlainObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** A trial's run that was created but never recorded in sweep.json (the sweep died in between). */
export function findTrialRun(driveRoot: string, sweepId: string, trial: string): string | null {
  let names: string[];
  try {
    names = fs
      .readdirSync(runsDir(driveRoot))
      .filter((n) => !n.startsWith("."))
      .sort()
      .reverse();
  } catch {
    return null;
  }
  for (const n of names) {
    const j = readRunJson(driveRoot, n);
    if (j && j.sweepId === sweepId && j.sweepTrial === trial) return n;
  }
  return null;
}

/** Takes what the trial's run.json says happened (the run folder is the record). */
export function reconcile(driveRoot: string, record: SweepRecord, t: TrialRecord): void {
  if (t.status === "completed" || t.status === "failed") return;
  if (!t.runId) t.runId = findTrialRun(driveRoot, record.sweepId, t.name);
  if (!t.runId) {
    t.status = "pending";
    return;
  }
  const j = readRunJson(driveRoot, t.runId);
  if (!j) {
    // Killed between creating the folder and writing its run.json: that folder is left as it is, and the trial starts over.
    t.runId = null;
    t.status = "pending";
    return;
  }
  if (j.status === "completed" || j.status === "failed") {
    finishFromRunJson(record, t, j);
    return;
  }
  t.status = "interrupted";
}

export function finishFromRunJson(record: SweepRecord, t: TrialRecord, j: Obj): void {
  const metrics: Record<string, number> = {};
  if (isPlainObject(j.metrics)) for (const [k, v] of Object.entries(j.metrics)) if (typeof v === "number") metrics[k] = v;
  t.status = j.status === "completed" ? "completed" : j.status === "failed" ? "failed" : "interrupted";
  t.metrics = metrics;
  t.value = typeof metrics[record.objective] === "number" ? metrics[record.objective]! : null;
  t.epochs = typeof j.epochsCompleted === "number" ? j.epochsCompleted : t.epochs;
  t.diagnosis = t.status === "completed" ? null : typeof j.diagnosis === "string" ? j.diagnosis : typeof j.error === "string" ? j.error : null;
}

/** Waits (up to a minute) for a process left over from a killed sweep that is still stopping the trial's run. */
async function waitForOldWriter(driveRoot: string, runId: string, log: (l: string) => void): Promise<void> {
  const writer = (readRunJson(driveRoot, runId)?.writer ?? null) as { pid?: number; host?: string } | null;
  if (!writer?.pid || writer.host !== os.hostname() || writer.pid === process.pid || !processAlive(writer.pid)) return;
  log(`waiting for process ${writer.pid}, left over from the killed sweep, to stop run ${runId}`);
  const end = Date.now() + 60_000;
  while (processAlive(writer.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

export function bestTrial(trials: TrialRecord[], mode: "min" | "max"): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials) {
    if (t.status !== "completed" || t.value === null || !Number.isFinite(t.value) || !t.runId) continue;
    if (!best || (mode === "min" ? t.value < best.value! : t.value > best.value!)) best = t;
  }
  return best;
}

export async function sweep(input: SweepInput): Promise<SweepResult> {
  const cwd = input.cwd ?? process.cwd();
  const driveRoot = resolveDriveRoot(input.drive, cwd);
  const log = input.onLog ?? (() => undefined);
  const notes: string[] = [];
  if (input.parallel !== undefined && (!Number.isInteger(input.parallel) || input.parallel < 1 || input.parallel > 64))
    throw new UsageError(`--parallel: expected a whole number from 1 to 64, got ${input.parallel}`);
  // A queue is checked (and Redis reached) before anything is created.
  const onQueue = input.queue !== undefined || input.detach ? await (await import("./queue/follow")).openSweepQueue(input) : undefined;

  let record: SweepRecord;
  let sweepDir: string;
  if (input.resume) {
    ({ sweepDir, record } = openSweep(driveRoot, input.resume, cwd));
    assertSweepNotRunning(record);
    const ignored = (["config", "set", "grid", "random", "space", "ablate", "objective"] as const).filter(
      (k) => input[k] !== undefined && !(Array.isArray(input[k]) && (input[k] as unknown[]).length === 0),
    );
    if (ignored.length) notes.push(`resuming uses the sweep's stored base config, space and objective; ignored: ${ignored.map((k) => `--${k}`).join(", ")}`);
    if (input.parallel) record.parallel = input.parallel;
  } else {
    const base = readSweepBase(input.config, cwd);
    delete base.drive;
    for (const text of input.set ?? []) {
      const eq = text.indexOf("=");
      if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(text)}: expected KEY=VALUE (e.g. epochs=5, model.dropout=0.1)`);
      const key = text.slice(0, eq).trim();
      if (key !== "runName") checkConfigKey(key, "--set");
      setDotted(base, key, parseLiteral(text.slice(eq + 1)));
    }
    parseTrainConfig(base, typeof input.config === "string" ? `in ${input.config}` : "(sweep base config)");
    const space = buildSpace(input, base);
    const { objective, mode } = objectiveOf(input, base);
    const specs = expandTrials(space, typeof base.seed === "number" ? base.seed : 42);
    validateTrials(base, specs);
    const created = await createSweepDir(driveRoot, `${baseName(base)}-sweep`);
    sweepDir = created.sweepDir;
    const now = new Date().toISOString();
    record = {
      format: "tscolab-sweep/1",
      sweepId: created.sweepId,
      createdAt: now,
      updatedAt: now,
      status: "running",
      base,
      space,
      objective,
      mode,
      parallel: input.parallel ?? 1,
      cwd,
      trials: specs.map((s) => ({ name: s.name, params: s.params, runId: null, status: "pending", metrics: {}, value: null, epochs: null, diagnosis: null, durationMs: null })),
      writer: null,
    };
  }
  for (const t of record.trials) reconcile(driveRoot, record, t);
  if (onQueue) return (await import("./queue/follow")).sweepOnQueue({ input, queue: onQueue, record, sweepDir, driveRoot, notes, log });
  if (record.queue && record.trials.some((t) => t.status !== "completed" && t.status !== "failed"))
    throw new TscolabError(
      `sweep ${record.sweepId} runs on the queue ${record.queue.url}`,
      `follow it with --resume ${record.sweepId} --queue ${record.queue.url} (with the password, if it has one)`,
    );
  record.status = "running";
  record.writer = currentSweepWriter();
  await writeSweep(sweepDir, record);

  // Saves are chained so sweep.json is written by one writer at a time, in order.
  let saving: Promise<void> = Promise.resolve();
  let saveError: unknown;
  const save = () => {
    saving = saving.then(() => writeSweep(sweepDir, record)).catch((e) => void (saveError ??= e));
    return saving;
  };
  const live = new Map<string, { phase: string | null; epoch: number | null; epochsPlanned: number | null }>();
  const emit = () =>
    input.onProgress?.({
      sweepId: record.sweepId,
      objective: record.objective,
      mode: record.mode,
      trials: record.trials.map((t) => ({ ...t, phase: null, epoch: null, epochsPlanned: null, ...live.get(t.name) })),
    });

  const todo = record.trials.filter((t) => t.status === "pending" || t.status === "interrupted" || t.status === "running");
  const done = record.trials.length - todo.length;
  const kind = record.space.ablation ? "ablation" : record.space.random ? (Object.keys(record.space.grid).length ? "grid x random" : "random") : "grid";
  log(
    `sweep ${record.sweepId}: ${record.trials.length} trial(s) (${kind}), ${done ? `${done} already finished, ` : ""}${record.parallel} at a time, objective ${record.objective} (${record.mode}); record ${path.join(sweepDir, "sweep.json")}`,
  );
  for (const n of notes) log(n);
  emit();

  const worker = todo.length ? workerPath() : "";
  const children = new Set<ChildProcess>();
  const onAbort = () => {
    for (const c of children) c.kill("SIGINT");
  };
  input.signal?.addEventListener("abort", onAbort);

  const runOne = async (t: TrialRecord): Promise<void> => {
    const resume = t.status === "interrupted" && t.runId ? t.runId : undefined;
    if (resume) await waitForOldWriter(driveRoot, resume, log);
    const t0 = Date.now();
    const earlier = resume ? (t.durationMs ?? 0) : 0;
    t.status = "running";
    t.diagnosis = null;
    live.set(t.name, { phase: "starting", epoch: null, epochsPlanned: null });
    log(`[${t.name}] ${resume ? `resuming run ${resume}` : "started"}: ${paramsText(t.params)}`);
    await save();
    emit();
    const request: TrialRequest = {
      type: "run",
      config: resume ? undefined : { ...trialConfig(record.base, t.params), runName: `${baseName(record.base)}-${t.name}` },
      resume,
      drive: driveRoot,
      cwd: record.cwd,
      sweep: { sweepId: record.sweepId, sweepParams: t.params, sweepTrial: t.name },
      objective: record.objective,
      configSource: `(sweep ${record.sweepId}, trial ${t.name}: ${paramsText(t.params)})`,
    };
    // Node flags are inherited (memory limits), but not a debugger port that every trial would fight over.
    const execArgv = process.execArgv.filter((a) => !/^--inspect/.test(a));
    const child = fork(worker, [], { cwd: record.cwd, stdio: ["ignore", "pipe", "pipe", "ipc"], env: process.env, execArgv });
    children.add(child);
    let tail = "";
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    let summary: Obj | undefined;
    let error: { name: string; message: string } | undefined;
    child.on("message", (m: TrialMessage) => {
      if (m.type === "run-id" && m.runId !== t.runId) {
        t.runId = m.runId;
        void save();
      } else if (m.type === "progress") (live.set(t.name, { phase: m.phase, epoch: m.epoch, epochsPlanned: m.epochs }), (t.value = m.value ?? t.value));
      else if (m.type === "done") summary = m.summary;
      else if (m.type === "error") error = m;
      emit();
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on("exit", (code, signal) => resolve({ code, signal }));
      child.on("error", () => resolve({ code: null, signal: null }));
      child.send(request);
    });
    children.delete(child);
    t.durationMs = earlier + (Date.now() - t0);
    live.delete(t.name);
    if (summary) {
      const status = summary.status;
      const metrics: Record<string, number> = {};
      if (isPlainObject(summary.metrics)) for (const [k, v] of Object.entries(summary.metrics)) if (typeof v === "number") metrics[k] = v;
      t.runId = typeof summary.runId === "string" ? summary.runId : t.runId;
      t.metrics = metrics;
      t.epochs = typeof summary.epochs === "number" ? summary.epochs : null;
      t.status = status === "completed" ? "completed" : status === "failed" ? "failed" : "interrupted";
      t.value = typeof metrics[record.objective] === "number" ? metrics[record.objective]! : null;
      t.diagnosis = t.status !== "completed" && typeof summary.diagnosis === "string" ? summary.diagnosis : null;
    } else if (error) {
      t.status = "failed";
      t.diagnosis = `${error.name}: ${error.message}`;
    } else {
      t.status = "interrupted";
      t.diagnosis = `the trial's process ended (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`}) before reporting${tail.trim() ? `: ${tail.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
    }
    if (t.status !== "completed") t.value = t.status === "interrupted" ? t.value : null;
    const secs = (t.durationMs / 1000).toFixed(1);
    if (t.status === "completed") log(`[${t.name}] completed in ${secs} s: ${record.objective} ${t.value ?? "n/a"} (run ${t.runId})`);
    else if (t.status === "failed") log(`[${t.name}] FAILED in ${secs} s: ${t.diagnosis ?? "unknown reason"} (run ${t.runId ?? "none"}); the sweep goes on`);
    else log(`[${t.name}] interrupted after ${secs} s (run ${t.runId ?? "none"}): resume with --resume ${record.sweepId}`);
    await save();
    emit();
  };

  const queue = [...todo];
  const lanes = Array.from({ length: Math.min(record.parallel, queue.length) }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      if (input.signal?.aborted) {
        if (t.status === "running") t.status = t.runId ? "interrupted" : "pending";
        continue;
      }
      await runOne(t);
    }
  });
  try {
    await Promise.all(lanes);
  } finally {
    input.signal?.removeEventListener("abort", onAbort);
    for (const c of children) c.kill("SIGINT");
  }

  const { completed, failed } = trialCounts(record);
  record.status = completed + failed === record.trials.length ? "completed" : "stopped";
  record.writer = null;
  await save();
  if (saveError) throw saveError;
  const result = sweepResult(record, sweepDir, record.status as SweepResult["status"], notes);
  log(
    `sweep ${record.sweepId} ${result.status}: ${completed} completed, ${failed} failed${record.trials.length - completed - failed ? `, ${record.trials.length - completed - failed} not finished (resume with --resume ${record.sweepId})` : ""}` +
      (result.best ? `; best ${result.best.trial} (${paramsText(result.best.params)}): ${record.objective} ${result.best.value} (run ${result.best.runId})` : ""),
  );
  return result;
}

/** How many of the sweep's trials completed and how many failed. */
export function trialCounts(record: SweepRecord): { completed: number; failed: number } {
  return { completed: record.trials.filter((t) => t.status === "completed").length, failed: record.trials.filter((t) => t.status === "failed").length };
}

/** The result a sweep returns, from its record: every trial, the counts and the best trial by the objective. */
export function sweepResult(record: SweepRecord, sweepDir: string, status: SweepResult["status"], notes: string[]): SweepResult {
  const best = bestTrial(record.trials, record.mode);
  return {
    sweepId: record.sweepId,
    sweepDir,
    status,
    objective: record.objective,
    mode: record.mode,
    space: record.space,
    trials: record.trials,
    best: best ? { runId: best.runId!, trial: best.name, params: best.params, value: best.value! } : null,
    ...trialCounts(record),
    notes,
  };
}
