// Disk trouble (a full or failing Drive) becomes one clear line with the fix,
// never a stack trace; every other error passes through untouched.
import { TscolabError } from "../errors";
import { isLocalPath } from "./local_root";

/** errno codes that mean "the disk, not the program, failed". */
const DISK_CODES = new Set(["ENOSPC", "EDQUOT", "EIO", "EROFS", "EFBIG"]);

export function isDiskError(err: unknown): err is NodeJS.ErrnoException {
  return typeof err === "object" && err !== null && DISK_CODES.has(String((err as NodeJS.ErrnoException).code));
}

/** A disk failure while writing to the Drive root (or to a local-first run's local copy); committed checkpoints are untouched. */
export class DriveWriteError extends TscolabError {
  constructor(
    readonly code: string,
    readonly target: string,
    what: string,
    keptNote: string,
    /** Run id to name in the fix (`--resume <id>`), when the failure was inside a run. */
    resumeRef?: string,
  ) {
    const local = isLocalPath(target);
    const disk = local ? "Local disk" : "Drive";
    const full = code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
    const head = full
      ? `${disk} is full: ${what} failed at ${target} (${code}); ${keptNote}`
      : code === "EROFS"
        ? `${disk} is read-only: ${what} failed at ${target} (${code}); ${keptNote}`
        : `${disk} write failed: ${what} failed at ${target} (${code}: disk or network filesystem error); ${keptNote}`;
    const resume = `--resume ${resumeRef ?? "last"}`;
    const elsewhere = local ? "set checkpoint.local (or $TSCOLAB_LOCAL) to a folder on another disk, or to false to write to the Drive directly" : "pass --drive elsewhere";
    const fix = full
      ? `free space on the ${local ? "local disk" : "Drive, e.g. delete the checkpoints/ folders of old runs"}, or move the run folder and ${elsewhere}; then continue with ${resume}`
      : `check the disk or remount the Drive, or move the run folder and ${elsewhere}; then continue with ${resume}`;
    super(head, fix);
  }
}

/** Rethrows a disk error as DriveWriteError; anything else unchanged. */
export function rethrowDiskError(err: unknown, what: string, target: string, keptNote = "nothing already committed was changed", resumeRef?: string): never {
  if (err instanceof DriveWriteError) throw err;
  if (isDiskError(err)) throw new DriveWriteError(String(err.code), target, what, keptNote, resumeRef);
  throw err;
}
