// notebookProvenance: which version of the notebook's own folder produced a
// run: commit, branch, dirty or clean, and a sha256 of the
// uncommitted changes so two dirty runs can be told apart.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { git } from "./run_git";

export const notebookProvenanceSchema = z.object({
  /** The repository's top folder. */
  root: z.string(),
  /** HEAD's sha; null in a repository without commits yet. */
  commit: z.string().nullable(),
  /** The checked-out branch; null when HEAD is detached. */
  branch: z.string().nullable(),
  dirty: z.boolean(),
  /** sha256 of `git diff HEAD --binary` plus every untracked file (name and content; very large ones by size and time); only when dirty. */
  diffSha256: z.string().optional(),
  /** How many files differ from HEAD (tracked changes plus untracked files). */
  changedFiles: z.number().int().optional(),
});
export type NotebookProvenance = z.infer<typeof notebookProvenanceSchema>;

/**
 * Untracked files bigger than this count by name and size only (a dataset
 * dropped next to the notebook), and so does everything once this much
 * content has been hashed (an unignored node_modules): provenance must not
 * make a run wait.
 */
const HASH_FILE_LIMIT = 16 * 1024 * 1024;
const HASH_TOTAL_LIMIT = 64 * 1024 * 1024;

export interface NotebookProvenanceOptions {
  /** Folders left out of the dirty check: the Drive root when it lies inside the repository (runs would make it dirty). */
  exclude?: string[];
}

export async function notebookProvenance(cwd: string, opts: NotebookProvenanceOptions = {}): Promise<NotebookProvenance | null> {
  if (!fs.existsSync(cwd)) return null;
  const g = git(cwd);
  let root: string;
  try {
    if (!(await g.checkIsRepo())) return null;
    root = (await g.raw(["rev-parse", "--show-toplevel"])).trim();
  } catch {
    return null; // not a repository, a bare one, or git missing: no provenance to give
  }
  const top = git(root);
  const commit = (await top.raw(["rev-parse", "--verify", "--quiet", "HEAD"]).catch(() => "")).trim() || null;
  const branch = (await top.raw(["symbolic-ref", "--quiet", "--short", "HEAD"]).catch(() => "")).trim() || null;

  const realRoot = fs.realpathSync(root);
  const excludes = (opts.exclude ?? [])
    .map((d) => path.relative(realRoot, fs.existsSync(d) ? fs.realpathSync(d) : path.resolve(d)))
    .filter((r) => r && !r.startsWith("..") && !path.isAbsolute(r))
    .map((r) => `:(exclude,top)${r.split(path.sep).join("/")}`);
  const pathspec = ["--", ":(top)", ...excludes];

  const status = await top.raw(["status", "--porcelain=v1", "-z", "--untracked-files=all", ...pathspec]);
  // -z porcelain: "XY path", and a rename or copy is followed by its old path.
  const fields = status.split("\0").filter(Boolean);
  const entries: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    entries.push(fields[i]);
    if (/^[RC]/.test(fields[i])) i++;
  }
  if (entries.length === 0) return { root, commit, branch, dirty: false };

  const hash = crypto.createHash("sha256");
  if (commit) hash.update(await top.raw(["diff", "HEAD", "--binary", "--no-color", "--no-ext-diff", ...pathspec]));
  else hash.update(await top.raw(["diff", "--cached", "--binary", "--no-color", "--no-ext-diff", ...pathspec]));
  const untracked = (await top.raw(["ls-files", "--others", "--exclude-standard", "-z", ...pathspec])).split("\0").filter(Boolean).sort();
  let budget = HASH_TOTAL_LIMIT;
  for (const rel of untracked) {
    const abs = path.join(root, rel);
    hash.update(`\0untracked\0${rel}\0`);
    try {
      const st = fs.statSync(abs);
      const whole = st.isFile() && st.size <= HASH_FILE_LIMIT && st.size <= budget;
      if (whole) budget -= st.size;
      hash.update(whole ? fs.readFileSync(abs) : `size:${st.size}:mtime:${st.mtimeMs}`);
    } catch {
      hash.update("unreadable");
    }
  }
  return { root, commit, branch, dirty: true, diffSha256: hash.digest("hex"), changedFiles: entries.length };
}
