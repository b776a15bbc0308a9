// The trainer's part of a checkpoint: loop position, random streams,
// optimizer state (bit-exact float32 bytes), early-stopping and best-metric
// state. Written next to the model's model.json + weights.bin (modelToFiles)
// by the checkpoint hook.
import { z } from "zod";
import { rngStateSchema } from "../util/rng";
import { OPTIMIZERS } from "./options";
import type { OptimizerSnapshot } from "./optimizers";
import type { LoopPosition } from "./trainer";

export const TRAINER_STATE = "trainer_state.json";
export const OPTIMIZER_BIN = "optimizer.bin";

export const bestSchema = z.object({ metric: z.string(), value: z.number(), epoch: z.number().int(), step: z.number().int() });
export type Best = z.infer<typeof bestSchema>;

export const earlyStateSchema = z.object({ best: z.number().nullable(), wait: z.number().int().min(0) });
export type EarlyState = z.infer<typeof earlyStateSchema>;

export const trainerStateSchema = z.object({
  format: z.literal("tscolab-trainer/1"),
  step: z.number().int().min(0),
  epoch: z.number().int().min(0),
  stepInEpoch: z.number().int().min(0),
  order: z.array(z.number().int().min(0)),
  rng: z.object({ shuffle: rngStateSchema, step: rngStateSchema }),
  epochLossSum: z.number(),
  epochSamples: z.number().int().min(0),
  epochTrainMs: z.number().min(0),
  optimizer: z.object({
    kind: z.enum(OPTIMIZERS),
    t: z.number().int().min(0),
    slots: z.array(z.object({ shape: z.array(z.number().int()), offset: z.number().int(), length: z.number().int() })),
  }),
  early: earlyStateSchema,
  best: bestSchema.nullable(),
});
export type TrainerState = z.infer<typeof trainerStateSchema>;

/** Run state the hooks keep and every checkpoint saves: early stopping's, the best epoch, the loop's epoch training time. */
export interface RunProgress {
  early: EarlyState;
  best: Best | null;
  epochTrainMs: number;
}

export function stateToFiles(position: LoopPosition, optimizer: OptimizerSnapshot, progress: RunProgress): Record<string, Uint8Array | string> {
  let offset = 0;
  const slots = optimizer.slots.map((s) => {
    const entry = { shape: s.shape, offset, length: s.values.length };
    offset += s.values.length;
    return entry;
  });
  const bin = new Float32Array(offset);
  optimizer.slots.forEach((s, i) => bin.set(s.values, slots[i].offset));
  const state: TrainerState = {
    format: "tscolab-trainer/1",
    ...position,
    epochTrainMs: progress.epochTrainMs,
    optimizer: { kind: optimizer.kind, t: optimizer.t, slots },
    early: progress.early,
    best: progress.best,
  };
  return { [TRAINER_STATE]: JSON.stringify(state), [OPTIMIZER_BIN]: new Uint8Array(bin.buffer) };
}

export function stateFromFiles(files: Record<string, Uint8Array>): { position: LoopPosition; optimizer: OptimizerSnapshot; progress: RunProgress } {
  const json = files[TRAINER_STATE];
  const bin = files[OPTIMIZER_BIN];
  if (!json || !bin) throw new Error(`checkpoint lacks ${!json ? TRAINER_STATE : OPTIMIZER_BIN}`);
  const state = trainerStateSchema.parse(JSON.parse(Buffer.from(json).toString("utf8")));
  // Copy into an aligned buffer: a Buffer slice may start at any byte offset.
  const aligned = new Uint8Array(bin.byteLength);
  aligned.set(bin);
  const floats = new Float32Array(aligned.buffer);
  const { format: _format, optimizer, early, best, epochTrainMs, ...position } = state;
  return {
    position,
    optimizer: { kind: optimizer.kind, t: optimizer.t, slots: optimizer.slots.map((s) => ({ shape: s.shape, values: floats.slice(s.offset, s.offset + s.length) })) },
    progress: { early, best, epochTrainMs },
  };
}
