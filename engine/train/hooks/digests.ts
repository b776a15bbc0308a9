// Records a sha256 of the model's weights as training goes (digests.jsonl),
// so a reproduction of the run can name the first step where its weights
// differ from the original's. Every step for models up to
// DIGEST_EVERY_STEP_PARAMS parameters (one host read of all weights per
// step), else at every epoch's end. Off the training clock; taken before
// any hook can stop the round, so every step taken is recorded. Lines are
// buffered and appended at each epoch's end and when the loop ends (a kill
// mid-epoch loses that epoch's lines: a later comparison is only coarser).
import { createHash } from "node:crypto";
import { appendDigests, rewindDigests, type DigestLine } from "../../store";
import type { EpochEnd, StepEnd, TrainHook } from "../loop";
import type { Trainer } from "../trainer";

export const DIGEST_EVERY_STEP_PARAMS = 100_000;

/** sha256 of every weight's float32 bytes, in the model's weight order. */
export function weightsDigest(model: Trainer["model"]): string {
  const hash = createHash("sha256");
  for (const w of model.getWeights()) {
    const values = w.dataSync() as Float32Array;
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest("hex");
}

export class WeightDigests implements TrainHook {
  private readonly everyStep: boolean;
  private rewound = false;
  private pending: DigestLine[] = [];

  constructor(
    private readonly trainer: Trainer,
    private readonly runDir: string,
  ) {
    this.everyStep = trainer.model.countParams() <= DIGEST_EVERY_STEP_PARAMS;
  }

  async onStepEnd(s: StepEnd): Promise<void> {
    // A resumed run drops what a killed attempt recorded after its checkpoint.
    if (!this.rewound) {
      await rewindDigests(this.runDir, s.step - 1);
      this.rewound = true;
    }
    if (this.everyStep) await s.offTheClock(async () => void this.pending.push({ step: s.step, epoch: s.epoch + 1, sha256: weightsDigest(this.trainer.model) }));
  }

  onEpochEnd(e: EpochEnd): void {
    if (!this.everyStep) this.pending.push({ step: e.step, epoch: e.epoch, sha256: weightsDigest(this.trainer.model) });
    this.flush();
  }

  onTrainEnd(): void {
    this.flush();
  }

  private flush(): void {
    appendDigests(this.runDir, this.pending);
    this.pending = [];
  }
}
