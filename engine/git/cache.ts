// The repository cache under the Drive root: `<drive>/tscolab/cache/git/<key>/`
// holds a bare clone (`repo.git`, shared by every run of that repository; no
// working tree, so runs never fight over a checkout) and one read-only tree
// per commit (`commits/<sha>/`, see materialise.ts). The key is the
// repository's readable name plus a hash of its canonical URL or path.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { makeDirs } from "../store/durable_fs";
import { withDirLock } from "./lock";
import { isRemoteRepo } from "./ref";
import { removeStaleTemporaries, temporaryTag } from "./stale";
import { git, gitReason, interrupted } from "./run_git";

export interface RepoCache {
  /** `<drive>/tscolab/cache/git/<key>` */
  dir: string;
  /** The bare clone inside it. */
  gitDir: string;
  repo: string;
}

export function gitCacheRoot(driveRoot: string): string {
  return path.join(driveRoot, "tscolab", "cache", "git");
}

export function cacheKey(repo: string): string {
  const name =
    repo
      .replace(/\/+$/, "")
      .replace(/\.git$/, "")
      .split(/[/\\:]/)
      .pop() || "repo";
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .slice(0, 40) || "repo";
  return `${slug}-${crypto.createHash("sha256").update(repo).digest("hex").slice(0, 12)}`;
}

const FETCH_REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

function unknownRepo(repo: string, why: string): TscolabError {
  return new TscolabError(
    `git repository ${repo} cannot be cloned: ${why}`,
    "check model.git.repo: a URL git can reach, or the path of a local repository (relative paths start at the notebook folder)",
  );
}

/** The cached bare clone of `repo` (canonical form), cloning it on first use. */
export async function openRepoCache(driveRoot: string, repo: string, signal?: AbortSignal): Promise<RepoCache & { cloned: boolean }> {
  const dir = path.join(gitCacheRoot(driveRoot), cacheKey(repo));
  const gitDir = path.join(dir, "repo.git");
  if (fs.existsSync(path.join(gitDir, "HEAD"))) return { dir, gitDir, repo, cloned: false };
  if (!isRemoteRepo(repo) && !fs.existsSync(repo)) throw unknownRepo(repo, "no such folder");
  makeDirs(dir);
  removeStaleTemporaries(dir, /\.clone-/);
  // Clone aside and rename: a killed clone leaves only a temporary, and two
  // runs cloning at once both succeed (the loser's copy is dropped).
  const tmp = path.join(dir, `.clone-${temporaryTag()}`);
  try {
    await git(dir, {}, signal).clone(repo, tmp, ["--bare", "--quiet"]);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (signal?.aborted) throw interrupted(`cloning ${repo}`);
    // git says "does not exist" for an existing folder that is no repository.
    throw unknownRepo(repo, !isRemoteRepo(repo) && fs.existsSync(repo) ? "the folder is not a git repository" : gitReason(e));
  }
  fs.writeFileSync(path.join(dir, "source.json"), JSON.stringify({ repo, clonedAt: new Date().toISOString() }, null, 2) + "\n");
  try {
    fs.renameSync(tmp, gitDir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(gitDir, "HEAD"))) throw e;
  }
  return { dir, gitDir, repo, cloned: true };
}

/** Brings every branch and tag of the cache up to date with the repository. */
export async function fetchRepo(cache: RepoCache, signal?: AbortSignal): Promise<void> {
  await withDirLock(
    path.join(cache.dir, "fetch.lock"),
    async () => {
      await git(cache.gitDir, {}, signal).raw(["fetch", "--quiet", "--prune", "--force", "--no-write-fetch-head", cache.repo, ...FETCH_REFSPECS]);
    },
    { signal },
  );
}

/** A full commit sha for `rev`, or null when the cache does not know it. */
export async function revParse(cache: RepoCache, rev: string): Promise<string | null> {
  try {
    const out = await git(cache.gitDir).raw(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    const sha = out.trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

async function hasRef(cache: RepoCache, ref: string): Promise<boolean> {
  return (await git(cache.gitDir).raw(["for-each-ref", "--format=%(refname)", ref])).trim() !== "";
}

async function refNames(cache: RepoCache, prefix: string): Promise<string[]> {
  const out = await git(cache.gitDir).raw(["for-each-ref", "--format=%(refname:short)", "--sort=-committerdate", prefix]);
  return out.split("\n").filter(Boolean);
}

export interface ResolvedRev {
  commit: string;
  /** Set when the repository could not be reached and the cache answered. */
  note?: string;
}

/**
 * REV → commit sha. A full sha or a tag already in the cache is used as is
 * (they do not move); a branch, HEAD or an abbreviated sha fetches first, so
 * "main" means main as it is now. When the fetch fails but the cache knows
 * REV, the cached answer is used and said so.
 */
export async function resolveRev(cache: RepoCache, rev: string, alreadyFetched: boolean, signal?: AbortSignal): Promise<ResolvedRev> {
  const fullSha = /^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(rev);
  const cached = await revParse(cache, rev);
  if (cached && (fullSha || (await hasRef(cache, `refs/tags/${rev}`)))) return { commit: cached };
  let fetchError: string | undefined;
  if (!alreadyFetched) {
    try {
      await fetchRepo(cache, signal);
    } catch (e) {
      if (signal?.aborted) throw interrupted(`fetching ${cache.repo}`);
      fetchError = e instanceof TscolabError ? e.message : gitReason(e);
    }
  }
  if (fullSha && !(await revParse(cache, rev))) {
    // A commit on no branch or tag: servers that allow it hand it out by sha.
    await git(cache.gitDir, {}, signal)
      .raw(["fetch", "--quiet", "--no-write-fetch-head", cache.repo, rev])
      .catch(() => undefined);
    if (signal?.aborted) throw interrupted(`fetching ${rev} from ${cache.repo}`);
  }
  const commit = await revParse(cache, rev);
  if (commit) return fetchError ? { commit, note: `could not fetch ${cache.repo} (${fetchError}); used the cached ${rev}` } : { commit };
  if (fetchError) throw new TscolabError(`git repository ${cache.repo} cannot be fetched: ${fetchError}`, "check the URL and your network, or use a commit the cache already has");
  const branches = await refNames(cache, "refs/heads");
  const tags = await refNames(cache, "refs/tags");
  const known = [branches.length ? `branches: ${branches.slice(0, 8).join(", ")}` : "no branches", tags.length ? `tags: ${tags.slice(0, 8).join(", ")}` : "no tags"].join("; ");
  throw new TscolabError(`revision "${rev}" not found in ${cache.repo} (${known})`, "set model.git.rev to a commit sha, tag or branch of that repository");
}
