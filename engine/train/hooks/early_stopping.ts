// Keras' EarlyStopping: stops the run once the monitored metric has not
// improved by more than `minDelta` for `patience` measured epochs. Its state
// lives in RunProgress, so a resumed run keeps counting where it was.
import type { EpochEnd, HookAnswer, TrainHook } from "../loop";
import type { EarlyState } from "../state";
import { improves, monitoredValue, type Monitor } from "./monitor";

export class EarlyStopping implements TrainHook {
  constructor(
    private readonly state: EarlyState,
    private readonly monitor: Monitor,
    private readonly settings: { patience: number; minDelta: number },
  ) {}

  onEpochEnd(e: EpochEnd): HookAnswer {
    const value = monitoredValue(this.monitor, e);
    if (value === undefined) return;
    if (this.state.best === null || improves(this.monitor, value, this.state.best, this.settings.minDelta)) {
      this.state.best = value;
      this.state.wait = 0;
    } else this.state.wait++;
    if (this.state.wait >= this.settings.patience) return { kind: "early-stopping" };
  }
}
