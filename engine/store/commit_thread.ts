// Commits a local-first run's local checkpoints in a worker thread
// (commit_worker.ts): the training loop hands over the checkpoint's bytes,
// taken at the step, and trains on while the worker writes, hashes, renames
// and rotates; an async commit on the loop's own thread would advance only
// when the loop yields between steps. One worker per process, started on
// first use, never keeping the process alive while idle.
import { Worker } from "node:worker_threads";
import { TscolabError } from "../errors";
import type { CommitCheckpointOptions, CommittedCheckpoint } from "./checkpoints";
import type { CommitReply, CommitRequest } from "./commit_worker";
import { compiledScript } from "../util/compiled_script";

function workerScript(): string {
  const script = compiledScript(__dirname, "engine/store/commit_worker.js");
  if (!script) throw new Error(`cannot find commit_worker.js next to ${__filename} or in dist/; build with \`npm run build\``);
  return script;
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve: (r: CommittedCheckpoint) => void; reject: (e: Error) => void }>();

function fail(all: Error): void {
  for (const p of pending.values()) p.reject(all);
  pending.clear();
  worker = null;
}

function start(): Worker {
  const w = new Worker(workerScript());
  w.unref();
  w.on("message", (m: CommitReply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (!pending.size) w.unref();
    if (m.ok) return p.resolve(m.result);
    const err = m.error.userFacing ? new TscolabError(m.error.message, m.error.fix) : Object.assign(new Error(m.error.message), { stack: m.error.stack });
    p.reject(err);
  });
  w.on("error", (e) => fail(e));
  w.on("exit", (code) => fail(new Error(`the checkpoint commit thread stopped (exit ${code})`)));
  return w;
}

/** commitCheckpoint, in the worker thread. */
export function commitInThread(runDir: string, opts: CommitCheckpointOptions): Promise<CommittedCheckpoint> {
  const w = (worker ??= start());
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // A commit in flight keeps the process alive until it is done.
    w.ref();
    w.postMessage({ id, runDir, opts } satisfies CommitRequest);
  });
}
