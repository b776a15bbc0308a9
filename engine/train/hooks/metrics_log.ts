// Every epoch's row: into the run's history (the live plot, the result) and
// appended to metrics.jsonl.
import { appendMetrics } from "../../store";
import type { EpochEnd, TrainHook } from "../loop";
import type { EpochRow } from "../progress";

export class MetricsLog implements TrainHook {
  constructor(
    private readonly runDir: string,
    private readonly history: EpochRow[],
    private readonly onAppended?: () => void,
  ) {}

  async onEpochEnd(e: EpochEnd): Promise<void> {
    this.history.push(e.row);
    await appendMetrics(this.runDir, e.row);
    this.onAppended?.();
  }
}
