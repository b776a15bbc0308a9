// Jupyter's stop button and SIGINT abort the run's signal. Seen after a step,
// the run stops there; seen at an epoch's end, it stops after that epoch.
// Either way the checkpoint hook saves where it stopped, so the run resumes
// there. The last epoch and an early stop end the run anyway. It runs last in
// a round: a step or epoch is reported before the run stops after it.
import type { EpochEnd, HookAnswer, StepEnd, StopReason, TrainHook } from "../loop";

export class InterruptWatch implements TrainHook {
  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly epochs: number,
  ) {}

  onStepEnd(s: StepEnd): HookAnswer {
    // Not on an epoch's last step: the epoch end looks again, once the epoch is validated and logged.
    if (this.signal?.aborted && !s.lastOfEpoch) {
      return { kind: "interrupted", diagnosis: `interrupted at step ${s.step} (epoch ${s.epoch + 1}); checkpoint written, resume with --resume` };
    }
  }

  onEpochEnd(e: EpochEnd, stopping: StopReason | null): HookAnswer {
    if (this.signal?.aborted && e.epoch < this.epochs && !stopping) {
      return { kind: "interrupted", diagnosis: `interrupted after epoch ${e.epoch}; checkpoint written, resume with --resume` };
    }
  }
}
