// One commit's files on disk: `<cache>/commits/<sha>/`, written once and then
// only read. The tree is checked out through a private index into a temporary
// folder and renamed into place, so concurrent runs never share a working
// tree or index, and a killed checkout leaves only a temporary behind.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { makeDirs } from "../store/durable_fs";
import type { RepoCache } from "./cache";
import { git } from "./run_git";
import { removeStaleTemporaries, temporaryTag } from "./stale";

export function commitDir(cache: RepoCache, commit: string): string {
  return path.join(cache.dir, "commits", commit);
}

/** How FILE is stored at `commit`: "blob" (a file), "tree", "link", "commit" (submodule) or null (absent). */
export async function entryKind(cache: RepoCache, commit: string, file: string): Promise<"blob" | "tree" | "link" | "commit" | null> {
  const out = (await git(cache.gitDir).raw(["ls-tree", "--full-tree", commit, "--", file])).trim();
  if (!out) return null;
  const [mode, type] = out.split(/\s+/);
  if (mode === "120000") return "link";
  return type as "blob" | "tree" | "commit";
}

/** Model-looking files at `commit`, for the "missing file" message. */
export async function listCodeFiles(cache: RepoCache, commit: string, limit = 10): Promise<string[]> {
  const out = await git(cache.gitDir).raw(["ls-tree", "-r", "--name-only", "--full-tree", commit]);
  return out
    .split("\n")
    .filter((f) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(f) && !f.endsWith(".d.ts"))
    .slice(0, limit);
}

/** Checks the commit's tree out once; returns the folder holding it. */
export async function materialiseCommit(cache: RepoCache, commit: string): Promise<string> {
  const dest = commitDir(cache, commit);
  if (fs.existsSync(dest)) return dest;
  const parent = path.dirname(dest);
  makeDirs(parent);
  removeStaleTemporaries(parent, /\.tmp-[0-9a-f]+-/);
  const tmp = path.join(parent, `.tmp-${commit.slice(0, 12)}-${temporaryTag()}`);
  const index = `${tmp}.index`;
  try {
    fs.mkdirSync(tmp);
    // A bare repository has no work tree: lend it the temporary folder and a private index.
    const g = git(tmp, { GIT_DIR: cache.gitDir, GIT_WORK_TREE: tmp, GIT_INDEX_FILE: index });
    await g.raw(["read-tree", commit]);
    await g.raw(["checkout-index", "--all", "--force"]);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another run renamed the same commit into place first: use theirs.
    if (!fs.existsSync(dest))
      throw new TscolabError(
        `cannot check out ${commit.slice(0, 12)} of ${cache.repo} into ${parent}: ${(e as Error).message.split("\n")[0]}`,
        "check that the Drive folder is writable and has free space",
      );
  } finally {
    fs.rmSync(index, { force: true });
  }
  return dest;
}
