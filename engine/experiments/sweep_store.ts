// A sweep's record: `<drive>/tscolab/sweeps/<sweepId>/sweep.json` holds the
// base config, the space, the objective and every trial (params, run id,
// status, metrics), rewritten atomically after each change, so a sweep
// killed at any moment can be resumed from it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { TscolabError } from "../errors";
import { makeRunId } from "../store/runs";
import { rethrowDiskError } from "../store/disk_errors";
import { writeFileAtomic } from "../store/durable_fs";
import { processAlive } from "../util/process_alive";

export const SWEEP_JSON = "sweep.json";
export const sweepsDir = (driveRoot: string) => path.join(driveRoot, "tscolab", "sweeps");

export const TRIAL_STATUSES = ["pending", "running", "completed", "failed", "interrupted"] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export const trialRecord = z.object({
  name: z.string(),
  params: z.record(z.string(), z.unknown()),
  runId: z.string().nullable(),
  status: z.enum(TRIAL_STATUSES),
  /** Final validation metrics of the run. */
  metrics: z.record(z.string(), z.number()),
  /** The objective's final value. */
  value: z.number().nullable(),
  epochs: z.number().int().nullable(),
  /** Why it failed or was interrupted. */
  diagnosis: z.string().nullable(),
  durationMs: z.number().nullable(),
});
export type TrialRecord = z.infer<typeof trialRecord>;

export const sweepRecord = z.object({
  format: z.literal("tscolab-sweep/1"),
  sweepId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** "running" while a process works on it; "completed" once every trial completed or failed; "stopped" otherwise; "queued": on a queue, nobody following. */
  status: z.enum(["running", "completed", "stopped", "queued"]),
  base: z.record(z.string(), z.unknown()),
  space: z.object({
    grid: z.record(z.string(), z.array(z.unknown())),
    random: z.object({ n: z.number().int().positive(), space: z.record(z.string(), z.string()) }).nullable(),
    ablation: z.array(z.object({ key: z.string(), off: z.unknown() })).nullable(),
  }),
  objective: z.string(),
  mode: z.enum(["min", "max"]),
  parallel: z.number().int().positive(),
  cwd: z.string(),
  trials: z.array(trialRecord),
  writer: z.object({ pid: z.number().int(), host: z.string(), since: z.string() }).nullable(),
  /** Set when the trials go through a queue: its address without credentials, and the queue's name. */
  queue: z.object({ url: z.string(), name: z.string() }).nullable().optional(),
});
export type SweepRecord = z.infer<typeof sweepRecord>;

/** Makes `<sweeps>/<stamp>-<name>[-N]/` and returns its id and folder. */
export async function createSweepDir(driveRoot: string, name: string): Promise<{ sweepId: string; sweepDir: string }> {
  const root = sweepsDir(driveRoot);
  const base = makeRunId(name);
  try {
    await fs.promises.mkdir(root, { recursive: true });
    for (let n = 1; ; n++) {
      const sweepId = n === 1 ? base : `${base}-${n}`;
      try {
        await fs.promises.mkdir(path.join(root, sweepId));
        return { sweepId, sweepDir: path.join(root, sweepId) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  } catch (err) {
    rethrowDiskError(err, "creating the sweep folder", root);
  }
}

export async function writeSweep(sweepDir: string, record: SweepRecord): Promise<void> {
  const file = path.join(sweepDir, SWEEP_JSON);
  record.updatedAt = new Date().toISOString();
  try {
    await writeFileAtomic(file, JSON.stringify(record, null, 2) + "\n");
  } catch (err) {
    rethrowDiskError(err, "writing sweep.json", file, "the previous sweep.json and every run folder are intact");
  }
}

function sweepIds(driveRoot: string): string[] {
  try {
    return fs
      .readdirSync(sweepsDir(driveRoot))
      .filter((n) => !n.startsWith(".") && fs.existsSync(path.join(sweepsDir(driveRoot), n, SWEEP_JSON)))
      .sort();
  } catch {
    return [];
  }
}

/** A sweep by id, folder, or `last`. */
export function openSweep(driveRoot: string, ref: string, cwd: string): { sweepDir: string; record: SweepRecord } {
  const root = sweepsDir(driveRoot);
  const ids = sweepIds(driveRoot);
  const hint = "pass a sweep id printed by %sweep (or tscolab sweep), a sweep folder, or last";
  let dir: string | undefined;
  if (ref === "last") {
    if (!ids.length) throw new TscolabError(`no sweeps yet under ${root}`, `start one with %sweep, or point --drive at the Drive root that holds it`);
    dir = path.join(root, ids[ids.length - 1]!);
  } else if (fs.existsSync(path.join(root, ref, SWEEP_JSON))) dir = path.join(root, ref);
  else if (fs.existsSync(path.join(path.resolve(cwd, ref), SWEEP_JSON))) dir = path.resolve(cwd, ref);
  else {
    const hits = ids.filter((id) => id.includes(ref));
    if (hits.length === 1) dir = path.join(root, hits[0]!);
    else {
      const newest = ids.slice(-5).reverse();
      throw new TscolabError(`no sweep ${JSON.stringify(ref)} under ${root}${newest.length ? `; newest: ${newest.join(", ")}` : " (it has no sweeps)"}`, hint);
    }
  }
  const file = path.join(dir, SWEEP_JSON);
  let record: SweepRecord;
  try {
    record = sweepRecord.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  } catch (e) {
    throw new TscolabError(
      `${file} is not a valid sweep record: ${(e as Error).message.split("\n")[0]}`,
      "start a new sweep; the trials' run folders are intact and listed by tscolab runs --where sweepId=...",
    );
  }
  return { sweepDir: dir, record };
}

export const currentSweepWriter = () => ({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() });

/** Refuses to resume a sweep another live process on this machine is still running. */
export function assertSweepNotRunning(record: SweepRecord): void {
  const w = record.writer;
  if (record.status !== "running" || !w || w.host !== os.hostname() || w.pid === process.pid || !processAlive(w.pid)) return;
  throw new TscolabError(
    `sweep ${record.sweepId} is running right now in process ${w.pid} (since ${w.since})`,
    `wait for it, or stop it (Ctrl-C / the stop button) and then --resume ${record.sweepId}`,
  );
}
