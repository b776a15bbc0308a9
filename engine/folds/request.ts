// Whether a train() call is a K-fold run: a config with `folds`, or a resume
// of a folds parent run, or of one of its fold runs (`--resume last` after an
// interrupted fold lands on the fold's run: the parent is resumed instead, so
// it finishes that fold and the ones after it). Light on purpose: train()
// asks this on every call, and only a folds run loads the folds engine.
import fs from "node:fs";
import path from "node:path";
import { resolveDriveRoot, runsDir } from "../store/drive_root";
import { openRun, RUN_JSON } from "../store/runs";

/** run.json `kind` of a folds parent run. */
export const FOLDS_KIND = "folds";

/** What a fold run's run.json carries: its parent run and its place among the folds. */
export interface FoldTag {
  parentRunId: string;
  /** 1-based. */
  fold: number;
  folds: number;
}

export type FoldsRequest = { kind: "new" } | { kind: "resume"; runDir: string; note?: string };

type Obj = Record<string, unknown>;

export async function foldsRequest(config: Obj | undefined, opts: { resume?: string; drive?: string; cwd?: string }): Promise<FoldsRequest | null> {
  if (!opts.resume) return config && config.folds !== undefined && config.folds !== null ? { kind: "new" } : null;
  const cwd = opts.cwd ?? process.cwd();
  const driveRoot = resolveDriveRoot(opts.drive, cwd, typeof config?.drive === "string" ? config.drive : undefined);
  let run;
  try {
    run = await openRun(driveRoot, opts.resume, { cwd });
  } catch {
    return null; // train()'s own resume reports a missing run
  }
  if (run.runJson.kind === FOLDS_KIND) return { kind: "resume", runDir: run.runDir };
  const parentId = run.runJson.foldOf;
  if (typeof parentId === "string") {
    const parentDir = path.join(path.dirname(run.runDir), parentId);
    if (fs.existsSync(path.join(parentDir, RUN_JSON)))
      return {
        kind: "resume",
        runDir: parentDir,
        note: `run ${run.runId} is fold ${run.runJson.fold} of ${parentId}: resuming that folds run, which continues its unfinished folds`,
      };
  }
  return null;
}

/**
 * A fold run of `parentRunId` created but not yet recorded by its parent (the parent died in between), on the Drive
 * or, for a local-first fold the Drive has not received yet, in this machine's local copies under `localBase`.
 */
export function findFoldRun(driveRoot: string, parentRunId: string, fold: number, localBase?: string | null): string | null {
  const roots = [driveRoot, ...(localBase ? [localBase] : [])];
  const found: string[] = [];
  for (const root of roots) {
    let names: string[];
    try {
      names = fs.readdirSync(runsDir(root)).filter((n) => !n.startsWith("."));
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        const j = JSON.parse(fs.readFileSync(path.join(runsDir(root), n, RUN_JSON), "utf8")) as Obj;
        if (j.foldOf === parentRunId && j.fold === fold) found.push(n);
      } catch {
        /* not a run folder we can read */
      }
    }
  }
  return found.sort().pop() ?? null;
}
