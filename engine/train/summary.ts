// The summary train() returns and `tscolab train --json` prints.
import { z } from "zod";
import { datasetInfo } from "../data/schema";
import { mirrorStateSchema } from "../store/mirror";
import { foldsReport } from "../folds/record";
import { resolvedConfig } from "./config";
import { bestSchema } from "./state";

export const tierResultSchema = z.object({
  status: z.enum(["passed", "failed", "skipped"]),
  durationMs: z.number(),
  diagnosis: z.string().optional(),
  fix: z.string().optional(),
  details: z.record(z.string(), z.unknown()),
});

export const trainSummarySchema = z.object({
  runId: z.string(),
  runDir: z.string(),
  status: z.enum(["completed", "stopped", "failed"]),
  /** One line: why it failed or stopped. */
  diagnosis: z.string().optional(),
  fix: z.string().optional(),
  tiers: z.object({ "1": tierResultSchema, "2": tierResultSchema, "3": tierResultSchema }),
  /** Completed epochs. */
  epochs: z.number().int(),
  stoppedEarly: z.boolean(),
  metrics: z.record(z.string(), z.number()),
  best: bestSchema.nullable(),
  samplesPerSec: z.number().nullable(),
  durationMs: z.number(),
  resumedFrom: z.string().nullable(),
  notes: z.array(z.string()),
  backend: z.string(),
  config: resolvedConfig,
  dataset: datasetInfo,
  /** A local-first run's Drive copy at the end: complete, or what is still only local and why. Null when the run wrote to the Drive directly. */
  mirror: mirrorStateSchema.nullable().optional(),
  /** A folds run: every fold's run and metrics, their spread, the out-of-fold and test predictions. */
  folds: foldsReport.optional(),
});
export type TrainSummary = z.infer<typeof trainSummarySchema>;
