// A pipeline's record: `<drive>/tscolab/pipelines/<pipelineId>/pipeline.json`
// holds the config, K, the fold seed and every stage (its folds run, status,
// out-of-fold metrics), rewritten atomically after each change; the derived
// tables of stacked stages live beside it in `stages/<name>/`. The runs are
// the record of what trained: a resume takes each stage's state from its
// folds run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { TscolabError } from "../errors";
import { rethrowDiskError } from "../store/disk_errors";
import { makeDirs, writeFileAtomic } from "../store/durable_fs";
import { makeRunId } from "../store/runs";
import { writerSchema } from "../store/writer";
import { processAlive } from "../util/process_alive";

export const PIPELINE_JSON = "pipeline.json";
export const pipelinesDir = (driveRoot: string) => path.join(driveRoot, "tscolab", "pipelines");

export const STAGE_STATUSES = ["pending", "running", "completed", "stopped", "failed"] as const;

export const stageRecord = z.object({
  name: z.string(),
  inputs: z.array(z.string()),
  /** The stage's folds parent run. */
  runId: z.string().nullable(),
  status: z.enum(STAGE_STATUSES),
  /** Out-of-fold metrics over every training row. */
  metrics: z.record(z.string(), z.number()),
  /** Mean and spread of the folds' own validation metrics. */
  mean: z.record(z.string(), z.number()),
  std: z.record(z.string(), z.number()),
  /** Metrics of the fold models' average on data.valid, when given. */
  test: z.record(z.string(), z.number()).nullable(),
  oofFile: z.string().nullable(),
  testFile: z.string().nullable(),
  diagnosis: z.string().nullable(),
  durationMs: z.number().nullable(),
});
export type StageRecord = z.infer<typeof stageRecord>;

export const pipelineRecord = z.object({
  format: z.literal("tscolab-pipeline/1"),
  pipelineId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(["running", "completed", "stopped", "failed"]),
  /** The config as given, with K in place of "auto". */
  config: z.record(z.string(), z.unknown()),
  folds: z.number().int().min(2),
  seed: z.number().int().min(0),
  /** Where the config's relative paths resolve from. */
  cwd: z.string(),
  stages: z.array(stageRecord),
  diagnosis: z.string().nullable(),
  writer: writerSchema.nullable(),
});
export type PipelineRecord = z.infer<typeof pipelineRecord>;

export async function createPipelineDir(driveRoot: string, name: string): Promise<{ pipelineId: string; pipelineDir: string }> {
  const root = pipelinesDir(driveRoot);
  const base = makeRunId(name);
  try {
    makeDirs(root);
    for (let n = 1; ; n++) {
      const pipelineId = n === 1 ? base : `${base}-${n}`;
      try {
        await fs.promises.mkdir(path.join(root, pipelineId));
        return { pipelineId, pipelineDir: path.join(root, pipelineId) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  } catch (err) {
    rethrowDiskError(err, "creating the pipeline folder", root);
  }
}

export async function writePipeline(pipelineDir: string, record: PipelineRecord): Promise<void> {
  const file = path.join(pipelineDir, PIPELINE_JSON);
  record.updatedAt = new Date().toISOString();
  try {
    await writeFileAtomic(file, JSON.stringify(record, null, 2) + "\n");
  } catch (err) {
    rethrowDiskError(err, "updating pipeline.json", file, "the previous pipeline.json and every stage's runs are intact");
  }
}

/** Opens a pipeline by id, folder or `last` (the newest). */
export function openPipeline(driveRoot: string, ref: string, cwd: string): { pipelineDir: string; record: PipelineRecord } {
  const root = pipelinesDir(driveRoot);
  let dir: string;
  const ids = () => {
    try {
      return fs
        .readdirSync(root)
        .filter((n) => !n.startsWith(".") && fs.existsSync(path.join(root, n, PIPELINE_JSON)))
        .sort();
    } catch {
      return [];
    }
  };
  if (ref === "last") {
    const all = ids();
    if (!all.length) throw new TscolabError(`no pipelines yet under ${root}`, "start one with tscolab pipeline --config FILE, or point --drive at the Drive root that holds it");
    dir = path.join(root, all[all.length - 1]!);
  } else if (/[\\/]/.test(ref) || ref.startsWith(".")) dir = path.resolve(cwd, ref);
  else dir = path.join(root, ref);
  const file = path.join(dir, PIPELINE_JSON);
  if (!fs.existsSync(file)) {
    const newest = ids().slice(-5).reverse();
    throw new TscolabError(`no pipeline ${JSON.stringify(ref)} under ${root}${newest.length ? `; newest: ${newest.join(", ")}` : ""}`, "pass a pipeline id, its folder, or last");
  }
  let record: PipelineRecord;
  try {
    record = pipelineRecord.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  } catch (e) {
    throw new TscolabError(`${file} is not a valid pipeline record: ${(e as Error).message.split("\n")[0]}`, "start the pipeline anew with --config");
  }
  return { pipelineDir: dir, record };
}

/** Refuses a pipeline that another live process on this machine is running. */
export function assertPipelineNotRunning(record: PipelineRecord): void {
  const w = record.writer;
  if (record.status !== "running" || !w || w.host !== os.hostname() || w.pid === process.pid || !processAlive(w.pid)) return;
  throw new TscolabError(
    `pipeline ${record.pipelineId} is running right now in process ${w.pid} (since ${w.since})`,
    `wait for it, or interrupt it and then --resume ${record.pipelineId}`,
  );
}
