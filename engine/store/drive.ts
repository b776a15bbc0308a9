// %drive's engine: mount a folder as the Drive root (checked writable with a
// real synced write), and report the root, its free space and its runs.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { mountDrive, resolveDriveRoot, runsDir, unmountedDriveRoot } from "./drive_root";
import { listRunIds, listValidCheckpoints, RUN_JSON, runJsonSchema, BEST_DIR, CHECKPOINTS_DIR, parseCheckpointName, rethrowDiskError } from ".";
import { fsyncDir, makeDirs, writeFileSynced } from "./durable_fs";

export interface RunRow {
  runId: string;
  runName: string;
  status: string;
  resumable: boolean;
  createdAt: string;
  updatedAt: string;
  /** Highest step among checkpoint folders (not verified here: `%train --resume` verifies). */
  newestStep: number | null;
  checkpoints: number;
  bestStep: number | null;
  bytes: number;
  /** With `verify`: how many checkpoints verify, and one line per corrupt one. */
  verified?: { valid: number; corrupt: string[] };
}

export interface DriveStatus {
  root: string;
  runsDir: string;
  exists: boolean;
  freeBytes: number | null;
  totalBytes: number | null;
  runs: RunRow[];
}

function folderBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

/** The nearest existing ancestor's filesystem numbers (the root may not exist yet). */
function diskSpace(dir: string): { freeBytes: number | null; totalBytes: number | null } {
  let probe = dir;
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  try {
    const s = fs.statfsSync(probe);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return { freeBytes: null, totalBytes: null };
  }
}

function runRow(driveRoot: string, runId: string): RunRow {
  const runDir = path.join(runsDir(driveRoot), runId);
  let json: Partial<ReturnType<typeof runJsonSchema.parse>> = {};
  try {
    json = runJsonSchema.parse(JSON.parse(fs.readFileSync(path.join(runDir, RUN_JSON), "utf8")));
  } catch {
    json = { status: "unreadable run.json" };
  }
  let steps: number[] = [];
  try {
    steps = fs
      .readdirSync(path.join(runDir, CHECKPOINTS_DIR))
      .map(parseCheckpointName)
      .filter((s): s is number => s !== undefined);
  } catch {
    /* no checkpoints folder */
  }
  let bestStep: number | null = null;
  try {
    bestStep = JSON.parse(fs.readFileSync(path.join(runDir, BEST_DIR, "MANIFEST.json"), "utf8")).step ?? null;
  } catch {
    /* no best yet */
  }
  return {
    runId,
    runName: json.runName ?? runId,
    status: json.status ?? "unknown",
    resumable: json.resumable ?? false,
    createdAt: json.createdAt ?? "",
    updatedAt: json.updatedAt ?? "",
    newestStep: steps.length ? Math.max(...steps) : null,
    checkpoints: steps.length,
    bestStep,
    bytes: folderBytes(runDir),
  };
}

/** The Drive root in force (see ./drive_root.ts), free space and runs newest first. */
export async function driveStatus(opts: { drive?: string; cwd?: string; verify?: boolean } = {}): Promise<DriveStatus> {
  const root = resolveDriveRoot(opts.drive, opts.cwd);
  const runs = (await listRunIds(root)).reverse().map((id) => runRow(root, id));
  if (opts.verify) {
    for (const r of runs) {
      const { valid, corrupt } = await listValidCheckpoints(path.join(runsDir(root), r.runId));
      r.verified = { valid: valid.length, corrupt: corrupt.map((c) => c.message) };
    }
  }
  return { root, runsDir: runsDir(root), exists: fs.existsSync(root), ...diskSpace(root), runs };
}

/** Makes `dir` the Drive root for this session, after creating it and proving it takes a synced write. */
export async function driveMount(dir: string | undefined, cwd = process.cwd()): Promise<DriveStatus> {
  const target = dir ? path.resolve(cwd, dir) : unmountedDriveRoot(cwd);
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory())
    throw new TscolabError(`cannot mount ${target}: it is a file, not a folder`, "pass a folder (it is created if missing)");
  const runs = runsDir(target);
  const probe = path.join(runs, `.tmp-mount-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    makeDirs(runs);
    await writeFileSynced(probe, "tscolab mount probe\n");
    fs.rmSync(probe);
    await fsyncDir(runs);
  } catch (err) {
    fs.rmSync(probe, { force: true });
    if ((err as NodeJS.ErrnoException).code === "EACCES" || (err as NodeJS.ErrnoException).code === "EPERM")
      throw new TscolabError(`cannot mount ${target}: no permission to write there`, "pick a folder you can write to");
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
      throw new TscolabError(`cannot mount ${target}: the folder cannot be created there (${(err as NodeJS.ErrnoException).code})`, "pick a folder on a normal, writable disk");
    rethrowDiskError(err, "mounting the Drive root (test write)", target, "nothing was changed");
  }
  mountDrive(target, cwd);
  return driveStatus({ drive: target });
}
