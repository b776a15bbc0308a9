// Stops a run whose training loss is no longer finite: mid-epoch whenever the
// progress reporter reads the running loss (one host read serves both), and
// at every epoch's end before it is validated, logged or checkpointed.
import type { EpochBegin, EpochTrained, HookAnswer, StepEnd, TrainHook } from "../loop";
import { PROGRESS_EVERY_MS } from "./progress";

const FIX = "lower learningRate or set gradClipNorm";

export class DivergenceGuard implements TrainHook {
  private last = 0;

  constructor(private readonly everyMs = PROGRESS_EVERY_MS) {}

  onEpochBegin(e: EpochBegin): void {
    this.last = e.at;
  }

  onStepEnd(s: StepEnd): HookAnswer {
    if (s.at - this.last <= this.everyMs) return;
    this.last = s.at;
    const loss = s.runningLoss();
    if (!Number.isFinite(loss)) return { kind: "diverged", diagnosis: `diverged: the training loss became ${loss} at step ${s.step} (epoch ${s.epoch + 1})`, fix: FIX };
  }

  onEpochTrained(e: EpochTrained): HookAnswer {
    if (!Number.isFinite(e.loss)) return { kind: "diverged", diagnosis: `diverged: the training loss of epoch ${e.epoch} is ${e.loss}`, fix: FIX };
  }
}
