// Atomic checkpoints: `checkpoints/step-NNNNNNNNN/` is written aside
// as a temporary, every file fsynced and hashed into MANIFEST.json, the
// temporary re-read and verified, then renamed into place and the parent
// fsynced. A reader trusts only folders whose manifest verifies, and orders
// them by the step in their name, never by file times.
import { webcrypto } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { rethrowDiskError } from "./disk_errors";
import { checkpointsToRemove, DEFAULT_KEEP_LAST } from "./checkpoint_policy";
import { fsyncDir, makeDirs, ownerIsGone, sha256, tempSibling, writeFileSynced } from "./durable_fs";
import { MANIFEST_FORMAT, MANIFEST_NAME, checkFileName, describeProblems, verifyCheckpointDir, type CheckpointProblem, type Manifest } from "./manifest";

export const CHECKPOINTS_DIR = "checkpoints";
export const BEST_DIR = "best";
const STEP_RE = /^step-(\d{9,})$/;

/** `step-000001234`: nine digits (more if a run ever needs them) so names sort like numbers. */
export function checkpointName(step: number): string {
  if (!Number.isInteger(step) || step < 0) throw new Error(`checkpoint step must be a non-negative integer, got ${step}`);
  return `step-${String(step).padStart(9, "0")}`;
}

export function parseCheckpointName(name: string): number | undefined {
  const m = STEP_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** File contents keyed by relative name (e.g. "model.json", "weights.bin", "trainer_state.json"). */
export type CheckpointFiles = Record<string, Uint8Array | string>;

export interface CommitCheckpointOptions {
  step: number;
  epoch: number;
  files: CheckpointFiles;
  /** Small JSON facts kept in the manifest (e.g. `{ metric: "val_loss", value: 0.31 }`). */
  meta?: Record<string, unknown>;
  /** How many newest checkpoints to keep (default 3; 0 keeps all). */
  keepLast?: number;
  /** This checkpoint is the best so far: also commit it atomically as `best/`. */
  isBest?: boolean;
  /** Keep the checkpoint that `best/` came from out of rotation (default true). */
  keepBest?: boolean;
  /**
   * fsync every file and folder, and re-read the folder before renaming it
   * into place (default true). The local copy of a local-first run skips
   * both: renames keep it atomic against a killed process, its readers (the
   * mirror, a resume) verify it against its manifest, and the Drive copy is
   * the durable one.
   */
  durable?: boolean;
}

export interface CommittedCheckpoint {
  dir: string;
  step: number;
  epoch: number;
  /** Bytes written, MANIFEST.json included. */
  bytes: number;
  /** Wall time of the whole commit (write, fsync, verify, rename, rotation). */
  ms: number;
  /** Checkpoint folders removed by rotation. */
  removed: string[];
}

export interface ValidCheckpoint {
  dir: string;
  name: string;
  step: number;
  epoch: number;
  meta: Record<string, unknown>;
}

export interface CorruptCheckpoint {
  dir: string;
  name: string;
  step: number;
  problems: CheckpointProblem[];
  /** One line: `step-000000120 is corrupt: weights.bin: sha256 mismatch ...`. */
  message: string;
}

export interface LoadedCheckpoint extends ValidCheckpoint {
  files: Record<string, Buffer>;
}

async function stepFolders(ckDir: string): Promise<{ name: string; step: number }[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(ckDir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, step: parseCheckpointName(name) }))
    .filter((x): x is { name: string; step: number } => x.step !== undefined)
    .sort((a, b) => b.step - a.step);
}

/** sha256 in libuv's threadpool (WebCrypto), so hashing a large checkpoint leaves the event loop (and the training loop) free. */
async function sha256Off(buf: Buffer): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest("SHA-256", buf)).toString("hex");
}

/**
 * Writes every file plus MANIFEST.json into `dir` (which must not exist).
 * Durable: one file after the other, each fsynced, then the folders. Not
 * durable (a local copy): all files written and hashed at once, in the threadpool.
 */
async function writeCheckpointFolder(dir: string, step: number, epoch: number, files: CheckpointFiles, meta: Record<string, unknown>, durable: boolean): Promise<number> {
  await fs.promises.mkdir(dir);
  const subdirs = new Set<string>();
  const parts = Object.entries(files).map(([name, data]) => {
    checkFileName(name);
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const file = path.join(dir, name);
    if (name.includes("/")) {
      makeDirs(path.dirname(file));
      subdirs.add(path.dirname(file));
    }
    return { name, buf, file };
  });
  const entries: Manifest["files"] = [];
  if (durable) {
    for (const { name, buf, file } of parts) {
      await writeFileSynced(file, buf);
      entries.push({ name, size: buf.length, sha256: sha256(buf) });
    }
  } else {
    const hashes = await Promise.all(parts.map(async ({ buf, file }) => (await Promise.all([fs.promises.writeFile(file, buf), sha256Off(buf)]))[1]));
    parts.forEach(({ name, buf }, i) => entries.push({ name, size: buf.length, sha256: hashes[i]! }));
  }
  const bytes = parts.reduce((a, p) => a + p.buf.length, 0);
  const write = durable ? writeFileSynced : (file: string, data: string) => fs.promises.writeFile(file, data);
  const manifest: Manifest = { format: MANIFEST_FORMAT, step, epoch, createdAt: new Date().toISOString(), meta, files: entries };
  const text = JSON.stringify(manifest, null, 1) + "\n";
  // The manifest goes last: a temporary with a manifest that verifies is complete.
  await write(path.join(dir, MANIFEST_NAME), text);
  if (durable) {
    for (const sub of subdirs) await fsyncDir(sub);
    await fsyncDir(dir);
  }
  return bytes + Buffer.byteLength(text);
}

/** Renames a verified temporary onto `target`, moving any existing folder aside first. */
async function swapInto(tmp: string, target: string, durable: boolean): Promise<void> {
  let old: string | undefined;
  if (fs.existsSync(target)) {
    old = tempSibling(target, "old");
    await fs.promises.rename(target, old);
  }
  await fs.promises.rename(tmp, target);
  if (durable) await fsyncDir(path.dirname(target));
  if (old) await fs.promises.rm(old, { recursive: true, force: true });
}

async function writeVerifiedAside(
  target: string,
  step: number,
  epoch: number,
  files: CheckpointFiles,
  meta: Record<string, unknown>,
  durable: boolean,
): Promise<{ tmp: string; bytes: number }> {
  const tmp = tempSibling(target);
  try {
    const bytes = await writeCheckpointFolder(tmp, step, epoch, files, meta, durable);
    // Without fsync a re-read only sees the page cache: the local copy is verified by its readers instead (the mirror, a resume).
    const check = durable ? await verifyCheckpointDir(tmp) : ({ ok: true } as const);
    if (!check.ok)
      throw new TscolabError(
        `checkpoint ${path.basename(target)} did not verify after writing: ${describeProblems(check.problems)}`,
        "the Drive returned different bytes than were written; check the disk, or pass --drive elsewhere",
      );
    return { tmp, bytes };
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** Removes a folder so that it never exists half-deleted under its real name. */
async function removeFolder(dir: string): Promise<void> {
  const aside = tempSibling(dir, "old");
  await fs.promises.rename(dir, aside);
  await fs.promises.rm(aside, { recursive: true, force: true });
}

async function bestStep(runDir: string): Promise<number | undefined> {
  try {
    const m = JSON.parse(await fs.promises.readFile(path.join(runDir, BEST_DIR, MANIFEST_NAME), "utf8"));
    return typeof m.step === "number" ? m.step : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Commits a checkpoint atomically, then rotates (checkpointsToRemove): keeps
 * the `keepLast` newest (by step) plus the one `best/` came from; folders with
 * a step above the new one belong to an abandoned future and go.
 * ENOSPC/EIO become one DriveWriteError; every committed checkpoint stays valid.
 */
export async function commitCheckpoint(runDir: string, opts: CommitCheckpointOptions): Promise<CommittedCheckpoint> {
  const t0 = performance.now();
  const { step, epoch, files, meta = {}, keepLast = DEFAULT_KEEP_LAST, isBest = false, keepBest = true, durable = true } = opts;
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  const name = checkpointName(step);
  const target = path.join(ckDir, name);
  let bytes = 0;
  let committed = false;
  try {
    makeDirs(ckDir);
    const aside = await writeVerifiedAside(target, step, epoch, files, meta, durable);
    bytes = aside.bytes;
    await swapInto(aside.tmp, target, durable);
    committed = true;
    if (isBest) {
      const best = await writeVerifiedAside(path.join(runDir, BEST_DIR), step, epoch, files, { ...meta, best: true }, durable);
      bytes += best.bytes;
      await swapInto(best.tmp, path.join(runDir, BEST_DIR), durable);
    }
  } catch (err) {
    const newest = (await stepFolders(ckDir)).find((f) => committed || f.step !== step);
    const what = committed ? `writing best/ (a copy of the committed ${name})` : `writing checkpoint ${name}`;
    const kept = newest ? `committed checkpoints are intact (newest: ${newest.name})` : "no checkpoint had been committed yet";
    rethrowDiskError(err, what, committed ? runDir : ckDir, kept, path.basename(runDir));
  }
  const removed: string[] = [];
  const folders = await stepFolders(ckDir);
  const remove = new Set(
    checkpointsToRemove(
      folders.map((f) => f.step),
      { committed: step, keepLast, keepBest, bestStep: keepBest ? await bestStep(runDir) : undefined },
    ),
  );
  for (const f of folders) {
    if (!remove.has(f.step)) continue;
    await removeFolder(path.join(ckDir, f.name));
    removed.push(f.name);
  }
  if (removed.length && durable) await fsyncDir(ckDir);
  return { dir: target, step, epoch, bytes, ms: performance.now() - t0, removed };
}

/** Verifies one step folder: a loaded checkpoint (bytes only when asked for), or why it does not count. */
async function inspectStepFolder(ckDir: string, f: { name: string; step: number }, keepBytes: boolean): Promise<{ ok: LoadedCheckpoint } | { bad: CorruptCheckpoint }> {
  const dir = path.join(ckDir, f.name);
  const check = await verifyCheckpointDir(dir, { keepBytes });
  if (check.ok && check.manifest.step === f.step) {
    const files: Record<string, Buffer> = {};
    for (const [k, v] of check.bytes) files[k] = v;
    return { ok: { dir, name: f.name, step: f.step, epoch: check.manifest.epoch, meta: check.manifest.meta, files } };
  }
  const problems = check.ok ? [{ file: MANIFEST_NAME, problem: `says step ${check.manifest.step}, folder says ${f.step}` }] : check.problems;
  return { bad: { dir, name: f.name, step: f.step, problems, message: `${f.name} is corrupt: ${describeProblems(problems)}` } };
}

/** Every checkpoint folder, verified: valid ones newest first, corrupt ones with the reason. */
export async function listValidCheckpoints(runDir: string): Promise<{ valid: ValidCheckpoint[]; corrupt: CorruptCheckpoint[] }> {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  const valid: ValidCheckpoint[] = [];
  const corrupt: CorruptCheckpoint[] = [];
  for (const f of await stepFolders(ckDir)) {
    const r = await inspectStepFolder(ckDir, f, false);
    if ("ok" in r) {
      const { files: _none, ...info } = r.ok;
      valid.push(info);
    } else corrupt.push(r.bad);
  }
  return { valid, corrupt };
}

/** Reads a checkpoint folder (a step folder or best/) after verifying every byte. */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const check = await verifyCheckpointDir(dir, { keepBytes: true });
  if (!check.ok)
    throw new TscolabError(`checkpoint ${dir} is not valid: ${describeProblems(check.problems)}`, "resume from another checkpoint (--resume picks the newest valid one)");
  const files: Record<string, Buffer> = {};
  for (const [k, v] of check.bytes) files[k] = v;
  return { dir, name: path.basename(dir), step: check.manifest.step, epoch: check.manifest.epoch, meta: check.manifest.meta, files };
}

/**
 * The newest checkpoint that verifies, read into memory, plus every newer one
 * that did not verify (report their `message`s: file and sha256 mismatch).
 */
export async function loadLatestCheckpoint(runDir: string): Promise<{ checkpoint: LoadedCheckpoint | null; skipped: CorruptCheckpoint[] }> {
  return newestThatVerifies(runDir, true);
}

/** The newest checkpoint that verifies (its bytes hashed, not kept), or null; older ones are not read. */
export async function newestValidCheckpoint(runDir: string): Promise<ValidCheckpoint | null> {
  const { checkpoint } = await newestThatVerifies(runDir, false);
  if (!checkpoint) return null;
  const { files: _none, ...info } = checkpoint;
  return info;
}

async function newestThatVerifies(runDir: string, keepBytes: boolean): Promise<{ checkpoint: LoadedCheckpoint | null; skipped: CorruptCheckpoint[] }> {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  const skipped: CorruptCheckpoint[] = [];
  for (const f of await stepFolders(ckDir)) {
    const r = await inspectStepFolder(ckDir, f, keepBytes);
    if ("ok" in r) return { checkpoint: r.ok, skipped };
    skipped.push(r.bad);
  }
  return { checkpoint: null, skipped };
}

/**
 * Start-up cleanup of a run folder: leftovers of dead writers (`.tmp-*`,
 * `.old-*`) are removed, except that a leftover which verifies and whose
 * target is missing (a crash between the two renames of a swap) is put back.
 */
export async function cleanStaleTemporaries(runDir: string): Promise<{ removed: string[]; restored: string[] }> {
  const removed: string[] = [];
  const restored: string[] = [];
  for (const dir of [path.join(runDir, CHECKPOINTS_DIR), runDir]) {
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch {
      continue;
    }
    // Old copies first: a complete old folder is preferred to a fresh temporary only if no temporary verifies.
    names.sort((a, b) => Number(b.startsWith(".tmp-")) - Number(a.startsWith(".tmp-")));
    for (const name of names) {
      const m = /^\.(tmp|old)-(.+)-\d+-[a-z0-9]+$/.exec(name);
      if (!m || !ownerIsGone(name)) continue;
      const full = path.join(dir, name);
      const target = path.join(dir, m[2]!);
      const isFolderTarget = parseCheckpointName(m[2]!) !== undefined || (dir === runDir && m[2] === BEST_DIR);
      if (isFolderTarget && !fs.existsSync(target) && (await verifyCheckpointDir(full)).ok) {
        await fs.promises.rename(full, target);
        await fsyncDir(dir);
        restored.push(path.relative(runDir, target));
        continue;
      }
      await fs.promises.rm(full, { recursive: true, force: true });
      removed.push(path.relative(runDir, full));
    }
  }
  return { removed, restored };
}
