// A worker thread that commits a local-first run's local checkpoints, so the
// commit (writing, hashing, renaming, rotating) runs beside the training loop
// instead of between its steps. See commit_thread.ts.
import { parentPort } from "node:worker_threads";
import { UserFacingError } from "../errors";
import { commitCheckpoint, type CommitCheckpointOptions } from "./checkpoints";
import { noteLocalRoot } from "./local_root";

export interface CommitRequest {
  id: number;
  runDir: string;
  opts: CommitCheckpointOptions;
}

export type CommitReply =
  | { id: number; ok: true; result: Awaited<ReturnType<typeof commitCheckpoint>> }
  | { id: number; ok: false; error: { message: string; fix?: string; userFacing: boolean; stack?: string } };

parentPort?.on("message", async ({ id, runDir, opts }: CommitRequest) => {
  // Everything committed here is a local copy: a disk error names the local disk.
  noteLocalRoot(runDir);
  let reply: CommitReply;
  try {
    reply = { id, ok: true, result: await commitCheckpoint(runDir, opts) };
  } catch (err) {
    const e = err as Error & { fix?: string };
    const head = e.fix ? e.message.slice(0, e.message.length - ` (fix: ${e.fix})`.length) : e.message;
    reply = { id, ok: false, error: { message: head, fix: e.fix, userFacing: err instanceof UserFacingError, stack: e.stack } };
  }
  parentPort!.postMessage(reply);
});
