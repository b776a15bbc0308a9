// K-fold training: `"folds": K` in a train config. One parent run holds the
// record; each fold is an ordinary run (tiers, checkpoints, resume) whose
// config selects its rows with `data.fold` (every fold but one trains, that
// one validates), tagged in its run.json with `foldOf` and `fold`. Once every
// fold has completed, each fold model (from its final checkpoint) predicts
// the rows it never trained on: oof.jsonl in the parent's folder holds one
// line per training row, and the out-of-fold metrics stand beside the mean
// and spread of the folds' own validation metrics. With `data.valid`, those
// rows are a test set that the average of the K fold models predicts
// (test.jsonl).
//
// Tiers 1 and 2 check the model and the config, which every fold shares:
// they run with fold 1, and later folds run tier 3 only (tier 3 does not
// depend on them, see tiers.ts). Folds run one after another in this process;
// a parent interrupted or killed at any moment resumes with only the folds
// that did not complete, each from its own checkpoints.
import * as tf from "@tensorflow/tfjs";
import fs from "node:fs";
import path from "node:path";
import { ensureBackend } from "../backend";
import type { ProfileName } from "../backend/profile";
import { loadDataset } from "../data/dataset";
import type { DatasetInfo } from "../data/schema";
import { TscolabError, UsageError } from "../errors";
import { createRun, loadLatestCheckpoint, loadModelFromFiles, openRun, RUN_JSON, updateRunJson } from "../store";
import { resolveDriveRoot } from "../store/drive_root";
import { localDriveRoot, readableRunDir, resolveLocalRoot } from "../store/local_root";
import { writeFileAtomic } from "../store/durable_fs";
import { assertNoOtherWriter, currentWriter } from "../store/writer";
import { resolveConfig, resolvedConfig, type ResolvedConfig } from "../train/config";
import { higherIsBetter } from "../train/metrics";
import type { TrainSummary } from "../train/summary";
import type { TierResult } from "../train/tiers";
import { mirrorFlushMs, TrainResult, train, type TrainOptions } from "../train/train";
import { syncLocalCopy } from "../store/drive";
import { checkFoldCount } from "./assign";
import { argMax, float32Value, metricsOf, predictSplit, spread } from "./predictions";
import { foldCount, foldsRecord, type FoldEntry, type FoldsRecord, type FoldsReport } from "./record";
import { FOLDS_KIND, findFoldRun, type FoldsRequest } from "./request";

export const OOF_FILE = "oof.jsonl";
export const TEST_FILE = "test.jsonl";

type Obj = Record<string, unknown>;

export interface FoldsOptions extends TrainOptions {
  /** Seed of the fold assignment; default: the config's seed (a pipeline gives every stage its own). */
  foldSeed?: number;
  /** More fields for the parent's run.json (a pipeline's id and stage). */
  runFields?: Obj;
  /** A fold starts or ends. */
  onFold?: (e: { fold: number; folds: number; runId: string | null; status: FoldEntry["status"]; parentRunId: string }) => void;
}

const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function readRunJson(runDir: string): Obj | null {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(runDir, RUN_JSON), "utf8"));
    return isObj(j) ? j : null;
  } catch {
    return null;
  }
}

const numbers = (v: unknown): Record<string, number> => (isObj(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === "number")) : {});

/** The config of fold `fold`: the parent's config with its rows selected, its own name, tier 3 only after fold 1. */
export function foldConfig(record: FoldsRecord, runName: string, fold: number): Obj {
  const { folds: _folds, ...input } = record.input;
  const tier = input.tier === undefined ? "all" : String(input.tier);
  const data = { ...(input.data as Obj), fold: { of: record.k, holdOut: fold, seed: record.seed } };
  return { ...input, runName: `${runName}-fold${fold}`, tier: fold > 1 && tier === "all" ? "3" : tier, data };
}

/**
 * Where the fold runs are read: each on the Drive, or in this machine's local copy while one is left (a local-first
 * fold whose mirror has not finished: the Drive was away, or the process died first).
 */
interface FoldPlaces {
  driveRoot: string;
  /** The local stand-in of the Drive root, or null when fold runs write to the Drive directly. */
  localBase: string | null;
  dirOf(runId: string): string;
}

function foldPlaces(driveRoot: string, config: ResolvedConfig, cwd: string): FoldPlaces {
  const localRoot = resolveLocalRoot(config.checkpoint.local, cwd);
  return { driveRoot, localBase: localRoot ? localDriveRoot(localRoot, driveRoot) : null, dirOf: (runId) => readableRunDir(driveRoot, runId, localRoot) };
}

/**
 * A finished fold whose local copy is still here (its process ended before the Drive had all of it) is resumed by
 * nobody: copy it to the Drive now, a bounded wait, so the Drive ends with every fold. A Drive still away leaves it
 * local, read from there, and copied by a later resume or sync.
 */
async function syncFinishedFolds(places: FoldPlaces, record: FoldsRecord): Promise<void> {
  for (const entry of record.runs) {
    if (!entry.runId || (entry.status !== "completed" && entry.status !== "failed")) continue;
    const dir = places.dirOf(entry.runId);
    if (!places.localBase || !dir.startsWith(places.localBase + path.sep)) continue;
    await syncLocalCopy(places.driveRoot, entry.runId, dir, mirrorFlushMs());
  }
}

/** Takes what a fold's run.json says happened (the run folders are the record). */
function reconcile(places: FoldPlaces, parentRunId: string, entry: FoldEntry): void {
  if (entry.status === "completed" || entry.status === "failed") return;
  // Started but not recorded: the parent died between creating the fold's run and saving its id.
  if (entry.status !== "pending") entry.runId ??= findFoldRun(places.driveRoot, parentRunId, entry.fold, places.localBase);
  const j = entry.runId ? readRunJson(places.dirOf(entry.runId)) : null;
  if (!j) {
    // Never started, or killed before its run.json existed: the fold starts over.
    entry.runId = null;
    entry.status = "pending";
    return;
  }
  // A tier that failed ends the fold; an error (a full disk) leaves it resumable from its checkpoints.
  if (j.status === "completed" || (j.status === "failed" && typeof j.error !== "string")) {
    entry.status = j.status;
    entry.metrics = numbers(j.metrics);
    entry.epochs = typeof j.epochsCompleted === "number" ? j.epochsCompleted : entry.epochs;
    entry.diagnosis = j.status === "failed" ? String(j.diagnosis ?? j.error ?? "failed") : null;
  } else entry.status = "stopped";
}

interface Gathered {
  oof: NonNullable<FoldsReport["oof"]>;
  test: FoldsReport["test"];
  best: { fold: number; model: tf.LayersModel } | null;
}

/**
 * Each completed fold's final model predicts its held-out rows (and the test
 * rows); writes oof.jsonl and test.jsonl into the parent's folder.
 */
async function gatherPredictions(parentDir: string, places: FoldPlaces, record: FoldsRecord, monitor: string): Promise<Gathered> {
  let n = 0;
  let info: DatasetInfo | null = null;
  let width = 1;
  const oofFold: number[] = [];
  let oofOut: Float32Array | null = null;
  let oofY: Float32Array | null = null;
  let testSum: Float64Array | null = null;
  let testY: Float32Array | null = null;
  let best: Gathered["best"] = null;
  let bestValue = NaN;
  for (const entry of record.runs) {
    const runDir = places.dirOf(entry.runId!);
    const j = readRunJson(runDir);
    const stored = resolvedConfig.safeParse(j?.config);
    if (!j || !stored.success)
      throw new TscolabError(`fold ${entry.fold}'s run ${entry.runId} has no readable run.json`, `resume the folds run, or delete ${runDir} to train that fold again`);
    const { checkpoint } = await loadLatestCheckpoint(runDir);
    const steps = isObj(j.tiers) && isObj(j.tiers["3"]) && isObj(j.tiers["3"].details) ? j.tiers["3"].details.steps : undefined;
    if (!checkpoint || checkpoint.epoch !== j.epochsCompleted || (typeof steps === "number" && checkpoint.step !== steps))
      throw new TscolabError(
        `fold ${entry.fold}'s run ${entry.runId} has no valid checkpoint of its final weights`,
        `delete ${runDir} and resume the folds run: that fold trains again`,
      );
    const model = await loadModelFromFiles(checkpoint.files, tf);
    const cfg = stored.data;
    const ds = await loadDataset(cfg.data, { task: cfg.task ?? undefined, seed: cfg.seed, cwd: record.cwd });
    if (!ds.rows) throw new Error(`internal error: fold ${entry.fold}'s data has no fold selection`);
    if (!info) {
      info = ds.info;
      n = ds.rows.train.length + ds.rows.valid.length;
      width = ds.info.task === "classification" ? ds.outputs : 1;
      oofOut = new Float32Array(n * width);
      oofY = new Float32Array(n);
    }
    const out = predictSplit(tf, model, ds.valid, ds.info.inputShape, ds.info.task);
    ds.rows.valid.forEach((row, i) => {
      oofOut!.set(out.subarray(i * width, (i + 1) * width), row * width);
      oofY![row] = ds.valid.y[i]!;
      oofFold[row] = entry.fold;
    });
    if (ds.test) {
      const t = predictSplit(tf, model, ds.test, ds.info.inputShape, ds.info.task);
      testSum ??= new Float64Array(t.length);
      testY ??= ds.test.y;
      t.forEach((v, i) => (testSum![i] += v));
    }
    const value = entry.metrics[monitor];
    const better = best === null || (typeof value === "number" && (Number.isNaN(bestValue) || (higherIsBetter(monitor) ? value > bestValue : value < bestValue)));
    if (better) {
      best?.model.dispose();
      best = { fold: entry.fold, model };
      bestValue = typeof value === "number" ? value : NaN;
    } else model.dispose();
  }
  const task = info!.task;
  const labels = info!.labels;
  const lines: string[] = [];
  const line = (row: number, y: number, outputs: ArrayLike<number>, at: number, extra: Obj) => {
    if (task === "regression") return JSON.stringify({ row, ...extra, label: float32Value(y), prediction: float32Value(outputs[at]!) });
    const probabilities: Record<string, number> = {};
    labels!.forEach((name, c) => (probabilities[name] = float32Value(outputs[at + c]!)));
    return JSON.stringify({ row, ...extra, label: labels![y], prediction: labels![argMax(outputs, at, width)], probabilities });
  };
  for (let row = 0; row < n; row++) {
    if (oofFold[row] === undefined) throw new Error(`internal error: row ${row} is in no held-out fold`);
    lines.push(line(row, oofY![row]!, oofOut!, row * width, { fold: oofFold[row] }));
  }
  await writeFileAtomic(path.join(parentDir, OOF_FILE), lines.join("\n") + "\n");
  const oof = { file: path.join(parentDir, OOF_FILE), rows: n, metrics: metricsOf(task, oofOut!, oofY!, width) };
  let test: Gathered["test"] = null;
  if (testSum && testY) {
    const mean = Float64Array.from(testSum, (v) => v / record.runs.length);
    const testLines = Array.from(testY, (y, row) => line(row, y, mean, row * width, {}));
    await writeFileAtomic(path.join(parentDir, TEST_FILE), testLines.join("\n") + "\n");
    test = { file: path.join(parentDir, TEST_FILE), rows: testY.length, metrics: metricsOf(task, mean, testY, width) };
  }
  return { oof, test, best };
}

/** The parent's tiers: fold 1's tiers 1 and 2 (they ran with it), and tier 3 over every fold. */
function parentTiers(places: FoldPlaces, record: FoldsRecord): TrainSummary["tiers"] {
  const foldTiers = record.runs.map((e) => {
    const j = e.runId ? readRunJson(places.dirOf(e.runId)) : null;
    return (isObj(j?.tiers) ? j!.tiers : {}) as Partial<Record<"1" | "2" | "3", TierResult>>;
  });
  const notRun = (why: string): TierResult => ({ status: "skipped", durationMs: 0, diagnosis: why, details: {} });
  const three = foldTiers.map((t) => t["3"]).filter((t): t is TierResult => !!t && t.status !== "skipped");
  const failed = three.find((t) => t.status === "failed");
  const tier3: TierResult = three.length
    ? {
        status: failed ? "failed" : "passed",
        durationMs: three.reduce((a, t) => a + t.durationMs, 0),
        ...(failed?.diagnosis ? { diagnosis: failed.diagnosis } : {}),
        details: { folds: record.k, completed: record.runs.filter((e) => e.status === "completed").length },
      }
    : notRun("no fold reached tier 3");
  return { "1": foldTiers[0]?.["1"] ?? notRun("fold 1 did not start"), "2": foldTiers[0]?.["2"] ?? notRun("fold 1 did not start"), "3": tier3 };
}

export async function trainFolds(config: Obj | undefined, options: FoldsOptions, request: FoldsRequest): Promise<TrainResult> {
  const t0 = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const backend = await ensureBackend(options.backend ? { prefer: options.backend } : {});
  const notes: string[] = [];
  let record: FoldsRecord;
  let resolved: ResolvedConfig;
  let parent: { runId: string; runDir: string };
  let driveRoot: string;
  let dataset: DatasetInfo;

  if (request.kind === "resume") {
    driveRoot = resolveDriveRoot(options.drive, cwd, typeof config?.drive === "string" ? config.drive : undefined);
    const run = await openRun(driveRoot, request.runDir, { cwd });
    assertNoOtherWriter(run.runId, run.runJson);
    const stored = foldsRecord.safeParse(run.runJson.folds);
    const storedConfig = resolvedConfig.safeParse(run.runJson.config);
    if (!stored.success || !storedConfig.success) throw new TscolabError(`${run.runDir}/run.json has no usable folds record to resume with`, "start a new folds run with --config");
    await updateRunJson(run.runDir, { status: "running", writer: currentWriter() });
    record = stored.data;
    resolved = storedConfig.data;
    dataset = run.runJson.dataset as DatasetInfo;
    parent = { runId: run.runId, runDir: run.runDir };
    if (request.note) notes.push(request.note);
    const done = record.runs.filter((e) => e.status === "completed").length;
    notes.push(`resuming folds run ${run.runId}: ${done} of ${record.k} folds had completed`);
    const ignored = Object.keys(config ?? {}).filter((k) => k !== "drive");
    if (ignored.length) notes.push(`resuming uses the run's stored config; ignored: ${ignored.join(", ")}`);
  } else {
    if (!config) throw new TscolabError("no training config given", "pass --config FILE, a %%train JSON body, or train({ data: ... })");
    if (options.model !== undefined)
      throw new UsageError("folds: each fold trains a fresh model, so a notebook variable holding one model cannot be used; give the model in the config (zoo, file or git)");
    const profile = (typeof config.profile === "string" ? (config.profile as ProfileName) : undefined) ?? options.profile ?? backend.profile.name;
    const auto = config.folds === "auto";
    const k = foldCount(config.folds as number | "auto", profile);
    if (auto) notes.push(`folds: auto gives ${k} folds on the ${profile} profile`);
    const input = { ...config, folds: k };
    resolved = resolveConfig(input, { profile: options.profile ?? backend.profile.name, source: options.configSource });
    checkFoldCount(k);
    if (resolved.tier === "1" || resolved.tier === "2")
      throw new UsageError(`folds: each fold must train (tier 3) to predict its held-out rows; tier "${resolved.tier}" does not — use tier all or 3`);
    driveRoot = resolveDriveRoot(options.drive, cwd, resolved.drive);
    const seed = options.foldSeed ?? resolved.seed;
    // Fold 1's data, loaded before anything is written: a K the classes cannot fill fails here, in one line.
    const first = await loadDataset({ ...resolved.data, fold: { of: k, holdOut: 1, seed } }, { task: resolved.task ?? undefined, seed: resolved.seed, cwd });
    const rows = first.train.n + first.valid.n;
    dataset = { ...first.info, normalization: null, trainExamples: rows, validExamples: rows };
    if (resolved.data.valid === undefined && (config.data as Obj | undefined)?.validationSplit !== undefined)
      notes.push("data.validationSplit is not used with folds: each fold validates on the rows it holds out");
    record = {
      k,
      auto,
      seed,
      stratified: first.info.task === "classification",
      input,
      cwd,
      runs: Array.from({ length: k }, (_, i) => ({ fold: i + 1, runId: null, status: "pending" as const, metrics: {}, epochs: null, rows: null, diagnosis: null })),
    };
    const created = await createRun(driveRoot, {
      runName: resolved.runName,
      fields: {
        kind: FOLDS_KIND,
        config: resolved,
        dataset,
        environment: {
          backend: backend.name,
          tfBackend: backend.tfBackend,
          device: backend.device,
          tfjs: tf.version.tfjs,
          node: process.version,
          platform: `${process.platform}-${process.arch}`,
        },
        folds: record,
        ...options.sweep,
        ...options.runFields,
      },
    });
    parent = { runId: created.runId, runDir: created.runDir };
  }

  // The record is saved after every change, one write at a time.
  let saving: Promise<unknown> = Promise.resolve();
  const save = (patch: Obj = {}) => (saving = saving.then(() => updateRunJson(parent.runDir, { folds: record, ...patch })));
  const places = foldPlaces(driveRoot, resolved, record.cwd);
  for (const entry of record.runs) reconcile(places, parent.runId, entry);
  if (request.kind === "resume") await syncFinishedFolds(places, record);
  await save();

  let end: { status: "stopped" | "failed"; diagnosis: string } | null = null;
  let lastModel: tf.LayersModel | null = null;
  const profile = resolved.profile;
  try {
    for (const entry of record.runs) {
      if (entry.status === "completed") continue;
      if (entry.status === "failed") {
        end = { status: "failed", diagnosis: `fold ${entry.fold} failed: ${entry.diagnosis ?? "see its run"}` };
        break;
      }
      if (options.signal?.aborted) {
        end = { status: "stopped", diagnosis: `interrupted before fold ${entry.fold}` };
        break;
      }
      const resume = entry.status === "stopped" && entry.runId ? entry.runId : undefined;
      entry.status = "running";
      entry.diagnosis = null;
      await save();
      options.onFold?.({ fold: entry.fold, folds: record.k, runId: entry.runId, status: "running", parentRunId: parent.runId });
      const result = await train(resume ? undefined : (foldConfig(record, resolved.runName, entry.fold) as never), {
        cwd: record.cwd,
        drive: driveRoot,
        signal: options.signal,
        profile,
        backend: options.backend,
        resume,
        configSource: `(fold ${entry.fold} of ${record.k} of ${parent.runId})`,
        fold: { parentRunId: parent.runId, fold: entry.fold, folds: record.k },
        onProgress: (e) => {
          if (entry.runId !== e.runId) {
            entry.runId = e.runId;
            // A failed write shows at the next awaited save, which chains on this one.
            save().catch(() => undefined);
          }
          // Listeners see the parent's run (a sweep records it as the trial's), and the fold in `fold`.
          options.onProgress?.({ ...e, runId: parent.runId, fold: { fold: entry.fold, folds: record.k, runId: e.runId } });
        },
      });
      lastModel?.dispose();
      lastModel = result.model;
      entry.runId = result.runId;
      entry.status = result.status;
      entry.metrics = { ...result.metrics };
      entry.epochs = result.epochs;
      entry.rows = result.dataset.validExamples;
      entry.diagnosis = result.status === "completed" ? null : (result.diagnosis ?? null);
      await save();
      options.onFold?.({ fold: entry.fold, folds: record.k, runId: entry.runId, status: entry.status, parentRunId: parent.runId });
      if (result.status !== "completed") {
        end = { status: result.status, diagnosis: `fold ${entry.fold}: ${result.diagnosis ?? result.status}` };
        break;
      }
    }
  } catch (e) {
    for (const entry of record.runs) if (entry.status === "running") entry.status = "stopped";
    await save({ status: "failed", resumable: true, error: (e as Error).message }).catch(() => undefined);
    lastModel?.dispose();
    throw e;
  }

  const monitor = resolved.earlyStopping?.monitor.startsWith("val_") ? resolved.earlyStopping.monitor : "val_loss";
  const completed = record.runs.filter((e) => e.status === "completed");
  const { mean, std } = spread(completed.map((e) => e.metrics));
  let gathered: Gathered | null = null;
  if (!end) {
    gathered = await gatherPredictions(parent.runDir, places, record, monitor);
    lastModel?.dispose();
    lastModel = null;
  }
  const status: TrainSummary["status"] = end ? end.status : "completed";
  const report: FoldsReport = {
    k: record.k,
    auto: record.auto,
    seed: record.seed,
    stratified: record.stratified,
    runs: record.runs,
    mean,
    std,
    oof: gathered?.oof ?? null,
    test: gathered?.test ?? null,
    bestFold: gathered?.best?.fold ?? null,
  };
  const metrics = gathered?.oof.metrics ?? {};
  const tiers = parentTiers(places, record);
  const epochs = record.runs.reduce((a, e) => a + (e.epochs ?? 0), 0);
  await save({
    status,
    resumable: status === "stopped",
    tiers,
    metrics,
    foldMetrics: { mean, std },
    oof: report.oof,
    test: report.test,
    bestFold: report.bestFold,
    epochsCompleted: epochs,
    ...(end ? { diagnosis: end.diagnosis } : { diagnosis: null }),
  });
  await saving;
  const model = gathered?.best?.model ?? lastModel;
  if (!model) throw new TscolabError(`folds run ${parent.runId} ${status} before any fold trained: ${end?.diagnosis ?? ""}`, `resume it with --resume ${parent.runId}`);
  const summary: TrainSummary = {
    runId: parent.runId,
    runDir: parent.runDir,
    status,
    ...(end ? { diagnosis: end.diagnosis } : {}),
    tiers,
    epochs,
    stoppedEarly: completed.some((e) => (readRunJson(places.dirOf(e.runId!))?.stoppedEarly ?? false) === true),
    metrics,
    best: null,
    samplesPerSec: null,
    durationMs: Math.round(performance.now() - t0),
    resumedFrom: request.kind === "resume" ? parent.runId : null,
    notes,
    backend: backend.name,
    config: resolved,
    dataset,
    folds: report,
  };
  return new TrainResult(summary, model, []);
}
