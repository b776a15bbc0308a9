// When a run saves a checkpoint and which checkpoints it keeps, as pure
// functions of where the loop is (in the manner of Orbax's CheckpointManager
// save-decision and preservation policies). The training loop's checkpoint
// hook asks the save decisions; commitCheckpoint's rotation asks keep/remove.

/** Checkpoints kept besides the best one when the config does not say (0 keeps all). */
export const DEFAULT_KEEP_LAST = 3;

/** The config's `checkpoint` section: cadences (0: off) and what to keep. */
export interface CheckpointPolicy {
  everySteps: number;
  everyEpochs: number;
  /** Newest checkpoints kept by rotation; 0 keeps all. */
  keepLast: number;
  /** Keep a copy of the best epoch as best/, and keep the step folder it came from out of rotation. */
  keepBest: boolean;
}

/**
 * After a step: every `everySteps` global steps, except on the last step of
 * an epoch, where the epoch-end decision is taken instead (one checkpoint
 * there, holding the epoch's validation, best and early-stopping state).
 */
export function saveAfterStep(p: Pick<CheckpointPolicy, "everySteps">, at: { step: number; lastOfEpoch: boolean }): boolean {
  return p.everySteps > 0 && at.step % p.everySteps === 0 && !at.lastOfEpoch;
}

export interface EpochEndSave {
  save: boolean;
  /** Also replace best/ with this checkpoint. */
  asBest: boolean;
}

/**
 * At the end of epoch `epoch` (global step `step`): on the epoch cadence, on
 * the step cadence (the epoch's last step was left to this decision), when
 * the run ends here (its last epoch, or early stopping), and on a new best
 * when `keepBest`. A new best becomes best/ only when `keepBest`.
 */
export function saveAtEpochEnd(p: CheckpointPolicy, at: { epoch: number; step: number; endsRun: boolean; isBest: boolean }): EpochEndSave {
  const cadence = (p.everyEpochs > 0 && at.epoch % p.everyEpochs === 0) || (p.everySteps > 0 && at.step % p.everySteps === 0) || at.endsRun;
  const asBest = at.isBest && p.keepBest;
  return { save: cadence || asBest, asBest };
}

/** Why a run stopped before its last epoch. */
export type StopKind = "interrupted" | "diverged" | "early-stopping";

/**
 * When the run stops before its end: an interrupt is saved where it stopped
 * (unless that step is saved already) so that it resumes there. A diverged
 * model is never saved: rotation would push the good checkpoints out. Early
 * stopping ends the run at an epoch end, which `saveAtEpochEnd` saved.
 */
export function saveOnStop(kind: StopKind, at: { step: number; lastSavedStep: number | null }): boolean {
  return kind === "interrupted" && at.step !== at.lastSavedStep;
}

/**
 * Rotation after committing step `committed`: the step folders to delete,
 * newest first. Folders above `committed` belong to an abandoned future (a
 * resumed run rewrites them) and go. Of the rest, the `keepLast` newest stay
 * (0 keeps all) and, with `keepBest`, so does `bestStep` (the folder best/
 * was copied from). So the committed checkpoint, the newest, always stays.
 */
export function checkpointsToRemove(steps: readonly number[], p: { committed: number; keepLast: number; keepBest: boolean; bestStep?: number }): number[] {
  const protect = p.keepBest ? p.bestStep : undefined;
  const remove: number[] = [];
  let kept = 0;
  for (const step of [...steps].sort((a, b) => b - a)) {
    if (step > p.committed) {
      remove.push(step);
      continue;
    }
    kept++;
    if (p.keepLast > 0 && kept > p.keepLast && step !== protect) remove.push(step);
  }
  return remove;
}
