// What travels through the queue. A job names a trial, nothing more: its id
// is `<sweepId>--<trial>` (so enqueuing a trial twice is one job), and its
// data is the sweep id and the trial's name. The config a worker trains comes
// from sweep.json on the shared Drive, never from Redis, so whoever can write
// to Redis still cannot make a worker run a config of their choosing.
import { z } from "zod";

export const QUEUE_NAME = "tscolab-trials";
export const JOB_NAME = "trial";

/** Sweep ids and trial names become folder and key names: plain characters only, never `.` or `..`. */
const safeName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, "letters, digits, . _ - only");

export const trialJobData = z.object({
  format: z.literal("tscolab-trial/1"),
  sweepId: safeName,
  trial: safeName,
});
export type TrialJobData = z.infer<typeof trialJobData>;

export const trialJobId = (sweepId: string, trial: string) => `${sweepId}--${trial}`;

/** What a worker reports while it trains (BullMQ job progress). */
export const trialJobProgress = z.object({
  worker: z.string(),
  runId: z.string().nullable(),
  phase: z.string().nullable(),
  epoch: z.number().nullable(),
  epochs: z.number().nullable(),
  value: z.number().nullable(),
  resumed: z.boolean().optional(),
});
export type TrialJobProgress = z.infer<typeof trialJobProgress>;

/** A finished trial as the worker returns it (the run folder stays the record). */
export const trialJobResult = z.object({
  runId: z.string().nullable(),
  status: z.enum(["completed", "failed"]),
  metrics: z.record(z.string(), z.number()),
  epochs: z.number().nullable(),
  diagnosis: z.string().nullable(),
  worker: z.string(),
});
export type TrialJobResult = z.infer<typeof trialJobResult>;

/**
 * Job options. A trial whose process dies without a word (out of memory,
 * say) is tried three times; bad input fails at once (the worker throws
 * BullMQ's UnrecoverableError). A worker lost mid-trial is not a failed
 * attempt: its job stalls and is handed on, up to `MAX_STALLS` times.
 */
export const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "fixed" as const, delay: 1000 },
  removeOnComplete: { age: 30 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const MAX_STALLS = 20;
