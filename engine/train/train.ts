// train(config, options): the one engine behind %train, `tscolab train` and
// the TypeScript API. Resolve the config, load data and model, create (or
// reopen) the run folder, run tiers 1 → 2 → 3 (stopping at the first
// failure), and return the summary with the trained model. The faces only
// parse and render.
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { ensureBackend } from "../backend";
import { fingerprintData } from "../bundle/fingerprint";
import { loadDataset, type LoadedDataset } from "../data/dataset";
import { imageAugmenter } from "../data/images/augment";
import { foldsRequest, type FoldTag } from "../folds/request";
import { resolveDriveRoot } from "../store/drive_root";
import { gitModelForTraining, runProvenance, type GitModelForTraining } from "../git";
import { createModel, isLayersModel } from "../models";
import "../models/transformer/register";
import { transformerShape } from "../models/transformer/model";
import { isTextConfig, loadTextDataset, readRunTokenizer, withTextModelDefault, writeRunTokenizer } from "../text/dataset";
import { recordTrainedDataset } from "../models/trained_with";
import type { ProfileName } from "../backend/profile";
import { createRun, listValidCheckpoints, loadModelFromFiles, updateRunJson, readMetrics, type LoadedCheckpoint } from "../store";
import { createLocalFirstRun, prepareLocalFirstResume, type RunPlace } from "../store/local_first";
import { resolveLocalRoot } from "../store/local_root";
import { describeMirror, RunMirror, type MirrorState } from "../store/mirror";
import { TscolabError } from "../errors";
import { resolveConfig, resolvedConfig, type ResolvedConfig, type TrainConfigInput } from "./config";
import { extendRun, storedCycles } from "./extend";
import { runFullTier, type FullRun } from "./full_run";
import { headOf, type Head } from "./head";
import { outputsAreLogits } from "./metrics";
import { ProgressStream, type EpochRow, type ProgressListener } from "./progress";
import { stateFromFiles, type RunProgress } from "./state";
import type { TrainSummary } from "./summary";
import { skippedTier, tierDev, tierSmoke, type RunEnd, type TierKey, type TierResult, type TierRun } from "./tiers";
import { Trainer } from "./trainer";
import { envSecondsMs } from "../util/env_seconds";

export interface TrainOptions {
  /** A tf.LayersModel to train in place (a notebook variable); overrides config.model. */
  model?: tf.LayersModel;
  /** Folder relative paths resolve from (the notebook's or the CLI's). */
  cwd?: string;
  /** Aborted → stop after the current step, checkpoint, status "stopped". */
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Run id, run folder or "last": continue from its newest valid checkpoint. */
  resume?: string;
  /** Drive root; wins over the config's `drive` (the rule is in store/drive_root.ts). */
  drive?: string;
  /** Adaptive profile; default: from the backend's device. */
  profile?: ProfileName;
  /** Where the config came from, for error messages ("in train.json"). */
  configSource?: string;
  /** Backend preference passed to ensureBackend (default: $TSCOLAB_BACKEND or the best available). */
  backend?: string;
  /** Set by a sweep for each trial; stored in the new run's run.json. */
  sweep?: { sweepId: string; sweepParams: Record<string, unknown>; sweepTrial: string };
  /** Set by a folds run for each fold; stored in the new run's run.json as foldOf, fold and folds. */
  fold?: FoldTag;
}

/**
 * What train() returns: the summary's fields, the trained model and the
 * epoch history. Its JSON (`tscolab train --json`, a notebook's JSON view) is
 * the summary alone; `summary` gives the same object typed.
 */
export interface TrainResult extends TrainSummary {}
export class TrainResult {
  constructor(
    summary: TrainSummary,
    readonly model: tf.LayersModel,
    readonly history: EpochRow[],
  ) {
    Object.assign(this, summary);
  }

  get summary(): TrainSummary {
    const { model: _model, history: _history, ...summary } = this;
    return summary;
  }

  toJSON(): TrainSummary {
    return this.summary;
  }
}

function checkModelFits(model: tf.LayersModel, data: LoadedDataset, where: string): Head {
  const inShape = model.inputs[0]?.shape.slice(1) ?? [];
  const want = data.info.inputShape;
  const fits = inShape.length === want.length && inShape.every((d, i) => d === null || d === want[i]);
  if (!fits) {
    throw new TscolabError(
      `${where} expects input shape [${inShape.map((d) => d ?? "?").join(", ")}] but the data has [${want.join(", ")}]`,
      "build the model with inputShape from the data (createModel receives it)",
    );
  }
  return headOf(model, data.info.task, data.outputs, where, data.info.labels);
}

const TIER_KEYS: readonly TierKey[] = ["1", "2", "3"];
const tiersToRun = (tier: ResolvedConfig["tier"]): Set<TierKey> => new Set(tier === "all" ? TIER_KEYS : [tier]);

/** Run environment stored in run.json: a resume on another backend is noted. */
const storedEnvironment = z.object({ backend: z.string().optional() });

/** How long the end of a run waits for the mirror to copy what is left to the Drive: $TSCOLAB_MIRROR_FLUSH seconds, default 30. */
export function mirrorFlushMs(env: NodeJS.ProcessEnv = process.env): number {
  return envSecondsMs(env, "TSCOLAB_MIRROR_FLUSH", 30, { allowZero: true });
}

/** Starts a local-first run's mirror (null when the run writes to the Drive directly). */
function startMirror(place: RunPlace, config: ResolvedConfig, createdAt: string, onChange: () => void): RunMirror | null {
  if (!place.io) return null;
  return new RunMirror({
    runId: place.runId,
    driveRoot: place.driveRoot,
    localDir: place.workDir,
    driveDir: place.runDir,
    createdAt,
    keepLast: config.checkpoint.keepLast,
    keepBest: config.checkpoint.keepBest,
    io: place.io,
    onChange,
  });
}

/** The end of a run: a bounded wait for the Drive, then one line saying whether its copy is complete. */
async function settleMirror(mirror: RunMirror | null, notes: string[]): Promise<MirrorState | null> {
  if (!mirror) return null;
  mirror.notify();
  const state = await mirror.flush(mirrorFlushMs());
  notes.push(describeMirror(state));
  mirror.finish();
  return state;
}

export async function train(config: TrainConfigInput | undefined, options: TrainOptions = {}): Promise<TrainResult> {
  // `"folds": K`, or a resume of a folds run: the folds engine runs each fold through here.
  const folds = options.fold ? null : await foldsRequest(config, options);
  if (folds) return (await import("../folds/train_folds")).trainFolds(config, options, folds);
  const t0 = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const backend = await ensureBackend(options.backend ? { prefer: options.backend } : {});
  // The profile of the device training really uses (a T4 → optimized, an A100 → aggressive, CPU → cpu).
  const defaultProfile: ProfileName = options.profile ?? backend.profile.name;
  const notes: string[] = [];

  // The resolved config: from run.json when resuming, else from the input.
  let resolved: ResolvedConfig;
  let checkpoint: LoadedCheckpoint | null = null;
  let place: RunPlace | undefined;
  let createdAt = "";
  let driveRoot: string;
  // The epochs at which the learning-rate schedule's cycles end (more than one after an extension).
  let cycles: number[] | undefined;
  if (options.resume) {
    driveRoot = resolveDriveRoot(options.drive, cwd, config?.drive);
    // checkpoint.local may be given again: where this machine keeps its local copy.
    const local = config?.checkpoint?.local;
    const point = await prepareLocalFirstResume(driveRoot, options.resume, { cwd, local });
    const stored = resolvedConfig.safeParse(point.run.runJson.config);
    if (!stored.success) {
      point.place.io?.close();
      throw new TscolabError(`${point.place.runDir}/run.json has no usable config to resume with`, "start a new run with --config");
    }
    resolved = stored.data;
    checkpoint = point.checkpoint;
    place = point.place;
    createdAt = point.run.runJson.createdAt;
    notes.push(...point.notes);
    // Bit-identical resume holds on the same backend: kernels differ in their last bits across backends.
    const storedBackend = storedEnvironment.safeParse(point.run.runJson.environment).data?.backend;
    if (storedBackend && storedBackend !== backend.name)
      notes.push(`the run started on ${storedBackend} and resumes on ${backend.name}: results will not be bit-identical to an uninterrupted run`);
    // A larger --epochs extends the run (./extend.ts), recorded in the run.json the trainer writes (the local copy of a local-first run);
    // otherwise resumed == uninterrupted: the stored config wins.
    const extension = await extendRun(point.run, resolved, config?.epochs, checkpoint?.epoch ?? 0).catch((err) => {
      point.place.io?.close();
      throw err;
    });
    if (extension) [resolved, cycles] = [extension.config, extension.cycles];
    else cycles = storedCycles(point.run.runJson, resolved.epochs);
    if (extension) notes.push(extension.note);
    // Say which given settings were not used (checkpoint.local alone only says where this machine keeps its copy).
    const onlyLocal = (k: string) => k === "checkpoint" && Object.keys(config?.checkpoint ?? {}).every((c) => c === "local");
    const ignored = Object.keys(config ?? {}).filter((k) => k !== "drive" && !onlyLocal(k) && !(k === "epochs" && extension));
    if (ignored.length) notes.push(`resuming uses the run's stored config; ignored: ${ignored.join(", ")}`);
  } else {
    if (config === undefined) throw new TscolabError("no training config given", "pass --config FILE, a %%train JSON body, or train({ data: ... })");
    resolved = resolveConfig(config, { profile: defaultProfile, source: options.configSource });
    driveRoot = resolveDriveRoot(options.drive, cwd, resolved.drive);
  }

  // Text (a corpus or a text column): tokenized windows and the tokenizer; a resumed run reads its own tokenizer back.
  const isText = await isTextConfig(resolved, cwd);
  if (isText && !checkpoint && config) resolved = withTextModelDefault(resolved, config);
  const text = isText
    ? await loadTextDataset(resolved, {
        seqLen: options.model?.inputs[0]?.shape[1] ?? transformerShape(resolved.model).seqLen,
        seed: resolved.seed,
        cwd,
        tokenizer: place ? await readRunTokenizer(place.workDir) : undefined,
      })
    : null;
  const data = text?.data ?? (await loadDataset(resolved.data, { task: resolved.task ?? undefined, seed: resolved.seed, cwd }));
  const task = data.info.task;
  if (text) notes.push(...text.notes);

  let model: tf.LayersModel;
  let where: string;
  let gitModel: GitModelForTraining<ResolvedConfig["model"]> | null = null;
  if (checkpoint) {
    model = await loadModelFromFiles(checkpoint.files, tf);
    where = `the model in ${checkpoint.name}`;
  } else if (options.model !== undefined) {
    if (!isLayersModel(options.model)) throw new TscolabError("the model argument is not a tf.LayersModel", "pass a variable holding tf.sequential(...) or tf.model(...)");
    model = options.model;
    where = "the notebook's model";
    recordTrainedDataset(model, data.info); // `%export model` then writes its labels and normalization
  } else {
    // A git model: fetched, scanned (refused unless trusted), then loaded as a model file.
    gitModel = resolved.model.git ? await gitModelForTraining({ ...resolved.model, git: resolved.model.git }, { driveRoot, cwd, signal: options.signal }) : null;
    if (gitModel) notes.push(...gitModel.notes);
    model = await createModel(
      tf,
      gitModel?.model ?? resolved.model,
      { inputShape: data.info.inputShape, outputs: data.outputs, task, vocabSize: text?.vocabSize },
      { seed: resolved.seed, cwd, notes },
    );
    where = gitModel ? gitModel.where : resolved.model.file ? `model file ${resolved.model.file}` : `model zoo "${resolved.model.zoo ?? "mlp"}"`;
  }
  const head = checkModelFits(model, data, where);

  const environment = {
    backend: backend.name,
    tfBackend: backend.tfBackend,
    device: backend.device,
    patches: backend.patches,
    // Which tfjs kernels sent large shapes to native MLAS: a resume on a machine without it computes on wasm, so not bit-identically.
    nativeKernels: backend.native.kernels,
    tfjs: tf.version.tfjs,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  let events: ProgressStream | undefined;
  if (!place) {
    const localRoot = resolveLocalRoot(resolved.checkpoint.local, cwd);
    const opts = {
      runName: resolved.runName,
      fields: {
        config: resolved,
        dataset: data.info,
        dataFingerprints: await fingerprintData(resolved.data, cwd),
        environment,
        provenance: await runProvenance({
          cwd,
          driveRoot,
          modelSource: options.model ? "notebook variable" : gitModel ? "git" : resolved.model.file ? "file" : "zoo",
          git: gitModel?.provenance,
        }),
        ...options.sweep,
        ...(options.fold ? { foldOf: options.fold.parentRunId, fold: options.fold.fold, folds: options.fold.folds } : {}),
      },
    };
    if (localRoot) {
      const created = await createLocalFirstRun(driveRoot, localRoot, opts);
      place = created;
      createdAt = created.run.runJson.createdAt;
    } else {
      const created = await createRun(driveRoot, opts);
      place = { runId: created.runId, driveRoot, runDir: created.runDir, workDir: created.runDir };
    }
    // Beside the run's other files, so it reaches the Drive with them (and is there even if the Drive is away now).
    if (text) await writeRunTokenizer(place.workDir, text.tokenizer);
  } else {
    await updateRunJson(place.workDir, { status: "running", environment, dataset: data.info });
  }
  // runDir: the run folder on the Drive; workDir: where the trainer writes (its local copy, or runDir itself).
  const { runId, runDir, workDir } = place;
  const mirror = startMirror(place, resolved, createdAt, () => events?.driveChanged());

  const logits = (task === "classification" || task === "text-classification") && outputsAreLogits(model);
  const binary = head.kind === "sigmoid" || head.kind === "sigmoid-logits";
  if (binary) notes.push(`one output unit for two classes: binary cross-entropy${logits ? " on logits" : ""}, class "${data.info.labels?.[1]}" when p > 0.5`);
  else if (logits) notes.push("the model's last layer has no softmax: its outputs are treated as logits (softmax cross-entropy)");
  const trainer = new Trainer(tf, model, data, {
    // Text classification trains as classification; language modeling brings its own objective.
    task: text ? "classification" : task,
    objective: text?.objective,
    logits,
    outputs: data.outputs,
    binary,
    batchSize: resolved.batchSize,
    seed: resolved.seed,
    gradClipNorm: resolved.gradClipNorm,
    optimizer: { kind: resolved.optimizer, weightDecay: resolved.weightDecay, momentum: resolved.momentum },
    augment: imageAugmenter(tf, resolved.data.augment, data.info.inputShape, resolved.seed),
  });
  const progress: RunProgress = { early: { best: null, wait: 0 }, best: null, epochTrainMs: 0 };
  const history: EpochRow[] = [];
  const tiers: Partial<Record<TierKey, TierResult>> = {};
  events = new ProgressStream(
    options.onProgress,
    { runId, task, epochs: resolved.epochs, stepsPerEpoch: trainer.stepsPerEpoch, history, tiers, tokensPerSample: text?.objective?.tokensPerRow },
    trainer,
  );
  if (mirror) events.watchDrive(() => mirror.status());

  let end: RunEnd | null = null;
  let full: FullRun | null = null;
  try {
    if (checkpoint) {
      const saved = stateFromFiles(checkpoint.files);
      trainer.setPosition(saved.position);
      trainer.optimizer.setState(saved.optimizer);
      Object.assign(progress, saved.progress);
      history.push(...((await readMetrics(workDir)).rows as unknown as EpochRow[]));
      const skipped = `resumed from ${checkpoint.name}; tiers 1 and 2 ran with the original run`;
      tiers["1"] = skippedTier(skipped);
      tiers["2"] = skippedTier(skipped);
    }
    // Tiers 1 → 2 → 3; the first that ends the run (failed or interrupted) leaves the next ones "not started".
    const selected = tiersToRun(resolved.tier);
    const signal = options.signal;
    for (const key of TIER_KEYS) {
      if (tiers[key]) continue;
      if (end) tiers[key] = skippedTier(`not started: ${end.diagnosis}`);
      else if (signal?.aborted) {
        end = { status: "stopped", diagnosis: `interrupted before tier ${key}` };
        tiers[key] = skippedTier(end.diagnosis);
      } else if (!selected.has(key)) tiers[key] = skippedTier(`not selected (tier: "${resolved.tier}")`);
      else {
        events.tier(key, `tier ${key} running`);
        let ran: TierRun;
        if (key === "1") ran = await tierSmoke(tf, trainer, { learningRate: resolved.learningRate, seed: resolved.seed, signal });
        else if (key === "2")
          ran = await tierDev(tf, trainer, {
            learningRate: resolved.learningRate,
            seed: resolved.seed,
            epochs: resolved.epochs,
            validateEveryEpochs: resolved.validateEveryEpochs,
            signal,
          });
        else
          ran = full = await runFullTier({
            trainer,
            config: resolved,
            runDir: workDir,
            onStoreChange: mirror ? () => mirror.notify() : undefined,
            progress,
            history,
            tiers,
            events,
            signal,
            cycles,
          });
        tiers[key] = ran.result;
        end = ran.ends;
        events.tier(key, `tier ${key} ${ran.result.status}`);
      }
    }
  } catch (e) {
    // E.g. a full Drive: the committed checkpoints are intact, so the run can still be resumed from them.
    const resumable = (await listValidCheckpoints(workDir).catch(() => ({ valid: [] }))).valid.length > 0;
    await updateRunJson(workDir, { status: "failed", resumable, error: (e as Error).message }).catch(() => undefined);
    trainer.dispose();
    // What was committed locally still goes to the Drive (a bounded wait).
    await settleMirror(mirror, []).catch(() => undefined);
    throw e;
  }

  const status: TrainSummary["status"] = end ? end.status : "completed";
  const stoppedEarly = full?.stoppedEarly ?? false;
  const metrics = full?.metrics ?? {};
  const rates = history.map((r) => r.samplesPerSec).filter((v) => v > 0);
  const summary: TrainSummary = {
    runId,
    runDir,
    status,
    ...(end?.diagnosis ? { diagnosis: end.diagnosis } : {}),
    ...(end?.fix ? { fix: end.fix } : {}),
    tiers: everyTier(tiers),
    epochs: trainer.epoch,
    stoppedEarly,
    metrics,
    best: progress.best,
    samplesPerSec: rates.length ? Math.round(rates.reduce((a, b) => a + b, 0) / rates.length) : null,
    durationMs: Math.round(performance.now() - t0),
    resumedFrom: checkpoint ? checkpoint.name : null,
    notes,
    backend: backend.name,
    config: resolved,
    dataset: data.info,
  };
  const ranTier3 = tiers["3"]?.status !== "skipped";
  await updateRunJson(workDir, {
    status,
    resumable: status === "stopped" || (ranTier3 && trainer.step > 0 && status !== "completed"),
    tiers,
    metrics,
    best: progress.best,
    epochsCompleted: trainer.epoch,
    stoppedEarly,
    ...(end?.diagnosis ? { diagnosis: end.diagnosis } : {}),
  });
  summary.mirror = await settleMirror(mirror, notes);
  events.done(status);
  trainer.dispose();
  return new TrainResult(summary, model, history);
}

/** The tier loop above settles every tier; a missing one is a bug here, not the user's. */
function everyTier(tiers: Partial<Record<TierKey, TierResult>>): TrainSummary["tiers"] {
  const [one, two, three] = TIER_KEYS.map((k) => tiers[k]);
  if (!one || !two || !three) throw new Error(`internal error: tier ${TIER_KEYS.find((k) => !tiers[k])} has no result`);
  return { "1": one, "2": two, "3": three };
}
