// A folds parent run's record, in its run.json under `folds`: K, the seed of
// the fold assignment, the config every fold is made from, and one entry per
// fold (its run, status and final validation metrics). Rewritten after every
// change, so a parent killed at any moment resumes from it: completed folds
// are kept, interrupted ones resume from their checkpoints, missing ones start.
// The summary's `folds` report adds the spread of the fold metrics and the
// out-of-fold (and test) predictions' files and metrics.
import { z } from "zod";
import type { ProfileName } from "../backend/profile";

export const FOLD_STATUSES = ["pending", "running", "completed", "stopped", "failed"] as const;

export const foldEntry = z.object({
  /** 1-based. */
  fold: z.number().int().positive(),
  runId: z.string().nullable(),
  status: z.enum(FOLD_STATUSES),
  /** Final validation metrics: on the held-out fold. */
  metrics: z.record(z.string(), z.number()),
  epochs: z.number().int().nullable(),
  /** Rows held out (validated on) by this fold. */
  rows: z.number().int().nullable(),
  diagnosis: z.string().nullable(),
});
export type FoldEntry = z.infer<typeof foldEntry>;

export const foldsRecord = z.object({
  k: z.number().int().min(2),
  /** `"folds": "auto"`: K came from the adaptive profile. */
  auto: z.boolean(),
  /** Seed of the fold assignment (the config's seed, or the pipeline's). */
  seed: z.number().int().min(0),
  stratified: z.boolean(),
  /** The train config as given, with K in place of "auto": each fold's config is made from it. */
  input: z.record(z.string(), z.unknown()),
  /** Where the config's relative paths resolve from, for every fold and every resume. */
  cwd: z.string(),
  runs: z.array(foldEntry),
});
export type FoldsRecord = z.infer<typeof foldsRecord>;

const predictionsFile = z.object({ file: z.string(), rows: z.number().int(), metrics: z.record(z.string(), z.number()) });

export const foldsReport = z.object({
  k: z.number().int(),
  auto: z.boolean(),
  seed: z.number().int(),
  stratified: z.boolean(),
  runs: z.array(foldEntry),
  /** Mean and sample standard deviation of the folds' final validation metrics. */
  mean: z.record(z.string(), z.number()),
  std: z.record(z.string(), z.number()),
  /** Out-of-fold predictions: every training row, predicted by the one fold model that did not train on it. */
  oof: predictionsFile.nullable(),
  /** data.valid rows, predicted by the average of the K fold models. */
  test: predictionsFile.nullable(),
  /** The fold whose model train() returns: the best held-out value of the monitored metric. */
  bestFold: z.number().int().nullable(),
});
export type FoldsReport = z.infer<typeof foldsReport>;

/** Folds chosen by `"folds": "auto"` for each adaptive profile: fewer where training is slow. */
export const AUTO_FOLDS: Readonly<Record<ProfileName, number>> = { cpu: 3, optimized: 5, enhanced: 5, aggressive: 10 };

/** K for a config's `folds`: the user's number, or the profile's for "auto". */
export function foldCount(folds: number | "auto", profile: ProfileName): number {
  return folds === "auto" ? AUTO_FOLDS[profile] : folds;
}
