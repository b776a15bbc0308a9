// Extending a run: `--resume RUN --epochs N` with N above the run's epoch
// count continues it to N epochs. Every checkpoint holds the whole loop state,
// so the added epochs continue exactly where the run ended; with a constant
// schedule (warm-up included) the extended run is bit-identical to one
// trained to N epochs from the start.
//
// The learning-rate schedule: a cosine schedule already annealed to its
// minimum over the first run's steps, so an extension starts a new cosine
// cycle over the added epochs (a warm restart, as in SGDR): back to the base
// rate, down to the minimum at the new end, no second warm-up. The epochs at
// which each cycle ends are run.json's `scheduleCycles`, so a resumed or
// reproduced extension follows the same rates.
import { z } from "zod";
import { UsageError } from "../errors";
import { updateRunJson } from "../store";
import type { ResolvedConfig } from "./config";
import { learningRateAt, type ScheduleSettings } from "./schedule";

/** run.json's record of the schedule's cycles: the epoch at which each ends, in order. */
export const scheduleCycles = z.array(z.number().int().positive()).min(1);

export interface Extension {
  config: ResolvedConfig;
  cycles: number[];
  note: string;
}

/** The cycle ends stored with a run, or one cycle over the configured epochs. */
export function storedCycles(runJson: Record<string, unknown>, epochs: number): number[] {
  const stored = scheduleCycles.safeParse(runJson.scheduleCycles);
  return stored.success ? stored.data : [epochs];
}

/**
 * Plans an extension when `requested` is above the run's epochs: the new
 * config and cycles, written to run.json before training continues (so an
 * interrupted extension resumes to the new count). Null when nothing changes.
 */
export async function extendRun(
  run: { runId: string; runDir: string; runJson: Record<string, unknown> },
  stored: ResolvedConfig,
  requested: number | undefined,
  completedEpochs: number,
): Promise<Extension | null> {
  if (requested === undefined || requested === stored.epochs) return null;
  if (!Number.isInteger(requested) || requested < 1) throw new UsageError(`--epochs: expected a positive integer, got ${requested}`);
  if (requested < stored.epochs) {
    throw new UsageError(
      `--epochs ${requested} is below run ${run.runId}'s ${stored.epochs} epochs (${completedEpochs} done); a resumed run can only be extended: pass more than ${stored.epochs}, or drop --epochs`,
    );
  }
  const cycles = [...storedCycles(run.runJson, stored.epochs), requested];
  const config: ResolvedConfig = { ...stored, epochs: requested };
  await updateRunJson(run.runDir, { config, scheduleCycles: cycles });
  const schedule =
    stored.schedule.type === "cosine" ? `; the cosine schedule restarts over epochs ${stored.epochs + 1}-${requested}` : "; the constant learning rate continues unchanged";
  return { config, cycles, note: `extending run ${run.runId} from ${stored.epochs} to ${requested} epochs${schedule}` };
}

/**
 * The learning rate at a global step with the run's cycles: the first cycle
 * is the configured schedule (warm-up included) over its epochs; each later
 * cycle restarts a cosine schedule (no warm-up) over its own epochs. With
 * one cycle this is exactly learningRateAt over the whole run.
 */
export function learningRateWithCycles(step: number, base: number, schedule: ScheduleSettings, stepsPerEpoch: number, cycles: readonly number[]): number {
  let start = 0;
  for (let k = 0; k < cycles.length; k++) {
    const end = cycles[k] * stepsPerEpoch;
    if (step < end || k === cycles.length - 1) {
      if (k === 0) return learningRateAt(step, base, schedule, stepsPerEpoch, end);
      return learningRateAt(step - start, base, { ...schedule, warmupEpochs: 0 }, stepsPerEpoch, end - start);
    }
    start = end;
  }
  return base;
}
