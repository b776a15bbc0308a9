// Tracks the best epoch by the monitored metric in RunProgress (saved with
// every checkpoint), and tells the checkpoint hook when an epoch is a new best.
import type { EpochEnd, TrainHook } from "../loop";
import type { RunProgress } from "../state";
import { improves, monitoredValue, type Monitor } from "./monitor";

export class BestTracker implements TrainHook {
  /** The epoch that just ended is the best so far. */
  improved = false;

  constructor(
    private readonly progress: RunProgress,
    private readonly monitor: Monitor,
  ) {}

  onEpochEnd(e: EpochEnd): void {
    this.improved = false;
    const value = monitoredValue(this.monitor, e);
    if (value === undefined) return;
    const best = this.progress.best;
    if (best && !improves(this.monitor, value, best.value)) return;
    this.progress.best = { metric: this.monitor.metric, value, epoch: e.epoch, step: e.step };
    this.improved = true;
  }
}
