// Tier 3: the configured run: the training loop with its hooks. The hooks'
// order is the order of every round:
//   step end:   weight digest, checkpoint (step cadence), yield, divergence, progress, interrupt
//   epoch end:  metrics log, best model, early stopping, checkpoint, progress, interrupt
//   train end:  (checkpoint where an interrupted run stopped), reference profile
// An epoch is checked for divergence before it is validated; an interrupted
// run is saved where it stopped when the loop ends.
// The loop state lives in the Trainer and in RunProgress, both saved by
// checkpoints, so a resumed run continues exactly where the checkpoint was taken.
import { updateRunJson } from "../store";
import type { ResolvedConfig } from "./config";
import { BestTracker } from "./hooks/best";
import { CheckpointSaver } from "./hooks/checkpoint";
import { WeightDigests } from "./hooks/digests";
import { DivergenceGuard } from "./hooks/divergence";
import { EarlyStopping } from "./hooks/early_stopping";
import { InterruptWatch } from "./hooks/interrupt";
import { MetricsLog } from "./hooks/metrics_log";
import { monitorFor } from "./hooks/monitor";
import { ReferenceProfileWriter } from "./hooks/profile";
import { ProgressReporter } from "./hooks/progress";
import { EventLoopYielder } from "./hooks/yielder";
import { runLoop, type TrainHook } from "./loop";
import type { EpochRow, ProgressStream } from "./progress";
import { learningRateWithCycles } from "./extend";
import type { RunProgress } from "./state";
import type { TierKey, TierResult, TierRun } from "./tiers";
import type { Trainer } from "./trainer";

export interface FullRunContext {
  trainer: Trainer;
  config: ResolvedConfig;
  /** The folder the run writes: its local copy (local-first) or its Drive folder. */
  runDir: string;
  /** Set for a local-first run: called after each local write the Drive should get. */
  onStoreChange?: () => void;
  progress: RunProgress;
  history: EpochRow[];
  /** The earlier tiers' results, written to run.json as tier 3 starts. */
  tiers: Partial<Record<TierKey, TierResult>>;
  events: ProgressStream;
  signal?: AbortSignal;
  /** The epochs at which the schedule's cycles end (./extend.ts); default one cycle over config.epochs. */
  cycles?: number[];
}

export interface FullRun extends TierRun {
  stoppedEarly: boolean;
  /** Final validation metrics (empty without validation data and a run that did not end normally). */
  metrics: Record<string, number>;
}

export async function runFullTier(ctx: FullRunContext): Promise<FullRun> {
  const t0 = performance.now();
  const { trainer, config, runDir, progress } = ctx;
  await updateRunJson(runDir, { status: "running", tiers: ctx.tiers });

  const stepsPerEpoch = trainer.stepsPerEpoch;
  const monitor = monitorFor(config.earlyStopping?.monitor, trainer.validCount > 0);
  const best = new BestTracker(progress, monitor);
  const saver = new CheckpointSaver(trainer, progress, runDir, config.checkpoint, config.epochs, best, ctx.onStoreChange);
  const hooks: TrainHook[] = [
    new WeightDigests(trainer, runDir),
    new MetricsLog(runDir, ctx.history, ctx.onStoreChange),
    best,
    ...(config.earlyStopping ? [new EarlyStopping(progress.early, monitor, config.earlyStopping)] : []),
    saver,
    new EventLoopYielder(),
    new DivergenceGuard(),
    new ProgressReporter(ctx.events, { epochs: config.epochs, stepsPerEpoch, batchSize: config.batchSize }),
    new InterruptWatch(ctx.signal, config.epochs),
    new ReferenceProfileWriter(trainer, runDir),
  ];

  const { stop, metrics } = await runLoop(
    trainer,
    {
      epochs: config.epochs,
      validateEveryEpochs: config.validateEveryEpochs,
      learningRateAt: (step) => learningRateWithCycles(step, config.learningRate, config.schedule, stepsPerEpoch, ctx.cycles ?? [config.epochs]),
    },
    progress,
    hooks,
  );
  const stoppedEarly = stop?.kind === "early-stopping";
  const diagnosis = stop && stop.kind !== "early-stopping" ? stop.diagnosis : undefined;
  const fix = stop?.kind === "diverged" ? stop.fix : undefined;
  const result: TierResult = {
    status: stop?.kind === "diverged" ? "failed" : "passed",
    durationMs: Math.round(performance.now() - t0),
    diagnosis,
    fix,
    details: { epochs: trainer.epoch, steps: trainer.step, checkpoints: saver.saved, stoppedEarly },
  };
  const ends =
    stop?.kind === "diverged"
      ? { status: "failed" as const, diagnosis: `tier 3 failed: ${stop.diagnosis}`, fix: stop.fix }
      : stop?.kind === "interrupted"
        ? { status: "stopped" as const, diagnosis: stop.diagnosis }
        : null;
  return { result, ends, stoppedEarly, metrics: { ...metrics } };
}
