// %drive's engine: mount a folder as the Drive root (checked writable with a
// real synced write), and report the root, its free space and its runs, with
// the state of local-first runs' mirrors: the ones this process runs, and
// local copies left by others. `sync` copies those local copies to the Drive.
// The Drive is probed through the Drive I/O process first, so a hung Drive
// makes status say so instead of hanging the kernel.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { mountDrive, resolveDriveRoot, runsDir, unmountedDriveRoot } from "./drive_root";
import { listRunIds, listValidCheckpoints, RUN_JSON, runJsonSchema, BEST_DIR, CHECKPOINTS_DIR, parseCheckpointName, rethrowDiskError } from ".";
import { fsyncDir, makeDirs, writeFileSynced } from "./durable_fs";
import { DriveIO, DriveIOError, driveCallTimeoutMs } from "./drive_io";
import { localDriveRoot, resolveLocalRoot } from "./local_root";
import { activeMirrors, RunMirror, type MirrorState } from "./mirror";
import { assertNoOtherWriter } from "./writer";

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

/** A local copy of one of this Drive's runs (a local-first run). */
export interface LocalCopy {
  runId: string;
  localDir: string;
  /** Its mirror, when this process runs one (or `sync` just ran it). */
  mirror: MirrorState | null;
}

export interface DriveStatus {
  root: string;
  runsDir: string;
  exists: boolean;
  freeBytes: number | null;
  totalBytes: number | null;
  runs: RunRow[];
  /** Set when the Drive did not answer the probe (its runs are not listed then). */
  unavailable?: string;
  /** Local copies of this Drive's runs and their mirrors. */
  local: LocalCopy[];
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

/** Asks the Drive I/O process to list the root, bounded: a hung or disconnected Drive gives the reason instead. */
async function probe(root: string): Promise<string | undefined> {
  if (!fs.existsSync(path.dirname(root))) return undefined;
  const io = new DriveIO(Math.min(driveCallTimeoutMs(), 10_000));
  try {
    await io.call({ op: "ping", driveRoot: root });
    return undefined;
  } catch (err) {
    if (!(err instanceof DriveIOError)) throw err;
    // A root not created yet is no failure.
    return err.code === "ENOENT" && !fs.existsSync(root) ? undefined : `${err.code}: ${err.message}`;
  } finally {
    io.close();
  }
}

/** This Drive's runs that have a local copy: the active mirrors' and the ones left on disk under the local root. */
async function localCopies(root: string, cwd?: string): Promise<LocalCopy[]> {
  const copies = new Map<string, LocalCopy>();
  for (const m of activeMirrors()) {
    const s = m.status();
    if (path.resolve(s.driveRoot) === root) copies.set(s.localDir, { runId: s.runId, localDir: s.localDir, mirror: s });
  }
  const localRoot = resolveLocalRoot(undefined, cwd);
  if (localRoot) {
    const base = localDriveRoot(localRoot, root);
    for (const id of await listRunIds(base)) {
      const dir = path.join(runsDir(base), id);
      if (!copies.has(dir)) copies.set(dir, { runId: id, localDir: dir, mirror: null });
    }
  }
  return [...copies.values()].sort((a, b) => b.runId.localeCompare(a.runId));
}

/** The Drive root in force (see ./drive_root.ts), its local copies and mirrors, free space and runs newest first. */
export async function driveStatus(opts: { drive?: string; cwd?: string; verify?: boolean } = {}): Promise<DriveStatus> {
  const root = resolveDriveRoot(opts.drive, opts.cwd);
  const local = await localCopies(root, opts.cwd);
  const unavailable = await probe(root);
  if (unavailable) return { root, runsDir: runsDir(root), exists: true, freeBytes: null, totalBytes: null, runs: [], unavailable, local };
  const runs = (await listRunIds(root)).reverse().map((id) => runRow(root, id));
  if (opts.verify) {
    for (const r of runs) {
      const { valid, corrupt } = await listValidCheckpoints(path.join(runsDir(root), r.runId));
      r.verified = { valid: valid.length, corrupt: corrupt.map((c) => c.message) };
    }
  }
  return { root, runsDir: runsDir(root), exists: fs.existsSync(root), ...diskSpace(root), runs, local };
}

/**
 * Copies what a local copy holds to the Drive (a bounded wait): a run this process trains is only waited for (its
 * mirror flushed); one left by an ended process gets a mirror of its own. Null when its run.json is unreadable or
 * another process is writing it. The copy is removed once the Drive holds all of it, unless its run was left
 * "running" (it stays for a fast --resume).
 */
export async function syncLocalCopy(root: string, runId: string, localDir: string, timeoutMs: number): Promise<MirrorState | null> {
  const running = activeMirrors().find((m) => m.opts.localDir === localDir);
  if (running) return running.flush(timeoutMs);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(path.join(localDir, RUN_JSON), "utf8"));
    assertNoOtherWriter(runId, json as { status: string; writer?: unknown });
  } catch {
    return null;
  }
  const ck = (json.config as { checkpoint?: { keepLast?: number; keepBest?: boolean } } | undefined)?.checkpoint;
  const mirror = new RunMirror({
    runId,
    driveRoot: root,
    localDir,
    driveDir: path.join(runsDir(root), runId),
    createdAt: typeof json.createdAt === "string" ? json.createdAt : undefined,
    keepLast: ck?.keepLast,
    keepBest: ck?.keepBest,
  });
  const state = await mirror.flush(timeoutMs);
  if (json.status !== "running") mirror.finish();
  if (!state.onlyLocal.length || json.status === "running") mirror.close();
  return state;
}

/**
 * Copies every local copy of this Drive's runs to the Drive (each waits at
 * most `timeoutMs`); a copy that is complete and verified there, of a run
 * nobody trains, is removed locally. Runs this process trains are only
 * waited for; runs another live process trains are left to it.
 */
export async function driveSync(opts: { drive?: string; cwd?: string; timeoutMs?: number } = {}): Promise<DriveStatus> {
  const root = resolveDriveRoot(opts.drive, opts.cwd);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const synced: LocalCopy[] = [];
  for (const copy of await localCopies(root, opts.cwd)) {
    const state = await syncLocalCopy(root, copy.runId, copy.localDir, timeoutMs);
    if (state) synced.push({ ...copy, mirror: state });
  }
  const status = await driveStatus({ drive: root, cwd: opts.cwd });
  const others = status.local.filter((c) => !synced.some((s) => s.localDir === c.localDir));
  return { ...status, local: [...synced, ...others] };
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
