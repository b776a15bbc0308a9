// At the end of a run that trained to its end (all epochs, or early
// stopping), writes the run's reference profile (profile.json): its training
// inputs and its model's outputs on the validation rows
// (engine/monitor/profile.ts), for monitor to compare new data against.
// Text runs have no feature columns to profile: monitor scores tables only.
import { writeRunProfile } from "../../monitor/profile";
import type { StopReason, TrainHook } from "../loop";
import type { Trainer } from "../trainer";

export class ReferenceProfileWriter implements TrainHook {
  constructor(
    private readonly trainer: Trainer,
    private readonly runDir: string,
  ) {}

  async onTrainEnd(stop: StopReason | null): Promise<void> {
    if (stop && stop.kind !== "early-stopping") return;
    const task = this.trainer.data.info.task;
    if (task !== "classification" && task !== "regression") return;
    await writeRunProfile(this.runDir, this.trainer.data, this.trainer.model, this.trainer.step);
  }
}
