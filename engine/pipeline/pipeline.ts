// pipeline(): named stages run in order, each a folds run (K fold runs under
// one parent run) with the same K and the same fold assignment. A stage with
// `inputs` trains on a table made from its inputs' out-of-fold predictions
// (stacking.ts), so a fusion stage learns from models that never saw the rows
// they predict; its test rows get the average of the input stages' fold
// models. pipeline.json is rewritten at every change, and every stage is
// resumable like a run: `--resume PIPELINE` skips completed stages and
// resumes the interrupted one's unfinished folds from their checkpoints, so a
// pipeline killed at any moment ends as it would have uninterrupted.
import fs from "node:fs";
import path from "node:path";
import { ensureBackend } from "../backend";
import { TscolabError, UsageError } from "../errors";
import { foldCount } from "../folds/record";
import { FOLDS_KIND, type FoldsRequest } from "../folds/request";
import { resolveDriveRoot, runsDir } from "../store/drive_root";
import { RUN_JSON } from "../store/runs";
import { currentWriter } from "../store/writer";
import type { ProgressEvent } from "../train/progress";
import { mergeStage, parsePipelineConfig, type PipelineConfig } from "./config";
import { writeStackedData, type StageInput } from "./stacking";
import { assertPipelineNotRunning, createPipelineDir, openPipeline, writePipeline, type PipelineRecord, type StageRecord } from "./store";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export interface PipelineInput {
  /** The pipeline config, or the path of its JSON file. */
  config?: Obj | string;
  /** Pipeline id, folder or `last`: skip completed stages, resume the interrupted one. */
  resume?: string;
  drive?: string;
  cwd?: string;
  signal?: AbortSignal;
  /** Backend preference for every fold (default: $TSCOLAB_BACKEND or the best available). */
  backend?: string;
  onProgress?: (p: PipelineProgress) => void;
  /** One line per stage and fold start and end. */
  onLog?: (line: string) => void;
}

/** A stage as the live display shows it. */
export interface StageView extends StageRecord {
  fold: number | null;
  epoch: number | null;
  epochs: number | null;
}

export interface PipelineProgress {
  pipelineId: string;
  folds: number;
  stages: StageView[];
}

export interface PipelineResult {
  pipelineId: string;
  pipelineDir: string;
  /** completed: every stage completed; stopped: interrupted (resume it); failed: a stage failed. */
  status: "completed" | "stopped" | "failed";
  diagnosis: string | null;
  folds: number;
  seed: number;
  stages: StageRecord[];
  /** The last stage: its folds run and out-of-fold metrics (and test metrics, with data.valid). */
  final: { stage: string; runId: string; metrics: Record<string, number>; test: Record<string, number> | null } | null;
  durationMs: number;
  notes: string[];
}

export const STAGES_DIR = "stages";

function readJsonFile(file: string): Obj | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8"));
    return isObj(v) ? v : null;
  } catch {
    return null;
  }
}

/** The pipeline config: a copy of the object given, or the JSON file at `config` (named after the file unless it has a name). */
export function readPipelineConfig(config: PipelineInput["config"], cwd: string): { raw: Obj; source: string } {
  if (config === undefined) throw new UsageError("--config: a pipeline needs its config (a JSON file, or the %%pipeline cell body)");
  if (typeof config !== "string") return { raw: structuredClone(config), source: "(pipeline() argument)" };
  const file = path.resolve(cwd, config);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TscolabError(`config file ${file} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`, "pass --config with the path of a JSON pipeline config");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TscolabError(`config file ${file} is not valid JSON: ${(e as Error).message}`, "write the pipeline config as one JSON object");
  }
  if (!isObj(raw)) throw new TscolabError(`config file ${file} must hold a JSON object`, 'e.g. { "stages": [{ "name": "mlp", "config": { "data": { "train": "train.csv" } } }] }');
  return { raw: raw.name === undefined ? { ...raw, name: path.basename(file).replace(/\.[^.]*$/, "") } : raw, source: `in ${config}` };
}

/** A stage's folds run that was created but not recorded (the pipeline died in between). */
function findStageRun(driveRoot: string, pipelineId: string, stage: string): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir(driveRoot)).filter((n) => !n.startsWith("."));
  } catch {
    return null;
  }
  for (const n of names.sort().reverse()) {
    const j = readJsonFile(path.join(runsDir(driveRoot), n, RUN_JSON));
    if (j && j.kind === FOLDS_KIND && j.pipelineId === pipelineId && j.pipelineStage === stage) return n;
  }
  return null;
}

/** Takes what the stage's folds run says happened. */
function reconcile(driveRoot: string, record: PipelineRecord, s: StageRecord): void {
  if (s.status === "completed" || s.status === "failed") return;
  // Started but not recorded: the pipeline died between creating the stage's folds run and saving its id.
  if (s.status !== "pending") s.runId ??= findStageRun(driveRoot, record.pipelineId, s.name);
  const j = s.runId ? readJsonFile(path.join(runsDir(driveRoot), s.runId, RUN_JSON)) : null;
  if (!j) {
    s.runId = null;
    s.status = "pending";
    return;
  }
  if (j.status === "completed") finishFromRunJson(s, j);
  else if (j.status === "failed" && !j.resumable) {
    s.status = "failed";
    s.diagnosis = String(j.diagnosis ?? j.error ?? "failed");
  } else s.status = "stopped";
}

const numbers = (v: unknown): Record<string, number> => (isObj(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === "number")) : {});

function finishFromRunJson(s: StageRecord, j: Obj): void {
  s.status = "completed";
  s.metrics = numbers(j.metrics);
  const spread = isObj(j.foldMetrics) ? j.foldMetrics : {};
  s.mean = numbers(spread.mean);
  s.std = numbers(spread.std);
  s.test = isObj(j.test) ? numbers(j.test.metrics) : null;
  s.oofFile = isObj(j.oof) && typeof j.oof.file === "string" ? j.oof.file : null;
  s.testFile = isObj(j.test) && typeof j.test.file === "string" ? j.test.file : null;
  s.diagnosis = null;
}

export async function pipeline(input: PipelineInput): Promise<PipelineResult> {
  const t0 = performance.now();
  const cwd = input.cwd ?? process.cwd();
  const log = input.onLog ?? (() => undefined);
  const notes: string[] = [];
  let record: PipelineRecord;
  let pipelineDir: string;
  let driveRoot: string;

  if (input.resume) {
    driveRoot = resolveDriveRoot(input.drive, cwd);
    ({ pipelineDir, record } = openPipeline(driveRoot, input.resume, cwd));
    assertPipelineNotRunning(record);
    if (input.config !== undefined) notes.push("resuming uses the pipeline's stored config; --config was ignored");
  } else {
    const { raw, source } = readPipelineConfig(input.config, cwd);
    const p = parsePipelineConfig(raw, source);
    driveRoot = resolveDriveRoot(input.drive, cwd, p.drive);
    const backend = await ensureBackend(input.backend ? { prefer: input.backend } : {});
    const k = foldCount(p.folds, backend.profile.name);
    if (p.folds === "auto") notes.push(`folds: auto gives ${k} folds on the ${backend.profile.name} profile`);
    const name = p.name ?? "pipeline";
    const created = await createPipelineDir(driveRoot, name);
    pipelineDir = created.pipelineDir;
    const now = new Date().toISOString();
    record = {
      format: "tscolab-pipeline/1",
      pipelineId: created.pipelineId,
      createdAt: now,
      updatedAt: now,
      status: "running",
      config: { ...raw, name, folds: k },
      folds: k,
      seed: p.seed,
      cwd,
      stages: p.stages.map((s) => ({
        name: s.name,
        inputs: s.inputs,
        runId: null,
        status: "pending",
        metrics: {},
        mean: {},
        std: {},
        test: null,
        oofFile: null,
        testFile: null,
        diagnosis: null,
        durationMs: null,
      })),
      diagnosis: null,
      writer: null,
    };
  }
  const config: PipelineConfig = parsePipelineConfig(record.config, `(pipeline ${record.pipelineId})`);
  for (const s of record.stages) reconcile(driveRoot, record, s);
  record.status = "running";
  record.diagnosis = null;
  record.writer = currentWriter();
  await writePipeline(pipelineDir, record);

  let saving: Promise<void> = Promise.resolve();
  const save = () => (saving = saving.then(() => writePipeline(pipelineDir, record)));
  const live = new Map<string, { fold: number | null; epoch: number | null; epochs: number | null }>();
  const emit = () =>
    input.onProgress?.({
      pipelineId: record.pipelineId,
      folds: record.folds,
      stages: record.stages.map((s) => ({ ...s, fold: null, epoch: null, epochs: null, ...live.get(s.name) })),
    });
  const done = record.stages.filter((s) => s.status === "completed").length;
  log(
    `pipeline ${record.pipelineId}: ${record.stages.length} stage(s), ${record.folds} folds each${done ? `, ${done} already completed` : ""}; record ${path.join(pipelineDir, "pipeline.json")}`,
  );
  for (const n of notes) log(n);
  emit();

  const { trainFolds } = await import("../folds/train_folds");
  let end: { status: "stopped" | "failed"; diagnosis: string } | null = null;
  for (const [i, s] of record.stages.entries()) {
    if (s.status === "completed") continue;
    if (s.status === "failed") {
      end = { status: "failed", diagnosis: `stage "${s.name}" failed: ${s.diagnosis}` };
      break;
    }
    if (input.signal?.aborted) {
      end = { status: "stopped", diagnosis: `interrupted before stage "${s.name}"` };
      break;
    }
    const stage = config.stages[i]!;
    const stageStart = Date.now();
    const earlier = s.durationMs ?? 0;
    let request: FoldsRequest;
    let stageConfig: Obj | undefined;
    if (s.runId && s.status === "stopped") {
      request = { kind: "resume", runDir: path.join(runsDir(driveRoot), s.runId) };
      log(`[${s.name}] resuming folds run ${s.runId}`);
    } else {
      stageConfig = mergeStage(config, stage, record.folds, `${config.name ?? "pipeline"}-${s.name}`);
      if (stage.inputs.length) {
        const inputs: StageInput[] = stage.inputs.map((name) => {
          const from = record.stages.find((x) => x.name === name)!;
          return { name, oofFile: from.oofFile!, testFile: from.testFile };
        });
        const stacked = await writeStackedData(path.join(pipelineDir, STAGES_DIR, s.name), s.name, stageConfig.data as Obj, inputs, record.cwd);
        const inputTask = readJsonFile(path.join(runsDir(driveRoot), record.stages.find((x) => x.name === stage.inputs[0])!.runId!, RUN_JSON))?.dataset;
        stageConfig = { ...stageConfig, data: stacked.data };
        if (stageConfig.task === undefined && isObj(inputTask) && typeof inputTask.task === "string") stageConfig.task = inputTask.task;
        log(`[${s.name}] stacking ${stacked.features.length} feature(s): ${stacked.features.join(", ")}`);
      }
      request = { kind: "new" };
      log(`[${s.name}] started${stage.inputs.length ? ` (inputs: ${stage.inputs.join(", ")})` : ""}`);
    }
    s.status = "running";
    s.diagnosis = null;
    await save();
    emit();
    let result;
    try {
      result = await trainFolds(
        stageConfig,
        {
          cwd: record.cwd,
          drive: driveRoot,
          signal: input.signal,
          backend: input.backend,
          foldSeed: record.seed,
          configSource: `(pipeline ${record.pipelineId}, stage "${s.name}")`,
          runFields: { pipelineId: record.pipelineId, pipelineStage: s.name },
          onFold: (f) => {
            if (s.runId !== f.parentRunId) {
              s.runId = f.parentRunId;
              // A failed write shows at the next awaited save, which chains on this one.
              save().catch(() => undefined);
            }
            if (f.status === "running") live.set(s.name, { fold: f.fold, epoch: null, epochs: null });
            else log(`[${s.name}] fold ${f.fold}/${f.folds} ${f.status}${f.runId ? ` (run ${f.runId})` : ""}`);
            emit();
          },
          onProgress: (e: ProgressEvent) => {
            const cur = live.get(s.name);
            if (cur && (e.epochEnded || e.phase !== "tier3")) {
              live.set(s.name, { ...cur, epoch: e.phase === "tier3" || e.phase === "done" ? e.history.length : 0, epochs: e.epochs });
              emit();
            }
          },
        },
        request,
      );
    } catch (e) {
      s.status = "stopped";
      s.diagnosis = (e as Error).message;
      s.durationMs = earlier + (Date.now() - stageStart);
      record.status = "failed";
      record.diagnosis = `stage "${s.name}": ${(e as Error).message}`;
      record.writer = null;
      live.delete(s.name);
      await save();
      throw e;
    }
    live.delete(s.name);
    s.runId = result.runId;
    s.durationMs = earlier + (Date.now() - stageStart);
    for (const n of result.notes) notes.push(`stage "${s.name}": ${n}`);
    result.model.dispose();
    if (result.status === "completed") {
      finishFromRunJson(s, readJsonFile(path.join(result.runDir, RUN_JSON)) ?? {});
      const shown = Object.entries(s.metrics)
        .map(([m, v]) => `${m} ${Number(v.toPrecision(4))}`)
        .join(", ");
      log(`[${s.name}] completed in ${(s.durationMs / 1000).toFixed(1)} s: out-of-fold ${shown} (run ${s.runId})`);
    } else {
      s.status = result.status;
      s.diagnosis = result.diagnosis ?? null;
      end = { status: result.status, diagnosis: `stage "${s.name}": ${result.diagnosis ?? result.status}` };
      log(`[${s.name}] ${result.status}: ${result.diagnosis ?? ""}${result.status === "stopped" ? ` (resume with --resume ${record.pipelineId})` : ""}`);
    }
    await save();
    emit();
    if (end) break;
  }

  record.status = end ? end.status : "completed";
  record.diagnosis = end?.diagnosis ?? null;
  record.writer = null;
  await save();
  await saving;
  const last = record.stages[record.stages.length - 1]!;
  const result: PipelineResult = {
    pipelineId: record.pipelineId,
    pipelineDir,
    status: record.status as PipelineResult["status"],
    diagnosis: record.diagnosis,
    folds: record.folds,
    seed: record.seed,
    stages: record.stages,
    final: last.status === "completed" && last.runId ? { stage: last.name, runId: last.runId, metrics: last.metrics, test: last.test } : null,
    durationMs: Math.round(performance.now() - t0),
    notes,
  };
  log(`pipeline ${record.pipelineId} ${result.status}${result.diagnosis ? `: ${result.diagnosis}` : ""}`);
  return result;
}
