// exportModel()'s options: the same names as the %export / `tscolab export`
// flags, plus knobs only the TypeScript API needs (probe sizes, shard size).
import { z } from "zod";
import { DEFAULT_SHARD_BYTES, formatName } from "./formats";

export const exportOptions = z
  .object({
    model: z.unknown().optional().describe("a tf.LayersModel in memory (a notebook variable)"),
    run: z.string().min(1).optional().describe("run id, run folder or 'last'"),
    checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint of the run"),
    drive: z.string().optional().describe("Drive root holding the runs"),
    formats: z.array(formatName).min(1, "give at least one format").default(["tfjs"]).describe("formats to write"),
    out: z.string().min(1).optional().describe("output folder (default: the run's exports/ folder, or ./exports)"),
    bundle: z.boolean().default(false).describe("also write DIR/bundle.zip"),
    /** run.json-style `dataset` section for an in-memory model (labels, normalization, ...). */
    dataset: z.unknown().optional(),
    cwd: z.string().optional(),
    shardBytes: z.number().int().positive().default(DEFAULT_SHARD_BYTES),
    /** Rows of seeded probe input for the parity check. */
    probeRows: z.number().int().positive().default(64),
    batchSizes: z.array(z.number().int().positive()).min(1).default([1, 8, 32]),
    warmupRuns: z.number().int().nonnegative().default(10),
    latencyRuns: z.number().int().positive().default(100),
    /** Batch size of the latency measurement. */
    latencyBatch: z.number().int().positive().default(1),
    seed: z.number().int().default(1234),
  })
  .refine((o) => o.model !== undefined || o.run !== undefined, { message: "nothing to export: pass a model (notebook variable) or --run RUN", path: ["run"] })
  .refine((o) => o.model === undefined || o.run === undefined, { message: "pass either a model or --run, not both", path: ["run"] });

export type ExportOptions = z.input<typeof exportOptions>;

export interface ExportHooks {
  /** One short line per stage ("tfjs-uint8: validating"); shown in place in a notebook. */
  onProgress?: (message: string) => void;
  /** Aborted on interrupt: the export stops between formats. */
  signal?: AbortSignal;
}
