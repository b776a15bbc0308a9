// What a git model source is: `{ "git": { repo, rev, path } }` in a config, or
// `git+URL#REV:FILE` on a command line (pip's `git+` convention, with the file
// after the revision because a ref name can never contain ":").
import path from "node:path";
import { z } from "zod";
import { UsageError } from "../errors";

export const gitModelSource = z
  .object({
    repo: z.string().min(1).describe("repository URL (https://, ssh://, file://, git@host:...) or a local path"),
    rev: z.string().min(1).default("HEAD").describe("commit sha, tag or branch (default HEAD: the default branch)"),
    path: z.string().min(1).describe("the model file inside the repository, e.g. models/net.ts"),
  })
  .strict();
export type GitModelSource = z.infer<typeof gitModelSource>;

const PREFIX = "git+";

export function isGitModelRef(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(PREFIX);
}

/**
 * `git+https://host/user/repo.git#v1.2:models/net.ts` → { repo, rev, path }.
 * An empty REV (`git+URL#:FILE`) means HEAD, the default branch; FILE is required.
 */
export function parseGitModelRef(ref: string): GitModelSource {
  const form = "--model git+URL#REV:FILE, e.g. git+https://github.com/me/models.git#v1:net.ts";
  if (!isGitModelRef(ref)) throw new UsageError(`"${ref}" is not a git model reference; expected ${form}`);
  const body = ref.slice(PREFIX.length);
  // A URL never contains a literal "#" (it would be a fragment), so the first one splits.
  const hash = body.indexOf("#");
  if (hash < 0) throw new UsageError(`"${ref}" names no revision and file; expected ${form}`);
  const repo = body.slice(0, hash);
  const revAndPath = body.slice(hash + 1);
  const colon = revAndPath.indexOf(":");
  if (colon < 0) throw new UsageError(`"${ref}" names no file after the revision; expected ${form}`);
  const rev = revAndPath.slice(0, colon) || "HEAD";
  const file = revAndPath.slice(colon + 1);
  if (!repo) throw new UsageError(`"${ref}" names no repository; expected ${form}`);
  if (!file) throw new UsageError(`"${ref}" names no file after "${rev}:"; expected ${form}`);
  return gitModelSource.parse({ repo, rev, path: file });
}

/** `git+REPO#REV:FILE` again, for messages and run.json. */
export function formatGitModelRef(src: GitModelSource): string {
  return `${PREFIX}${src.repo}#${src.rev}:${src.path}`;
}

/** True for something git fetches over a transport (URL or scp-like `user@host:path`), false for a local path. */
export function isRemoteRepo(repo: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return !/^file:\/\//i.test(repo);
  // scp-like `[user@]host:path`: git's own rule is a colon before any slash.
  // A Windows drive letter ("C:\\..." or "C:/...") is not one.
  const colon = repo.indexOf(":");
  const slash = repo.search(/[\\/]/);
  return colon > 0 && (slash < 0 || colon < slash) && !/^[a-z]:[\\/]/i.test(repo);
}

/**
 * The repository as git should see it: URLs unchanged, local paths (and
 * file:// URLs) made absolute against the notebook's folder.
 */
export function canonicalRepo(repo: string, cwd: string): string {
  if (/^file:\/\//i.test(repo)) return path.resolve(decodeURIComponent(repo.replace(/^file:\/\//i, "")));
  if (isRemoteRepo(repo)) return repo.replace(/\/+$/, "");
  return path.resolve(cwd, repo);
}

/**
 * FILE as a clean repository-relative POSIX path; refuses absolute paths and
 * ones that climb out of the repository.
 */
export function normaliseRepoPath(file: string): string {
  const posix = file.replace(/\\/g, "/");
  const clean = path.posix.normalize(posix).replace(/^\.\//, "");
  if (path.posix.isAbsolute(posix) || clean === ".." || clean.startsWith("../") || clean === "." || clean === "") {
    throw new UsageError(`model.git.path "${file}" must be a file inside the repository (relative, no "..")`);
  }
  return clean;
}

/** Refuses a revision git would read as an option (argument injection). */
export function checkRev(rev: string): string {
  if (rev.startsWith("-") || /[\s\0]/.test(rev)) throw new UsageError(`model.git.rev "${rev}" is not a revision; give a commit sha, tag or branch name`);
  return rev;
}
