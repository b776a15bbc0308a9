// Who is writing a run: run.json's `writer` ({ pid, host, since }). Two
// processes training one run folder would interleave two histories (and the
// resumed one would rotate away the other's newer checkpoints), so resuming a
// run that another live process on this machine is still training is refused.
// No lock file to forget: the claim ends when the writer's status leaves
// "running" or its process is gone (SIGKILL included).
import os from "node:os";
import { z } from "zod";
import { TscolabError } from "../errors";
import { processAlive } from "../util/process_alive";

export const writerSchema = z.object({ pid: z.number().int(), host: z.string(), since: z.string() });
export type RunWriter = z.infer<typeof writerSchema>;

export function currentWriter(): RunWriter {
  return { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
}

/** Throws when `runJson` says another live process on this host is training the run. */
export function assertNoOtherWriter(runId: string, runJson: { status: string; writer?: unknown }): void {
  const parsed = writerSchema.safeParse(runJson.writer);
  if (runJson.status !== "running" || !parsed.success) return;
  const w = parsed.data;
  // Another machine sharing the Drive cannot be probed; its pid means nothing here.
  if (w.host !== os.hostname() || w.pid === process.pid || !processAlive(w.pid)) return;
  throw new TscolabError(
    `run ${runId} is being trained right now by process ${w.pid} (since ${w.since})`,
    `wait for it to finish, or interrupt it (Ctrl-C / the stop button) and then --resume ${runId}`,
  );
}
