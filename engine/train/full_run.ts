// Tier 3: the configured run. Epochs of our step loop with the schedule,
// checkpoints through the Drive store at the configured cadence (and on
// interrupt), validation, best-model tracking and early stopping. The loop
// state lives in the Trainer and in RunProgress, both saved by checkpoints,
// so a resumed run continues exactly where the checkpoint was taken.
import type * as tfType from "@tensorflow/tfjs";
import { appendMetrics, commitCheckpoint, modelToFiles } from "../store";
import type { ResolvedConfig } from "./config";
import { higherIsBetter, type ValidationMetrics } from "./metrics";
import type { EpochRow, ProgressEvent, ProgressListener } from "./progress";
import { yieldToEventLoop } from "./event_loop";
import { learningRateAt } from "./schedule";
import { stateToFiles, type RunProgress } from "./state";
import type { Trainer } from "./trainer";

export interface FullRunContext {
  trainer: Trainer;
  config: ResolvedConfig;
  runId: string;
  runDir: string;
  progress: RunProgress;
  history: EpochRow[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  baseEvent: () => Omit<ProgressEvent, "phase" | "epoch" | "step" | "stepInEpoch" | "loss" | "samplesPerSec" | "etaMs" | "epochEnded">;
}

export interface FullRunResult {
  status: "completed" | "stopped" | "failed";
  diagnosis?: string;
  fix?: string;
  stoppedEarly: boolean;
  metrics: ValidationMetrics | null;
  checkpoints: number;
}

const PROGRESS_EVERY_MS = 400;
const YIELD_EVERY_MS = 25;


export async function runFull(ctx: FullRunContext): Promise<FullRunResult> {
  const { trainer, config, runDir, progress } = ctx;
  const epochs = config.epochs;
  const stepsPerEpoch = trainer.stepsPerEpoch;
  const totalSteps = epochs * stepsPerEpoch;
  const monitor = trainer.validCount > 0 ? (config.earlyStopping?.monitor ?? "val_loss") : "loss";
  const higher = higherIsBetter(monitor);
  let checkpoints = 0;
  let lastCheckpointStep = -1;
  let metrics: ValidationMetrics | null = null;
  let stoppedEarly = false;

  const checkpoint = async (isBest = false) => {
    const files = { ...(await modelToFiles(trainer.model)), ...stateToFiles(trainer.getPosition(), trainer.optimizer.getState(), progress) };
    await commitCheckpoint(runDir, {
      step: trainer.step,
      epoch: trainer.epoch,
      files,
      keepLast: config.checkpoint.keepLast,
      keepBest: config.checkpoint.keepBest,
      isBest: isBest && config.checkpoint.keepBest,
      meta: progress.best ? { metric: progress.best.metric, value: progress.best.value, stepInEpoch: trainer.stepInEpoch } : { stepInEpoch: trainer.stepInEpoch },
    });
    checkpoints++;
    lastCheckpointStep = trainer.step;
  };

  const emit = (epochEnded: boolean, loss: number | null, samplesPerSec: number | null) => {
    if (!ctx.onProgress) return;
    const remaining = totalSteps - trainer.step;
    ctx.onProgress({
      ...ctx.baseEvent(),
      phase: "tier3",
      epoch: Math.min(trainer.epoch + (epochEnded ? 0 : 1), epochs),
      step: trainer.step,
      stepInEpoch: trainer.stepInEpoch,
      loss,
      samplesPerSec,
      etaMs: samplesPerSec ? Math.round((remaining * config.batchSize * 1000) / samplesPerSec) : null,
      epochEnded,
    });
  };

  const diverged = (what: string): FullRunResult => ({ status: "failed", diagnosis: `diverged: ${what}`, fix: "lower learningRate or set gradClipNorm", stoppedEarly, metrics, checkpoints });

  while (trainer.epoch < epochs) {
    const epochStart = performance.now();
    if (trainer.order.length === 0) {
      trainer.startEpoch();
      progress.epochTrainMs = 0;
    }
    // A resumed epoch already spent this long training before the checkpoint.
    const earlierMs = progress.epochTrainMs;
    let lastEmit = performance.now();
    let lastYield = performance.now();
    let trainStart = performance.now();
    while (trainer.stepInEpoch < stepsPerEpoch) {
      trainer.trainStep(learningRateAt(trainer.step, config.learningRate, config.schedule, stepsPerEpoch, totalSteps));
      const now = performance.now();
      const lastOfEpoch = trainer.stepInEpoch === stepsPerEpoch;
      if (config.checkpoint.everySteps > 0 && trainer.step % config.checkpoint.everySteps === 0 && !lastOfEpoch) {
        progress.epochTrainMs += now - trainStart;
        await checkpoint();
        trainStart = performance.now();
      }
      if (now - lastYield > YIELD_EVERY_MS) {
        progress.epochTrainMs += performance.now() - trainStart;
        await yieldToEventLoop();
        lastYield = trainStart = performance.now();
      }
      if (ctx.signal?.aborted && !lastOfEpoch) {
        progress.epochTrainMs += performance.now() - trainStart;
        if (lastCheckpointStep !== trainer.step) await checkpoint();
        return { status: "stopped", diagnosis: `interrupted at step ${trainer.step} (epoch ${trainer.epoch + 1}); checkpoint written, resume with --resume`, stoppedEarly: false, metrics, checkpoints };
      }
      // One host read every PROGRESS_EVERY_MS: the running loss, for the display and to catch divergence mid-epoch.
      if (now - lastEmit > PROGRESS_EVERY_MS) {
        const running = trainer.epochLoss();
        if (!Number.isFinite(running)) return diverged(`the training loss became ${running} at step ${trainer.step} (epoch ${trainer.epoch + 1})`);
        const ms = progress.epochTrainMs + (performance.now() - trainStart);
        emit(false, running, ms > 0 ? (trainer.epochSamples * 1000) / ms : null);
        lastEmit = performance.now();
      }
    }
    progress.epochTrainMs += performance.now() - trainStart;

    const loss = trainer.epochLoss();
    const samplesPerSec = progress.epochTrainMs > 0 ? (trainer.epochSamples * 1000) / progress.epochTrainMs : 0;
    trainer.epoch++;
    trainer.order = new Int32Array(0);
    trainer.stepInEpoch = 0;
    // No checkpoint of a diverged model: rotation would push out the good ones.
    if (!Number.isFinite(loss)) return diverged(`the training loss of epoch ${trainer.epoch} is ${loss}`);

    const validate = trainer.epoch % config.validateEveryEpochs === 0 || trainer.epoch === epochs;
    if (validate) metrics = trainer.evaluate();
    const row: EpochRow = {
      epoch: trainer.epoch,
      step: trainer.step,
      loss,
      samplesPerSec: Math.round(samplesPerSec),
      wallMs: Math.round(performance.now() - epochStart + earlierMs),
      lr: learningRateAt(Math.max(0, trainer.step - 1), config.learningRate, config.schedule, stepsPerEpoch, totalSteps),
      ...(validate && metrics ? (metrics as unknown as Record<string, number>) : {}),
    };
    ctx.history.push(row);
    await appendMetrics(runDir, row);

    let isBest = false;
    const current = monitor === "loss" ? loss : validate && metrics ? (metrics as unknown as Record<string, number>)[monitor] : undefined;
    if (current !== undefined && Number.isFinite(current)) {
      if (!progress.best || (higher ? current > progress.best.value : current < progress.best.value)) {
        progress.best = { metric: monitor, value: current, epoch: trainer.epoch, step: trainer.step };
        isBest = true;
      }
      const es = config.earlyStopping;
      if (es) {
        const improved = progress.early.best === null || (higher ? current > progress.early.best + es.minDelta : current < progress.early.best - es.minDelta);
        if (improved) {
          progress.early.best = current;
          progress.early.wait = 0;
        } else progress.early.wait++;
        stoppedEarly = progress.early.wait >= es.patience;
      }
    }

    const cadence =
      (config.checkpoint.everyEpochs > 0 && trainer.epoch % config.checkpoint.everyEpochs === 0) ||
      (config.checkpoint.everySteps > 0 && trainer.step % config.checkpoint.everySteps === 0) ||
      trainer.epoch === epochs ||
      stoppedEarly ||
      !!ctx.signal?.aborted;
    if (cadence || (isBest && config.checkpoint.keepBest)) await checkpoint(isBest);
    emit(true, loss, samplesPerSec);
    if (ctx.signal?.aborted && trainer.epoch < epochs && !stoppedEarly) {
      return { status: "stopped", diagnosis: `interrupted after epoch ${trainer.epoch}; checkpoint written, resume with --resume`, stoppedEarly: false, metrics, checkpoints };
    }
    if (stoppedEarly) break;
  }
  if (!metrics) metrics = trainer.evaluate();
  return { status: "completed", stoppedEarly, metrics, checkpoints };
}
