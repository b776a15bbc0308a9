// notebookProvenance on real repositories: clean, dirty (tracked edits and
// untracked files, each giving its own diff hash), detached, no commits yet,
// and the Drive folder inside the repository left out.
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { notebookProvenance } from "../engine/git";
import { makeRepo, tempDir, type TestRepo } from "./fixtures/git/repo";

let root: string;
let repo: TestRepo;
let head: string;

beforeAll(async () => {
  root = tempDir("git-notebook");
  repo = await makeRepo(path.join(root, "project"));
  head = await repo.commit({ "notebooks/train.ipynb": "{}\n", "data/train.csv": "a,y\n1,0\n" }, "notebook");
});

describe("notebookProvenance", () => {
  test("is null outside a repository", async () => {
    const plain = path.join(root, "plain");
    fs.mkdirSync(plain);
    expect(await notebookProvenance(plain)).toBeNull();
    expect(await notebookProvenance(path.join(root, "does-not-exist"))).toBeNull();
  });

  test("a clean checkout: commit, branch, not dirty, no diff hash (from a sub-folder too)", async () => {
    const p = await notebookProvenance(path.join(repo.dir, "notebooks"));
    expect(p).toEqual({ root: fs.realpathSync(repo.dir), commit: head, branch: "main", dirty: false });
  });

  test("edits make it dirty with a hash that follows the content of the change", async () => {
    const nb = path.join(repo.dir, "notebooks", "train.ipynb");
    fs.writeFileSync(nb, '{"cells": 1}\n');
    const a = await notebookProvenance(repo.dir);
    expect(a).toMatchObject({ commit: head, branch: "main", dirty: true, changedFiles: 1 });
    expect(a?.diffSha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await notebookProvenance(repo.dir))?.diffSha256).toBe(a?.diffSha256); // same change, same hash
    fs.writeFileSync(nb, '{"cells": 2}\n');
    const b = await notebookProvenance(repo.dir);
    expect(b?.diffSha256).not.toBe(a?.diffSha256);

    // An untracked file counts, by name and content.
    fs.writeFileSync(path.join(repo.dir, "notebooks", "scratch.ts"), "let x = 1;\n");
    const c = await notebookProvenance(repo.dir);
    expect(c).toMatchObject({ dirty: true, changedFiles: 2 });
    expect(c?.diffSha256).not.toBe(b?.diffSha256);
    fs.writeFileSync(path.join(repo.dir, "notebooks", "scratch.ts"), "let x = 2;\n");
    expect((await notebookProvenance(repo.dir))?.diffSha256).not.toBe(c?.diffSha256);

    await repo.git.checkout(["--", "."]);
    fs.rmSync(path.join(repo.dir, "notebooks", "scratch.ts"));
    expect((await notebookProvenance(repo.dir))?.dirty).toBe(false);
  });

  test("the Drive folder inside the repository is left out, so runs do not make it dirty", async () => {
    const drive = path.join(repo.dir, "drive");
    fs.mkdirSync(path.join(drive, "tscolab", "runs", "r1"), { recursive: true });
    fs.writeFileSync(path.join(drive, "tscolab", "runs", "r1", "run.json"), "{}\n");
    expect((await notebookProvenance(repo.dir))?.dirty).toBe(true);
    expect(await notebookProvenance(repo.dir, { exclude: [drive] })).toMatchObject({ dirty: false, commit: head });
    // An exclude outside the repository changes nothing.
    expect((await notebookProvenance(repo.dir, { exclude: [path.join(root, "elsewhere")] }))?.dirty).toBe(true);
    fs.rmSync(drive, { recursive: true });
  });

  test("a detached HEAD has no branch", async () => {
    await repo.git.checkout(["--detach", "--quiet"]);
    expect(await notebookProvenance(repo.dir)).toMatchObject({ commit: head, branch: null, dirty: false });
    await repo.git.checkout(["main", "--quiet"]);
  });

  test("a repository without commits: no commit, the unborn branch, dirty by its files", async () => {
    const fresh = await makeRepo(path.join(root, "fresh"), "trunk");
    expect(await notebookProvenance(fresh.dir)).toMatchObject({ commit: null, branch: "trunk", dirty: false });
    fs.writeFileSync(path.join(fresh.dir, "nb.ipynb"), "{}\n");
    const p = await notebookProvenance(fresh.dir);
    expect(p).toMatchObject({ commit: null, branch: "trunk", dirty: true, changedFiles: 1 });
    expect(p?.diffSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
