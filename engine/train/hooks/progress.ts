// Tier 3's live progress: the running loss, speed and ETA at most every
// PROGRESS_EVERY_MS during an epoch (the running loss costs a host read), and
// every epoch's end.
import type { EpochBegin, EpochEnd, StepEnd, TrainHook } from "../loop";
import type { ProgressStream } from "../progress";

export const PROGRESS_EVERY_MS = 400;

export class ProgressReporter implements TrainHook {
  private last = 0;
  private readonly totalSteps: number;

  constructor(
    private readonly stream: ProgressStream,
    private readonly run: { epochs: number; stepsPerEpoch: number; batchSize: number },
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {
    this.totalSteps = run.epochs * run.stepsPerEpoch;
  }

  onEpochBegin(e: EpochBegin): void {
    this.last = e.at;
  }

  onStepEnd(s: StepEnd): void {
    if (s.at - this.last <= this.everyMs) return;
    this.last = s.at;
    this.report(s.step, false, s.runningLoss(), s.samplesPerSec());
  }

  onEpochEnd(e: EpochEnd): void {
    this.report(e.step, true, e.loss, e.samplesPerSec);
  }

  private report(step: number, epochEnded: boolean, loss: number, samplesPerSec: number | null): void {
    const remaining = this.totalSteps - step;
    const etaMs = samplesPerSec ? Math.round((remaining * this.run.batchSize * 1000) / samplesPerSec) : null;
    this.stream.training({ loss, samplesPerSec, etaMs, epochEnded });
  }
}
