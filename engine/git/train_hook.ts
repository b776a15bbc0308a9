// The two calls the trainer makes for git models, kept here so its own code
// stays a few lines: a `{ git: ... }` model config becomes the `{ file: ... }`
// config the existing loader understands (after the scan), and run.json's
// `provenance` gets the git source and the notebook's own repository state.
import { formatGitModelRef, type GitModelSource } from "./ref";
import { notebookProvenance, type NotebookProvenance } from "./notebook";
import { resolveGitModel, type GitProvenance } from "./resolve";

type WithGit = { git?: GitModelSource; file?: string; trust?: boolean };

export interface GitModelForTraining<M> {
  /** The same model config with `file` pointing into the checked-out commit and no `git`. */
  model: M;
  /** How to name the model in messages: `git+REPO#REV:FILE (commit abc123456789)`. */
  where: string;
  provenance: GitProvenance;
  notes: string[];
}

export async function gitModelForTraining<M extends WithGit>(
  model: M & { git: GitModelSource },
  opts: { driveRoot: string; cwd: string; trust?: boolean; signal?: AbortSignal },
): Promise<GitModelForTraining<M>> {
  const resolved = await resolveGitModel(model.git, { driveRoot: opts.driveRoot, cwd: opts.cwd, trust: opts.trust ?? model.trust ?? false, signal: opts.signal });
  const { git: _git, ...rest } = model;
  return {
    model: { ...rest, file: resolved.file } as M,
    where: `${formatGitModelRef(model.git)} (commit ${resolved.provenance.commit.slice(0, 12)})`,
    provenance: resolved.provenance,
    notes: resolved.notes,
  };
}

/** run.json `provenance`: where the model came from, and the notebook folder's git state (null outside a repository). */
export async function runProvenance(opts: {
  cwd: string;
  driveRoot: string;
  modelSource: string;
  git?: GitProvenance | null;
}): Promise<{ modelSource: string; cwd: string; git?: GitProvenance; notebook: NotebookProvenance | null }> {
  return {
    modelSource: opts.modelSource,
    cwd: opts.cwd,
    ...(opts.git ? { git: opts.git } : {}),
    notebook: await notebookProvenance(opts.cwd, { exclude: [opts.driveRoot] }),
  };
}
