// The mirror of a local-first run: the trainer commits everything to the
// run's local folder, and this copies it to the run's Drive folder in the
// background, through the Drive I/O process (drive_io.ts), so a training step
// never waits for the Drive. A copy counts only after it re-verifies on the
// Drive (MANIFEST.json for folders, the bytes for files).
//
// Each pass, in this order: the run folder; metrics.jsonl (read after the
// local checkpoints were listed, so it holds every row those checkpoints have
// seen); every other file at the top of the run folder (what training writes
// beside them: weight digests, the tokenizer, the reference profile); best/
// (before the checkpoints, so the Drive's best/ is never older than its
// newest checkpoint's best); the checkpoints the Drive lacks, newest first;
// run.json last, as it was read before the checkpoints were listed (so the
// Drive's run.json never says "completed" or "stopped" before the Drive holds
// the checkpoints that status describes: readers of the Drive, such as a
// resumed sweep or folds run, take its word); then the Drive's rotation (the
// same policy as the local one, counted from the newest local checkpoint, so folders above
// it, an abandoned future, go). When the Drive fails (ENOTCONN, EIO, EROFS,
// ENOSPC, a hung call) the mirror says since when and why, keeps the list of
// what waits, and retries with backoff; local rotation keeps the local folder
// bounded meanwhile, and only checkpoints still there are copied.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { BEST_DIR, CHECKPOINTS_DIR, parseCheckpointName } from "./checkpoints";
import { checkpointsToRemove, DEFAULT_KEEP_LAST } from "./checkpoint_policy";
import type { DriveRunInfo } from "./drive_child";
import { DriveIO, DriveIOError } from "./drive_io";
import { sha256, tempSibling } from "./durable_fs";
import { MANIFEST_NAME } from "./manifest";
import { METRICS_FILE, RUN_JSON } from "./runs";

const outageSchema = z.object({ since: z.string(), until: z.string().nullable(), reason: z.string() });
export type Outage = z.infer<typeof outageSchema>;

/** What the progress line, the summary and `%drive status` show. */
export const mirrorStateSchema = z.object({
  runId: z.string(),
  driveRoot: z.string(),
  localDir: z.string(),
  driveDir: z.string(),
  /** "ok": the Drive answers (copies may be on their way); "unavailable": the last attempt failed. */
  state: z.enum(["ok", "unavailable"]),
  /** ISO time the Drive became unavailable (null while ok). */
  since: z.string().nullable(),
  /** One line: why (`ENOTCONN: Transport endpoint is not connected`, `hung: ...`). */
  reason: z.string().nullable(),
  /** Local checkpoints that wait to be copied. */
  waiting: z.number().int(),
  /** Everything only local so far: checkpoint folders, best/, and files such as metrics.jsonl and run.json. */
  onlyLocal: z.array(z.string()),
  outages: z.array(outageSchema),
});
export type MirrorState = z.infer<typeof mirrorStateSchema>;

export interface RunMirrorOptions {
  runId: string;
  driveRoot: string;
  localDir: string;
  driveDir: string;
  /** The local run.json's createdAt: the Drive folder must belong to this run. */
  createdAt?: string;
  keepLast?: number;
  keepBest?: boolean;
  io?: DriveIO;
  /** Called when the Drive becomes unavailable or comes back. */
  onChange?: (state: MirrorState) => void;
  /** Longest wait between attempts while the Drive is unavailable (default 5 s). */
  maxRetryMs?: number;
}

interface LocalSnapshot {
  /** Step folder name → sha256 of its MANIFEST.json, newest first. */
  steps: [string, string][];
  best: string | null;
  /** run.json's bytes and sha256, read before the checkpoints were listed. */
  runJson: { bytes: Buffer; sha: string } | null;
  /** The other top-level files (metrics.jsonl, then the others by name) → sha256, read after the checkpoints were listed. */
  files: [string, string][];
}

/** The order files are copied in: metrics.jsonl, then the rest. */
function fileRank(name: string): string {
  return name === METRICS_FILE ? "0" : `1${name}`;
}

function topLevelFiles(dir: string): [string, string][] {
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith(".") && e.name !== RUN_JSON)
    .map((e): [string, string | null] => [e.name, readSha(path.join(dir, e.name))])
    .filter((x): x is [string, string] => x[1] !== null)
    .sort((a, b) => (fileRank(a[0]) < fileRank(b[0]) ? -1 : 1));
}

function readSha(file: string): string | null {
  try {
    return sha256(fs.readFileSync(file));
  } catch {
    return null;
  }
}

function snapshotLocal(dir: string): LocalSnapshot {
  // run.json before the checkpoints: a status it states was written after the checkpoints it describes were committed.
  let runJson: LocalSnapshot["runJson"] = null;
  try {
    const bytes = fs.readFileSync(path.join(dir, RUN_JSON));
    runJson = { bytes, sha: sha256(bytes) };
  } catch {
    // Not written yet.
  }
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(dir, CHECKPOINTS_DIR));
  } catch {
    // No checkpoints yet.
  }
  const steps = names
    .map((name) => ({ name, step: parseCheckpointName(name) }))
    .filter((x): x is { name: string; step: number } => x.step !== undefined)
    .sort((a, b) => b.step - a.step)
    .map((x): [string, string | null] => [x.name, readSha(path.join(dir, CHECKPOINTS_DIR, x.name, MANIFEST_NAME))])
    .filter((x): x is [string, string] => x[1] !== null);
  // Checkpoints first: metrics.jsonl read after them holds every row they have seen.
  return { steps, best: readSha(path.join(dir, BEST_DIR, MANIFEST_NAME)), runJson, files: topLevelFiles(dir) };
}

const clock = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

/** errno codes in the words a Colab user knows them by. */
const WORDS: Record<string, string> = {
  ENOTCONN: "Transport endpoint is not connected",
  EIO: "input/output error",
  EROFS: "the Drive is read-only",
  ENOSPC: "the Drive is full",
  EDQUOT: "the Drive's quota is used up",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EVERIFY: "the Drive returned different bytes than were written",
};

function reasonOf(err: DriveIOError): string {
  if (err.hung) return `hung: ${err.message}`;
  return `${err.code}: ${WORDS[err.code] ?? err.message.split("\n")[0]}`;
}

const active = new Map<string, RunMirror>();

/** Mirrors of this process, e.g. for `%drive status`. */
export function activeMirrors(): RunMirror[] {
  return [...active.values()];
}

/** At the end of a process: waits up to `timeoutMs` for every mirror, then stops them; what is still only local. */
export async function flushAllMirrors(timeoutMs: number): Promise<MirrorState[]> {
  const states = await Promise.all(activeMirrors().map((m) => m.flush(timeoutMs)));
  for (const m of activeMirrors()) m.close();
  return states;
}

export class RunMirror {
  readonly io: DriveIO;
  private readonly keepLast: number;
  private readonly keepBest: boolean;
  private readonly maxRetryMs: number;
  private local: LocalSnapshot;
  // What the Drive holds, verified: step name → manifest sha, best/'s manifest sha, the files' sha.
  private readonly mirrored = new Map<string, string>();
  private driveSteps = new Set<string>();
  private driveBestStep: number | undefined;
  private mirroredBest: string | null = null;
  private readonly mirroredFiles = new Map<string, string>();
  private inspected = false;
  private dirty = true;
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 250;
  private retryAt = 0;
  private since: string | null = null;
  private reason: string | null = null;
  private readonly outages: Outage[] = [];
  private closed = false;
  private removeLocalWhenDone = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(readonly opts: RunMirrorOptions) {
    this.io = opts.io ?? new DriveIO();
    this.keepLast = opts.keepLast ?? DEFAULT_KEEP_LAST;
    this.keepBest = opts.keepBest ?? true;
    this.maxRetryMs = opts.maxRetryMs ?? 5000;
    // A call that hung has returned at last: try again now rather than at the next retry.
    this.io.onUnstuck = () => {
      this.retryAt = 0;
      this.kick();
    };
    this.local = snapshotLocal(opts.localDir);
    // One mirror per run folder: a resumed run's mirror replaces the one still catching up.
    active.get(opts.localDir)?.close();
    active.set(opts.localDir, this);
    this.kick();
  }

  /** Something changed in the local folder: copy it when the Drive allows. */
  notify(): void {
    if (this.closed) return;
    this.dirty = true;
    // A pass that starts now reads the folder itself; otherwise read it here, so status() is current.
    if (!this.kick()) this.local = snapshotLocal(this.opts.localDir);
  }

  status(): MirrorState {
    const onlyLocal = this.pendingItems();
    return {
      runId: this.opts.runId,
      driveRoot: this.opts.driveRoot,
      localDir: this.opts.localDir,
      driveDir: this.opts.driveDir,
      state: this.since ? "unavailable" : "ok",
      since: this.since,
      reason: this.reason,
      waiting: onlyLocal.filter((n) => parseCheckpointName(n) !== undefined).length,
      onlyLocal,
      outages: this.outages.map((o) => ({ ...o })),
    };
  }

  private pendingItems(): string[] {
    const l = this.local;
    const items = l.steps.filter(([name, sha]) => this.mirrored.get(name) !== sha).map(([name]) => name);
    if (l.best && l.best !== this.mirroredBest) items.push(`${BEST_DIR}/`);
    for (const [name, sha] of [...l.files].reverse()) if (this.mirroredFiles.get(name) !== sha) items.push(name);
    if (l.runJson && l.runJson.sha !== this.mirroredFiles.get(RUN_JSON)) items.push(RUN_JSON);
    return items;
  }

  /**
   * Waits until the Drive holds everything the local folder does (verified),
   * at most `timeoutMs`; retries a failing Drive meanwhile, at least once.
   */
  async flush(timeoutMs: number): Promise<MirrorState> {
    const deadline = Date.now() + timeoutMs;
    this.local = snapshotLocal(this.opts.localDir);
    this.retryAt = 0;
    for (;;) {
      this.dirty = true;
      this.kick();
      if (this.running) await this.waitIdle(deadline - Date.now());
      if (this.closed || !this.pendingItems().length || Date.now() >= deadline) break;
      // Unavailable: wait for the next attempt (at most 1 s apart while flushing), then try again.
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, deadline - Date.now()))));
      this.retryAt = 0;
    }
    return this.status();
  }

  /**
   * The run has ended: once the Drive holds everything, remove the local copy
   * (now or, in a process that lives on, when the mirror catches up).
   */
  finish(): void {
    this.removeLocalWhenDone = true;
    this.maybeRemoveLocal();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (active.get(this.opts.localDir) === this) active.delete(this.opts.localDir);
    this.io.close();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private waitIdle(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Starts a pass when one is due and none runs; true when it started one. */
  private kick(): boolean {
    if (this.running || this.closed || !this.dirty) return false;
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      if (!this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, wait);
        this.retryTimer.unref();
      }
      return false;
    }
    this.running = this.passes().finally(() => {
      this.running = null;
      for (const w of this.idleWaiters.splice(0)) w();
      this.maybeRemoveLocal();
      this.kick();
    });
    return true;
  }

  private async passes(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await this.pass();
        this.available();
      } catch (err) {
        if (this.closed) return;
        this.unavailable(err instanceof DriveIOError ? err : new DriveIOError("EUNKNOWN", (err as Error).message));
        this.dirty = true;
        return;
      }
    }
  }

  private available(): void {
    this.retryMs = 250;
    this.retryAt = 0;
    if (!this.since) return;
    this.since = null;
    this.reason = null;
    const open = this.outages[this.outages.length - 1];
    if (open && !open.until) open.until = new Date().toISOString();
    this.opts.onChange?.(this.status());
  }

  private unavailable(err: DriveIOError): void {
    const reason = reasonOf(err);
    // Files written just before a disconnect may never appear: once the Drive is back, what it holds is verified again.
    this.inspected = false;
    this.retryAt = Date.now() + this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.maxRetryMs);
    if (this.since && this.reason === reason) return;
    if (!this.since) {
      this.since = new Date().toISOString();
      this.outages.push({ since: this.since, until: null, reason });
    } else this.outages[this.outages.length - 1]!.reason = reason;
    this.reason = reason;
    this.opts.onChange?.(this.status());
  }

  /** Copies on the local side may vanish (rotated away) or change under the copy; that is no Drive failure. */
  private async copy<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof DriveIOError && err.side === "local") return undefined;
      throw err;
    }
  }

  private async pass(): Promise<void> {
    const { localDir, driveDir, driveRoot } = this.opts;
    const local = (this.local = snapshotLocal(localDir));
    if (!this.inspected) {
      await this.io.call({ op: "ensureRun", driveRoot, runDir: driveDir, createdAt: this.opts.createdAt, createRoot: !this.outages.length });
      const verify = [...local.steps.map(([n]) => n), ...(local.best ? [BEST_DIR] : [])];
      const info = await this.io.call<DriveRunInfo>({ op: "inspect", runDir: driveDir, verify });
      this.driveSteps = new Set(info.steps.map((s) => s.name));
      this.mirrored.clear();
      for (const s of info.steps) if (s.valid && s.manifestSha) this.mirrored.set(s.name, s.manifestSha);
      this.mirroredBest = info.best?.valid ? info.best.manifestSha : null;
      this.driveBestStep = info.best?.valid ? (info.best.step ?? undefined) : undefined;
      this.mirroredFiles.clear();
      for (const [name, sha] of Object.entries(info.files)) this.mirroredFiles.set(name, sha);
      this.inspected = true;
    }
    for (const [name, sha] of local.files) {
      if (this.mirroredFiles.get(name) === sha) continue;
      const r = await this.copy(() => this.io.call<{ sha: string | null }>({ op: "putFile", src: path.join(localDir, name), dest: path.join(driveDir, name) }));
      if (r?.sha) this.mirroredFiles.set(name, r.sha);
    }
    if (local.best && local.best !== this.mirroredBest) {
      const r = await this.copy(() => this.io.call<{ manifestSha: string }>({ op: "putFolder", src: path.join(localDir, BEST_DIR), dest: path.join(driveDir, BEST_DIR) }));
      if (r) {
        this.mirroredBest = r.manifestSha;
        this.driveBestStep = bestStepOf(path.join(localDir, BEST_DIR));
      }
    }
    for (const [name, sha] of local.steps) {
      if (this.mirrored.get(name) === sha || this.closed) continue;
      const src = path.join(localDir, CHECKPOINTS_DIR, name);
      const r = await this.copy(() => this.io.call<{ manifestSha: string }>({ op: "putFolder", src, dest: path.join(driveDir, CHECKPOINTS_DIR, name) }));
      if (!r) continue;
      this.mirrored.set(name, r.manifestSha);
      this.driveSteps.add(name);
    }
    if (local.runJson && local.runJson.sha !== this.mirroredFiles.get(RUN_JSON) && !this.closed) {
      // The bytes of the snapshot, not the file as it is now (it may already say more than was copied).
      const staged = tempSibling(path.join(localDir, RUN_JSON), "mirror");
      try {
        fs.writeFileSync(staged, local.runJson.bytes);
      } catch {
        return; // the local copy is gone (removed once complete, or by hand): nothing left to copy
      }
      try {
        const r = await this.io.call<{ sha: string | null }>({ op: "putFile", src: staged, dest: path.join(driveDir, RUN_JSON) });
        if (r.sha) this.mirroredFiles.set(RUN_JSON, r.sha);
      } finally {
        fs.rmSync(staged, { force: true });
      }
    }
    await this.rotate(local);
  }

  /** The Drive's rotation: what the local policy keeps, counted from the newest local checkpoint. */
  private async rotate(local: LocalSnapshot): Promise<void> {
    const newest = local.steps[0];
    if (!newest) return;
    const steps = [...this.driveSteps].map((n) => parseCheckpointName(n)!);
    const remove = checkpointsToRemove(steps, { committed: parseCheckpointName(newest[0])!, keepLast: this.keepLast, keepBest: this.keepBest, bestStep: this.driveBestStep });
    if (!remove.length) return;
    const names = [...this.driveSteps].filter((n) => remove.includes(parseCheckpointName(n)!));
    await this.io.call({ op: "remove", dirs: names.map((n) => path.join(this.opts.driveDir, CHECKPOINTS_DIR, n)) });
    for (const n of names) {
      this.driveSteps.delete(n);
      this.mirrored.delete(n);
    }
  }

  private maybeRemoveLocal(): void {
    if (!this.removeLocalWhenDone || this.running || this.since) return;
    this.local = snapshotLocal(this.opts.localDir);
    if (this.pendingItems().length || !this.inspected) return;
    const dir = this.opts.localDir;
    this.close();
    try {
      const aside = tempSibling(dir, "old");
      fs.renameSync(dir, aside);
      fs.rmSync(aside, { recursive: true, force: true });
    } catch {
      // Already gone, or busy: a later run's mirror finds it complete.
    }
  }
}

function bestStepOf(dir: string): number | undefined {
  try {
    const step = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_NAME), "utf8")).step;
    return typeof step === "number" ? step : undefined;
  } catch {
    return undefined;
  }
}

/** One line for the end of a run: the Drive copy is complete, or what is still only local and why. */
export function describeMirror(s: MirrorState): string {
  const past = s.outages.filter((o) => o.until).map((o) => `${clock(o.since)}-${clock(o.until!)} (${o.reason})`);
  const history = past.length ? `; the Drive was unavailable ${past.join(", ")}` : "";
  if (!s.onlyLocal.length) return `the Drive copy is complete and verified (${s.driveDir})${history}`;
  const why = s.since ? `the Drive is unavailable since ${clock(s.since)}: ${s.reason}` : "the mirror ran out of time";
  return `still only local (${why}): ${s.onlyLocal.join(", ")} in ${s.localDir}${history}; copied to the Drive when it is back (tscolab drive sync, %drive sync, or --resume)`;
}
