// Local-first runs: where a run's files are written and read while it trains.
// A new run is created in its local folder (local_root.ts) and mirrored to the
// Drive (mirror.ts). A resume takes the newest checkpoint that verifies,
// wherever it is: the local copy when this machine survived (it is ahead of
// the Drive by whatever the mirror had not copied yet), the Drive's when the
// runtime was lost (its checkpoint, best/, metrics.jsonl and run.json are
// pulled into a fresh local folder first). Every Drive access goes through
// the Drive I/O process, so a Drive that hangs cannot hang a resume either.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { BEST_DIR, CHECKPOINTS_DIR, cleanStaleTemporaries, newestValidCheckpoint } from "./checkpoints";
import type { DriveRunInfo } from "./drive_child";
import { DriveIO, DriveIOError } from "./drive_io";
import { runsDir } from "./drive_root";
import { makeDirs, tempSibling, writeFileAtomic } from "./durable_fs";
import { localDriveRoot, noteLocalRoot, resolveLocalRoot, type LocalSetting } from "./local_root";
import { prepareResume, type ResumePoint } from "./resume";
import { createRun, EXPORTS_DIR, listRunIds, METRICS_FILE, openRun, RUN_JSON, type RunHandle } from "./runs";

/** A run being trained: its Drive folder, and the folder the trainer writes (the local copy, or the Drive folder itself). */
export interface RunPlace {
  runId: string;
  driveRoot: string;
  /** The run folder on the Drive: what the summary and `%drive status` show. */
  runDir: string;
  /** Where the trainer writes: the local copy, or `runDir` when writing to the Drive directly. */
  workDir: string;
  /** Set for a local-first run: the Drive I/O process its mirror uses. */
  io?: DriveIO;
}

/** How long a new run waits for the Drive's list of run ids (so its id is new there too) before going on without it. */
const ID_CHECK_MS = 5000;

async function withinMs<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates a run in its local folder; its id is also new on the Drive when the Drive answers in time. */
export async function createLocalFirstRun(
  driveRoot: string,
  localRoot: string,
  opts: { runName?: string; now?: Date; fields?: Record<string, unknown> },
): Promise<RunPlace & { run: RunHandle }> {
  noteLocalRoot(localRoot);
  const io = new DriveIO();
  const names = await withinMs(io.call<string[]>({ op: "runNames", driveRoot }), Math.min(ID_CHECK_MS, io.timeoutMs));
  const run = await createRun(localDriveRoot(localRoot, driveRoot), { ...opts, taken: new Set(names ?? []) });
  return { run, runId: run.runId, driveRoot, runDir: path.join(runsDir(driveRoot), run.runId), workDir: run.runDir, io };
}

function storedLocal(runJson: string | null): LocalSetting {
  try {
    const local = JSON.parse(runJson ?? "null")?.config?.checkpoint?.local;
    return typeof local === "string" || local === false ? local : undefined;
  } catch {
    return undefined;
  }
}

const isPathRef = (ref: string) => /[\\/]/.test(ref) || ref.startsWith(".");

/** The newest run id among the Drive's and the local copies'. */
async function lastRunId(driveRoot: string, localBase: string | null, io: DriveIO): Promise<{ runId: string; driveError?: DriveIOError }> {
  let drive: string[] = [];
  let driveError: DriveIOError | undefined;
  try {
    drive = await io.call<string[]>({ op: "listRuns", driveRoot });
  } catch (err) {
    if (!(err instanceof DriveIOError)) throw err;
    driveError = err;
  }
  const local = localBase ? await listRunIds(localBase) : [];
  const all = [...new Set([...drive, ...local])].sort();
  if (!all.length)
    throw new TscolabError(
      `no runs yet under ${runsDir(driveRoot)}${driveError ? ` (the Drive did not answer: ${driveError.message})` : ""}`,
      "start one with %train (or tscolab train), or point --drive at the Drive root that holds your runs",
    );
  return { runId: all[all.length - 1]!, driveError };
}

async function removeFolder(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  const aside = tempSibling(dir, "old");
  await fs.promises.rename(dir, aside);
  await fs.promises.rm(aside, { recursive: true, force: true });
}

/** Builds a fresh local copy of a Drive run: its files, its newest valid checkpoint and best/. */
async function pullFromDrive(io: DriveIO, driveDir: string, localDir: string, info: DriveRunInfo, newest: string | undefined): Promise<void> {
  await removeFolder(localDir);
  makeDirs(localDir);
  for (const sub of [CHECKPOINTS_DIR, BEST_DIR, EXPORTS_DIR]) fs.mkdirSync(path.join(localDir, sub));
  await writeFileAtomic(path.join(localDir, RUN_JSON), info.runJson!);
  // metrics.jsonl and every other file the run wrote beside it (weight digests, tokenizer, profile): the resumed run appends to them, and its mirror copies them back.
  for (const name of Object.keys(info.files).filter((n) => n !== RUN_JSON)) await io.call({ op: "pullFile", src: path.join(driveDir, name), dest: path.join(localDir, name) });
  if (!fs.existsSync(path.join(localDir, METRICS_FILE))) fs.writeFileSync(path.join(localDir, METRICS_FILE), "");
  if (newest) await io.call({ op: "pullFolder", src: path.join(driveDir, CHECKPOINTS_DIR, newest), dest: path.join(localDir, CHECKPOINTS_DIR, newest) });
  if (info.best?.valid) await io.call({ op: "pullFolder", src: path.join(driveDir, BEST_DIR), dest: path.join(localDir, BEST_DIR) });
}

/**
 * `--resume RUN` for a local-first run: the newest valid checkpoint of the
 * local copy and of the Drive's folder, with the notes to show (which copy,
 * and why). A run whose config says `checkpoint.local: false` (or `local`
 * false here) resumes from the Drive directly, as before.
 */
export async function prepareLocalFirstResume(driveRoot: string, ref: string, opts: { cwd?: string; local?: LocalSetting } = {}): Promise<ResumePoint & { place: RunPlace }> {
  const cwd = opts.cwd ?? process.cwd();
  const direct = async () => {
    const point = await prepareResume(driveRoot, ref, { cwd });
    return { ...point, place: { runId: point.run.runId, driveRoot: point.run.driveRoot, runDir: point.run.runDir, workDir: point.run.runDir } };
  };
  const given = opts.local !== undefined && opts.local !== null;
  const firstRoot = resolveLocalRoot(given ? opts.local : undefined, cwd);
  if (given && firstRoot === null) return direct();

  // The run: by path, by id, or the newest of the Drive's and this machine's.
  let runId = ref;
  if (isPathRef(ref)) {
    const runDir = path.resolve(cwd, ref);
    runId = path.basename(runDir);
    driveRoot = path.dirname(path.dirname(path.dirname(runDir)));
  }
  const io = new DriveIO();
  try {
    let driveError: DriveIOError | undefined;
    if (ref === "last") ({ runId, driveError } = await lastRunId(driveRoot, firstRoot ? localDriveRoot(firstRoot, driveRoot) : null, io));
    const driveDir = path.join(runsDir(driveRoot), runId);
    let info: DriveRunInfo | undefined;
    if (!driveError) {
      try {
        info = await io.call<DriveRunInfo>({ op: "inspect", runDir: driveDir, newestValid: true });
      } catch (err) {
        if (!(err instanceof DriveIOError)) throw err;
        driveError = err;
      }
    }
    // The local root the run was created with, unless one is given now.
    const stored = storedLocal(info?.runJson ?? null);
    const localRoot = given ? firstRoot : stored !== undefined ? resolveLocalRoot(stored, cwd) : firstRoot;
    if (localRoot === null) {
      io.close();
      return direct();
    }
    noteLocalRoot(localRoot);
    const localBase = localDriveRoot(localRoot, driveRoot);
    const localDir = path.join(runsDir(localBase), runId);
    const hasLocal = fs.existsSync(path.join(localDir, RUN_JSON));
    if (hasLocal) await cleanStaleTemporaries(localDir);
    const localNewest = hasLocal ? await newestValidCheckpoint(localDir) : null;
    const driveNewest = info?.steps.find((s) => s.valid);
    const onDrive = info?.exists && info.runJson !== null;
    if (!hasLocal && !onDrive) {
      io.close();
      if (driveError)
        throw new TscolabError(
          `cannot resume ${runId}: the Drive did not answer (${driveError.message}) and this machine has no local copy of it`,
          "wait for the Drive to come back (or remount it), then resume again",
        );
      // The same message openRun gives for an unknown run.
      await openRun(driveRoot, ref, { cwd });
      throw new TscolabError(`no run ${JSON.stringify(ref)} under ${runsDir(driveRoot)}`, "pass a run id from %drive status, a run folder, or last");
    }
    const fromDrive = onDrive && (!hasLocal || (driveNewest?.step ?? -1) > (localNewest?.step ?? -1));
    const notes: string[] = [];
    if (fromDrive) {
      try {
        await pullFromDrive(io, driveDir, localDir, info!, driveNewest?.name);
      } catch (err) {
        if (!(err instanceof DriveIOError)) throw err;
        throw new TscolabError(`cannot resume ${runId} from the Drive: ${err.message}`, "resume again once the Drive answers");
      }
    }
    for (const s of info?.steps ?? [])
      if (s.valid === false && s.step > (driveNewest?.step ?? -1)) notes.push(`skipping ${s.name} on the Drive: ${s.name} is corrupt: ${s.problems}`);

    const where = fromDrive
      ? "from the Drive (this machine had no newer copy)"
      : `from the local copy on this machine (${driveError ? `the Drive did not answer: ${driveError.message}` : driveNewest ? `the Drive has up to ${driveNewest.name}` : "the Drive has no checkpoint yet"})`;
    const point = await prepareResume(localBase, runId, { where });
    return { ...point, notes: [...notes, ...point.notes], place: { runId, driveRoot, runDir: driveDir, workDir: point.run.runDir, io } };
  } catch (err) {
    io.close();
    throw err;
  }
}
