// Local-first checkpoints: commit to fast local disk, then copy the committed
// folder to the Drive with verification and retries (what Colab users do
// against flaky Drive FUSE mounts). The local commit never waits on the Drive,
// and a Drive copy is only trusted once its own MANIFEST.json verifies there.
import path from "node:path";
import { commitCheckpoint, readCheckpoint, type CommittedCheckpoint } from "./checkpoints";
import { DriveWriteError, isDiskError } from "./disk_errors";

export interface MirrorOptions {
  /** Attempts after the first failure (default 3). */
  retries?: number;
  /** Wait before the first retry, doubled each time (default 500 ms). */
  backoffMs?: number;
  keepLast?: number;
  keepBest?: boolean;
  /** Also replace the Drive run's best/ with this checkpoint. */
  isBest?: boolean;
  /** Called before each retry, e.g. to show "Drive busy, retrying". */
  onRetry?: (attempt: number, error: Error) => void;
}

/**
 * Copies a committed (verified) checkpoint folder into another run folder,
 * committing it there atomically. Retries disk errors with backoff; the last
 * error is thrown as DriveWriteError, the source stays untouched.
 */
export async function mirrorCheckpoint(sourceDir: string, destRunDir: string, opts: MirrorOptions = {}): Promise<CommittedCheckpoint & { attempts: number }> {
  const { retries = 3, backoffMs = 500 } = opts;
  const source = await readCheckpoint(sourceDir);
  const { best: _wasBest, ...meta } = source.meta;
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await commitCheckpoint(destRunDir, {
        step: source.step,
        epoch: source.epoch,
        files: source.files,
        meta,
        keepLast: opts.keepLast,
        keepBest: opts.keepBest,
        isBest: opts.isBest,
      });
      return { ...done, attempts: attempt };
    } catch (err) {
      const transient = err instanceof DriveWriteError || isDiskError(err);
      if (!transient || attempt > retries) {
        if (err instanceof DriveWriteError)
          throw new DriveWriteError(
            err.code,
            err.target,
            `mirroring ${source.name} after ${attempt} attempt(s)`,
            `the local copy ${path.relative(path.dirname(path.dirname(sourceDir)), sourceDir)} is committed and valid`,
            path.basename(destRunDir),
          );
        throw err;
      }
      opts.onRetry?.(attempt, err as Error);
      await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
    }
  }
}
