// Steps are synchronous tfjs work: between them the loop must let Node's event
// loop run, or SIGINT handlers and the kernel's interrupt (which abort the
// run's signal) would only be seen after the whole run. At most every
// `everyMs`, off the epoch's training clock.
import { yieldToEventLoop } from "../event_loop";
import type { EpochBegin, StepEnd, TrainHook } from "../loop";

export const YIELD_EVERY_MS = 25;

export class EventLoopYielder implements TrainHook {
  private last = 0;

  constructor(private readonly everyMs = YIELD_EVERY_MS) {}

  onEpochBegin(e: EpochBegin): void {
    this.last = e.at;
  }

  async onStepEnd(s: StepEnd): Promise<void> {
    if (s.at - this.last <= this.everyMs) return;
    await s.offTheClock(yieldToEventLoop);
    this.last = performance.now();
  }
}
