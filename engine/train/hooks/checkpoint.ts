// Saves checkpoints to the run folder when the checkpoint policy says so:
// mid-epoch on the step cadence (off the training clock), at epoch ends
// (cadence, end of the run, new best), and where an interrupted run stopped.
// A checkpoint holds the model, the loop position with every random stream,
// the optimizer state and RunProgress, so a resumed run continues exactly.
import { commitCheckpoint, modelToFiles } from "../../store";
import { saveAfterStep, saveAtEpochEnd, saveOnStop, type CheckpointPolicy } from "../../store/checkpoint_policy";
import type { EpochEnd, StepEnd, StopReason, TrainHook } from "../loop";
import { stateToFiles, type RunProgress } from "../state";
import type { Trainer } from "../trainer";
import type { BestTracker } from "./best";

export class CheckpointSaver implements TrainHook {
  /** Checkpoints committed by this run. */
  saved = 0;
  /** fsync the commits (off for a local-first run's local copy: the Drive copy is the durable one). */
  durable = true;
  private lastSavedStep: number | null = null;

  /** `best` must run before this hook at epoch ends: its verdict decides best/. */
  constructor(
    private readonly trainer: Trainer,
    private readonly progress: RunProgress,
    private readonly runDir: string,
    private readonly policy: CheckpointPolicy,
    private readonly epochs: number,
    private readonly best: BestTracker,
    /** Called after every commit (a local-first run's mirror copies it to the Drive). */
    private readonly onCommitted?: () => void,
  ) {}

  async onStepEnd(s: StepEnd): Promise<void> {
    if (saveAfterStep(this.policy, s)) await s.offTheClock(() => this.save(false));
  }

  async onEpochEnd(e: EpochEnd, stopping: StopReason | null): Promise<void> {
    const decision = saveAtEpochEnd(this.policy, { epoch: e.epoch, step: e.step, endsRun: e.epoch === this.epochs || stopping !== null, isBest: this.best.improved });
    if (decision.save) await this.save(decision.asBest);
  }

  async onTrainEnd(stop: StopReason | null): Promise<void> {
    if (stop && saveOnStop(stop.kind, { step: this.trainer.step, lastSavedStep: this.lastSavedStep })) await this.save(false);
  }

  private async save(asBest: boolean): Promise<void> {
    const { trainer, progress } = this;
    const files = { ...(await modelToFiles(trainer.model)), ...stateToFiles(trainer.getPosition(), trainer.optimizer.getState(), progress) };
    await commitCheckpoint(this.runDir, {
      step: trainer.step,
      epoch: trainer.epoch,
      files,
      keepLast: this.policy.keepLast,
      keepBest: this.policy.keepBest,
      isBest: asBest,
      durable: this.durable,
      meta: progress.best ? { metric: progress.best.metric, value: progress.best.value, stepInEpoch: trainer.stepInEpoch } : { stepInEpoch: trainer.stepInEpoch },
    });
    this.saved++;
    this.lastSavedStep = trainer.step;
    this.onCommitted?.();
  }
}
