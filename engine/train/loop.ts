// The training loop: epochs of steps on the Trainer, with hooks called at
// fixed points, in the manner of tfjs-layers' fitLoop and Keras callbacks.
// The loop keeps only the order of things: start an epoch (or continue a
// resumed one), step, end the epoch, validate, build the epoch's metrics row.
// Checkpoints, early stopping, divergence, progress, best model and yielding
// to the event loop are hooks (./hooks/), and any hook can ask it to stop.
import type { ValidationMetrics } from "./metrics";
import type { EpochRow } from "./progress";
import type { RunProgress } from "./state";
import type { Trainer } from "./trainer";

/** Why a hook stops the run. */
export type StopReason = { kind: "early-stopping" } | { kind: "interrupted"; diagnosis: string } | { kind: "diverged"; diagnosis: string; fix: string };

export interface EpochBegin {
  /** performance.now() when the epoch (or the resumed part of it) starts. */
  at: number;
}

export interface StepEnd {
  step: number;
  /** Completed epochs (the step belongs to epoch `epoch + 1`). */
  epoch: number;
  stepInEpoch: number;
  lastOfEpoch: boolean;
  /** performance.now() right after the step. */
  at: number;
  /** Mean training loss of the epoch so far: one host read, shared by every hook of this step. */
  runningLoss(): number;
  /** Training samples per second in this epoch so far, or null before any time was measured. */
  samplesPerSec(): number | null;
  /** Runs `work` (a checkpoint write, a yield) outside the epoch's training time. */
  offTheClock(work: () => Promise<void>): Promise<void>;
}

export interface EpochTrained {
  /** Completed epochs, this one included. */
  epoch: number;
  step: number;
  /** The epoch's mean training loss. */
  loss: number;
}

export interface EpochEnd extends EpochTrained {
  samplesPerSec: number;
  /** This epoch's validation metrics; null when it was not validated (or there is no validation data). */
  metrics: ValidationMetrics | null;
  /** The epoch's line of metrics.jsonl. */
  row: EpochRow;
}

export type HookAnswer = StopReason | void;

/**
 * A hook's points, in the order the loop reaches them. At an epoch's end,
 * `stopping` is a stop an earlier hook of the same round asked for (`round`).
 */
export interface TrainHook {
  onEpochBegin?(e: EpochBegin): void;
  onStepEnd?(s: StepEnd): HookAnswer | Promise<HookAnswer>;
  /** The epoch's steps are done and it is counted; not yet validated. */
  onEpochTrained?(e: EpochTrained): HookAnswer | Promise<HookAnswer>;
  /** Validated, with its metrics row. */
  onEpochEnd?(e: EpochEnd, stopping: StopReason | null): HookAnswer | Promise<HookAnswer>;
  /** Once, when the loop ends; `stop` is null when it ran every epoch. */
  onTrainEnd?(stop: StopReason | null): void | Promise<void>;
}

export interface LoopSettings {
  epochs: number;
  validateEveryEpochs: number;
  learningRateAt(step: number): number;
}

export interface LoopResult {
  stop: StopReason | null;
  /** The latest validation metrics; a run that ends normally (all epochs, or early stopping) is validated at its end. */
  metrics: ValidationMetrics | null;
}

/**
 * The epoch's training time, kept in RunProgress so that a checkpoint saves it
 * and a resumed epoch reports its whole time. Checkpoint writes and yields run
 * off the clock; host reads of the loss stay on it (they wait for the device).
 */
class EpochClock {
  private since: number | null = null;

  constructor(private readonly progress: RunProgress) {}

  start(): void {
    this.since = performance.now();
  }

  stop(): void {
    if (this.since === null) return;
    this.progress.epochTrainMs += performance.now() - this.since;
    this.since = null;
  }

  elapsed(): number {
    return this.progress.epochTrainMs + (this.since === null ? 0 : performance.now() - this.since);
  }

  async off(work: () => Promise<void>): Promise<void> {
    this.stop();
    try {
      await work();
    } finally {
      this.start();
    }
  }
}

/**
 * Calls one point of every hook, in order; the first stop asked for wins. At
 * a step (and when an epoch is trained) a stop ends the round at once: later
 * hooks do not see a diverged or interrupted step. At an epoch's end the
 * round goes on, so the epoch is still logged, saved and shown; later hooks
 * get the stop as `stopping`.
 */
async function round(
  hooks: readonly TrainHook[],
  call: (h: TrainHook, stopping: StopReason | null) => HookAnswer | Promise<HookAnswer>,
  opts: { finishRound: boolean },
): Promise<StopReason | null> {
  let stopping: StopReason | null = null;
  for (const hook of hooks) {
    const answer = await call(hook, stopping);
    if (!answer || stopping) continue;
    stopping = answer;
    if (!opts.finishRound) break;
  }
  return stopping;
}

/** Trains from wherever the trainer is (step 0, an epoch boundary, or mid-epoch after a resume) to `epochs` or a stop. */
export async function runLoop(trainer: Trainer, settings: LoopSettings, progress: RunProgress, hooks: readonly TrainHook[]): Promise<LoopResult> {
  const clock = new EpochClock(progress);
  let metrics: ValidationMetrics | null = null;
  const finish = async (stop: StopReason | null): Promise<LoopResult> => {
    for (const hook of hooks) await hook.onTrainEnd?.(stop);
    if ((!stop || stop.kind === "early-stopping") && !metrics) metrics = trainer.evaluate();
    return { stop, metrics };
  };

  while (trainer.epoch < settings.epochs) {
    const epochStart = performance.now();
    if (!trainer.inEpoch) {
      trainer.startEpoch();
      progress.epochTrainMs = 0;
    }
    // A resumed epoch already spent this long training before the checkpoint.
    const earlierMs = progress.epochTrainMs;
    const begin: EpochBegin = { at: performance.now() };
    for (const hook of hooks) hook.onEpochBegin?.(begin);
    clock.start();
    while (trainer.stepInEpoch < trainer.stepsPerEpoch) {
      trainer.trainStep(settings.learningRateAt(trainer.step));
      let running: number | undefined;
      const step: StepEnd = {
        step: trainer.step,
        epoch: trainer.epoch,
        stepInEpoch: trainer.stepInEpoch,
        lastOfEpoch: trainer.stepInEpoch === trainer.stepsPerEpoch,
        at: performance.now(),
        runningLoss: () => (running ??= trainer.epochLoss()),
        samplesPerSec: () => {
          const ms = clock.elapsed();
          return ms > 0 ? (trainer.epochSamples * 1000) / ms : null;
        },
        offTheClock: (work) => clock.off(work),
      };
      const stop = await round(hooks, (h) => h.onStepEnd?.(step), { finishRound: false });
      if (stop) {
        clock.stop();
        return finish(stop);
      }
    }
    clock.stop();

    const loss = trainer.epochLoss();
    const samplesPerSec = progress.epochTrainMs > 0 ? (trainer.epochSamples * 1000) / progress.epochTrainMs : 0;
    trainer.endEpoch();
    const trained: EpochTrained = { epoch: trainer.epoch, step: trainer.step, loss };
    const unusable = await round(hooks, (h) => h.onEpochTrained?.(trained), { finishRound: false });
    if (unusable) return finish(unusable);

    const validated = trainer.epoch % settings.validateEveryEpochs === 0 || trainer.epoch === settings.epochs;
    if (validated) metrics = trainer.evaluate();
    const epochMetrics = validated ? metrics : null;
    const row: EpochRow = {
      epoch: trainer.epoch,
      step: trainer.step,
      loss,
      samplesPerSec: Math.round(samplesPerSec),
      wallMs: Math.round(performance.now() - epochStart + earlierMs),
      lr: settings.learningRateAt(Math.max(0, trainer.step - 1)),
      ...epochMetrics,
    };
    const end: EpochEnd = { ...trained, samplesPerSec, metrics: epochMetrics, row };
    const stop = await round(hooks, (h, stopping) => h.onEpochEnd?.(end, stopping), { finishRound: true });
    if (stop) return finish(stop);
  }
  return finish(null);
}
