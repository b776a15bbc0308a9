// Saves checkpoints to the run folder when the checkpoint policy says so:
// mid-epoch on the step cadence (off the training clock), at epoch ends
// (cadence, end of the run, new best), and where an interrupted run stopped.
// A checkpoint holds the model, the loop position with every random stream,
// the optimizer state and RunProgress, so a resumed run continues exactly.
// Its bytes are taken at the step. A local-first run's local copy is then
// committed by a worker thread while training goes on (one commit at a time,
// in order; the next save, or the end of the loop, waits for it and throws its
// error); a commit to the Drive directly is waited for.
import { commitCheckpoint, modelToFiles } from "../../store";
import { commitInThread } from "../../store/commit_thread";
import { saveAfterStep, saveAtEpochEnd, saveOnStop, type CheckpointPolicy } from "../../store/checkpoint_policy";
import type { EpochEnd, StepEnd, StopReason, TrainHook } from "../loop";
import { stateToFiles, type RunProgress } from "../state";
import type { Trainer } from "../trainer";
import type { BestTracker } from "./best";

export class CheckpointSaver implements TrainHook {
  /** Checkpoints committed by this run. */
  saved = 0;
  private lastSavedStep: number | null = null;
  private inFlight: Promise<void> | null = null;

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

  /** Writing a local-first run's local copy (the one with a mirror to tell): no fsync (the Drive copy is the durable one), committed in the background. */
  private get localCopy(): boolean {
    return this.onCommitted !== undefined;
  }

  async onStepEnd(s: StepEnd): Promise<void> {
    if (saveAfterStep(this.policy, s)) await s.offTheClock(() => this.save(false));
  }

  async onEpochEnd(e: EpochEnd, stopping: StopReason | null): Promise<void> {
    const decision = saveAtEpochEnd(this.policy, { epoch: e.epoch, step: e.step, endsRun: e.epoch === this.epochs || stopping !== null, isBest: this.best.improved });
    if (decision.save) await this.save(decision.asBest);
  }

  async onTrainEnd(stop: StopReason | null): Promise<void> {
    if (stop && saveOnStop(stop.kind, { step: this.trainer.step, lastSavedStep: this.lastSavedStep })) await this.save(false);
    await this.settle();
  }

  /** Waits for the commit in flight; a failed one (a full disk) throws here. */
  async settle(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = null;
    await pending;
  }

  private async save(asBest: boolean): Promise<void> {
    const { trainer, progress } = this;
    const files = { ...(await modelToFiles(trainer.model)), ...stateToFiles(trainer.getPosition(), trainer.optimizer.getState(), progress) };
    const options = {
      step: trainer.step,
      epoch: trainer.epoch,
      files,
      keepLast: this.policy.keepLast,
      keepBest: this.policy.keepBest,
      isBest: asBest,
      durable: !this.localCopy,
      meta: progress.best ? { metric: progress.best.metric, value: progress.best.value, stepInEpoch: trainer.stepInEpoch } : { stepInEpoch: trainer.stepInEpoch },
    };
    this.saved++;
    this.lastSavedStep = trainer.step;
    const commit = async () => {
      await (this.localCopy ? commitInThread(this.runDir, options) : commitCheckpoint(this.runDir, options));
      this.onCommitted?.();
    };
    if (!this.localCopy) return commit();
    await this.settle();
    const pending = commit();
    // Its error is thrown by settle(); until then it must not count as unhandled.
    pending.catch(() => undefined);
    this.inFlight = pending;
  }
}
