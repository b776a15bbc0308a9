// Resuming a run: open it, clean dead writers' leftovers, pick the newest
// checkpoint that verifies (reporting every newer one that does not, with file
// and sha256), and rewind metrics.jsonl to that checkpoint's step.
import { loadLatestCheckpoint, type CorruptCheckpoint, type LoadedCheckpoint } from "./checkpoints";
import { rewindMetrics } from "./metrics";
import { openRun, updateRunJson, type RunHandle } from "./runs";
import { assertNoOtherWriter, currentWriter } from "./writer";

export interface ResumePoint {
  run: RunHandle;
  /** null: no valid checkpoint; the run starts over from step 0 in the same folder. */
  checkpoint: LoadedCheckpoint | null;
  /** Newer checkpoints that failed verification and were skipped. */
  skipped: CorruptCheckpoint[];
  /** One line each, ready to show the user. */
  notes: string[];
}

/** Refuses a run another live process is training (run.json `writer`), then claims it. */
export async function prepareResume(
  driveRoot: string,
  ref: string,
  opts: {
    cwd?: string;
    /** Where the checkpoint came from, said after "resuming … (epoch N)". */
    where?: string;
  } = {},
): Promise<ResumePoint> {
  const run = await openRun(driveRoot, ref, opts);
  assertNoOtherWriter(run.runId, run.runJson);
  // Claim the run before touching it: a second resume of it now stops at the check above.
  run.runJson = await updateRunJson(run.runDir, { status: "running", writer: currentWriter() });
  const { checkpoint, skipped } = await loadLatestCheckpoint(run.runDir);
  const notes = skipped.map((s) => `skipping ${s.message}`);
  const step = checkpoint ? checkpoint.step : -1;
  const { dropped } = await rewindMetrics(run.runDir, step);
  if (checkpoint) notes.push(`resuming ${run.runId} from ${checkpoint.name} (epoch ${checkpoint.epoch})${opts.where ? ` ${opts.where}` : ""}`);
  else notes.push(`no valid checkpoint in ${run.runId}; starting it over from step 0`);
  if (dropped) notes.push(`metrics.jsonl: dropped ${dropped} line(s) written after that checkpoint`);
  return { run, checkpoint, skipped, notes };
}
