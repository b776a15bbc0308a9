// resolveGitModel against real local repositories (real git through
// simple-git, no network): pinned revisions, moving branches, the cache,
// refusals by the scanner, and one clear line for each kind of bad input.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { gitCacheRoot, parseGitModelRef, resolveGitModel } from "../engine/git";
import { HOST_TAG } from "../engine/git/stale";
import { loadModelFactory } from "../engine/models";
import { TscolabError, UsageError } from "../magics/types";
import { makeRepo, modelSource, spawnsChild, tempDir, type TestRepo } from "./fixtures/git/repo";

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** Builds the model the checked-out file defines, with our tf, and returns its hidden width. */
function hiddenUnits(file: string): number {
  const model = loadModelFactory(file, tf)({ tf, inputShape: [4], outputs: 3, task: "classification" }) as tf.LayersModel;
  const units = (model.layers[0].getConfig() as { units: number }).units;
  model.dispose();
  return units;
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

let root: string;
let repo: TestRepo;
let v1: string;
let v2: string;

beforeAll(async () => {
  root = tempDir("git-resolve");
  repo = await makeRepo(path.join(root, "models"));
  v1 = await repo.commit({ "net.ts": modelSource(3), "README.md": "# models\n" }, "v1: 3 hidden units");
  await repo.git.addTag("v1");
  v2 = await repo.commit({ "net.ts": modelSource(5) }, "v2: 5 hidden units");
});

describe("revisions", () => {
  test("a pinned older commit is what runs even after the branch moved on", async () => {
    const drive = path.join(root, "drive-pin");
    const head = await resolveGitModel({ repo: repo.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    expect(head.provenance.commit).toBe(v2);
    expect(hiddenUnits(head.file)).toBe(5);

    const pinned = await resolveGitModel({ repo: repo.dir, rev: v1, path: "net.ts" }, { driveRoot: drive });
    expect(pinned.provenance).toMatchObject({ repo: repo.dir, requestedRev: v1, commit: v1, path: "net.ts", trusted: false, findings: [] });
    expect(pinned.provenance.sha256).toBe(crypto.createHash("sha256").update(modelSource(3)).digest("hex"));
    expect(sha256(pinned.file)).toBe(pinned.provenance.sha256);
    expect(hiddenUnits(pinned.file)).toBe(3);

    // The branch moves on upstream: "main" follows it (a fetch), the pinned sha does not.
    const v3 = await repo.commit({ "net.ts": modelSource(7) }, "v3: 7 hidden units");
    const moved = await resolveGitModel({ repo: repo.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    expect(moved.provenance.commit).toBe(v3);
    expect(hiddenUnits(moved.file)).toBe(7);
    const stillPinned = await resolveGitModel({ repo: repo.dir, rev: v1, path: "net.ts" }, { driveRoot: drive });
    expect(stillPinned.file).toBe(pinned.file);
    expect(hiddenUnits(stillPinned.file)).toBe(3);
    // The head's checkout from before is untouched too: one folder per commit.
    expect(hiddenUnits(head.file)).toBe(5);
    await repo.git.reset(["--hard", v2]); // later tests expect main at v2
  });

  test("a tag, an abbreviated sha and HEAD resolve to commits", async () => {
    const drive = path.join(root, "drive-revs");
    const tag = await resolveGitModel({ repo: repo.dir, rev: "v1", path: "net.ts" }, { driveRoot: drive });
    expect(tag.provenance).toMatchObject({ requestedRev: "v1", commit: v1 });
    const short = await resolveGitModel({ repo: repo.dir, rev: v1.slice(0, 8), path: "net.ts" }, { driveRoot: drive });
    expect(short.provenance.commit).toBe(v1);
    const head = await resolveGitModel({ repo: repo.dir, path: "./net.ts" }, { driveRoot: drive });
    expect(head.provenance).toMatchObject({ requestedRev: "HEAD", commit: v2, path: "net.ts" });
  });

  test("git+URL#REV:FILE goes through the same resolution (file:// URL, relative path)", async () => {
    const drive = path.join(root, "drive-ref");
    const byUrl = await resolveGitModel(parseGitModelRef(`git+file://${repo.dir}#v1:net.ts`), { driveRoot: drive });
    expect(byUrl.provenance.commit).toBe(v1);
    const byPath = await resolveGitModel(parseGitModelRef("git+./models#main:net.ts"), { driveRoot: drive, cwd: root });
    expect(byPath.provenance).toMatchObject({ repo: repo.dir, commit: v2 });
  });
});

describe("the cache", () => {
  test("is one bare clone per repository under <drive>/tscolab/cache/git, reused across runs", async () => {
    const drive = path.join(root, "drive-cache");
    const a = await resolveGitModel({ repo: repo.dir, rev: "v1", path: "net.ts" }, { driveRoot: drive });
    const cloneDir = path.dirname(path.dirname(a.dir));
    const marker = path.join(cloneDir, "repo.git", "tscolab-test-marker");
    fs.writeFileSync(marker, "");
    await resolveGitModel({ repo: repo.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    await resolveGitModel({ repo: `${repo.dir}/`, rev: v1, path: "net.ts" }, { driveRoot: drive });
    expect(fs.readdirSync(gitCacheRoot(drive))).toEqual([path.basename(cloneDir)]);
    expect(fs.existsSync(marker)).toBe(true); // not cloned again
    expect(a.file.startsWith(path.join(drive, "tscolab", "cache", "git") + path.sep)).toBe(true);
  });

  test("concurrent runs on an empty cache all get the same checkout", async () => {
    const drive = path.join(root, "drive-concurrent");
    const runs = await Promise.all([v1, v2, "v1", "main", v1, "main"].map((rev) => resolveGitModel({ repo: repo.dir, rev, path: "net.ts" }, { driveRoot: drive })));
    expect(runs.map((r) => r.provenance.commit)).toEqual([v1, v2, v1, v2, v1, v2]);
    expect(new Set(runs.map((r) => r.file)).size).toBe(2);
    const cache = path.join(gitCacheRoot(drive), fs.readdirSync(gitCacheRoot(drive))[0]);
    expect(fs.readdirSync(path.join(cache, "commits")).sort()).toEqual([v1, v2].sort()); // no temporaries left
    expect(fs.readdirSync(cache).filter((f) => f.startsWith(".")).length).toBe(0);
  });

  test("concurrent fetches of a cached repository take turns; a lock left by a dead process is taken over", async () => {
    const drive = path.join(root, "drive-fetch-lock");
    const moving = await makeRepo(path.join(root, "moving"));
    await moving.commit({ "net.ts": modelSource(1) }, "one");
    const first = await resolveGitModel({ repo: moving.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    const cacheDir = path.dirname(path.dirname(first.dir));
    const two = await moving.commit({ "net.ts": modelSource(2) }, "two");
    // Every one of these fetches (a branch is always brought up to date).
    const runs = await Promise.all(Array.from({ length: 5 }, () => resolveGitModel({ repo: moving.dir, rev: "main", path: "net.ts" }, { driveRoot: drive })));
    expect(runs.map((r) => r.provenance.commit)).toEqual(Array(5).fill(two));
    expect(runs.every((r) => r.notes.length === 0)).toBe(true);
    expect(fs.existsSync(path.join(cacheDir, "fetch.lock"))).toBe(false);

    // A run SIGKILLed while fetching leaves its lock behind, owned by a pid that is gone.
    const three = await moving.commit({ "net.ts": modelSource(3) }, "three");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    fs.mkdirSync(path.join(cacheDir, "fetch.lock"));
    fs.writeFileSync(path.join(cacheDir, "fetch.lock", "owner.json"), JSON.stringify({ pid: Number(dead), host: HOST_TAG, at: Date.now() }));
    const after = await resolveGitModel({ repo: moving.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    expect(after.provenance.commit).toBe(three);
    expect(fs.existsSync(path.join(cacheDir, "fetch.lock"))).toBe(false);
  });

  test("temporaries left by a killed run are cleaned up; a live writer's are not", async () => {
    const drive = path.join(root, "drive-stale");
    const first = await resolveGitModel({ repo: repo.dir, rev: "v1", path: "net.ts" }, { driveRoot: drive });
    const commits = path.dirname(first.dir);
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    const deadTmp = path.join(commits, `.tmp-${v2.slice(0, 12)}-${HOST_TAG}-${dead}-0badc0de`);
    const liveTmp = path.join(commits, `.tmp-${v2.slice(0, 12)}-${HOST_TAG}-${process.pid}-0badc0de`);
    // Another machine on a shared Drive: its pid means nothing here, so only age counts.
    const otherHost = path.join(commits, `.tmp-${v2.slice(0, 12)}-0000abcd-${dead}-0badc0de`);
    const otherHostOld = path.join(commits, `.tmp-${v2.slice(0, 12)}-0000abcd-${dead}-0ldc0de0`);
    for (const d of [deadTmp, liveTmp, otherHost, otherHostOld]) fs.mkdirSync(d);
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    fs.utimesSync(otherHostOld, twoDaysAgo, twoDaysAgo);
    fs.writeFileSync(path.join(deadTmp, "net.ts"), "half");
    const second = await resolveGitModel({ repo: repo.dir, rev: v2, path: "net.ts" }, { driveRoot: drive });
    expect(fs.readFileSync(second.file, "utf8")).toBe(modelSource(5));
    expect(fs.existsSync(deadTmp)).toBe(false);
    expect(fs.existsSync(liveTmp)).toBe(true);
    expect(fs.existsSync(otherHost)).toBe(true);
    expect(fs.existsSync(otherHostOld)).toBe(false);
    for (const d of [liveTmp, otherHost]) fs.rmSync(d, { recursive: true });
  });

  test("when the repository is gone, a tag comes from the cache and a branch says it used the cache", async () => {
    const drive = path.join(root, "drive-offline");
    const gone = await makeRepo(path.join(root, "gone"));
    const c1 = await gone.commit({ "net.ts": modelSource(4) }, "only");
    await gone.git.addTag("t1");
    await resolveGitModel({ repo: gone.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    fs.rmSync(gone.dir, { recursive: true, force: true });
    const tagged = await resolveGitModel({ repo: gone.dir, rev: "t1", path: "net.ts" }, { driveRoot: drive });
    expect(tagged.provenance.commit).toBe(c1);
    expect(tagged.notes).toEqual([]);
    const branch = await resolveGitModel({ repo: gone.dir, rev: "main", path: "net.ts" }, { driveRoot: drive });
    expect(branch.provenance.commit).toBe(c1);
    expect(branch.notes.join("\n")).toMatch(/could not fetch .*gone.*used the cached main/);
  });
});

describe("the scanner guards the run", () => {
  let evil: TestRepo;
  let marker: string;
  beforeAll(async () => {
    marker = path.join(root, "spawned.marker");
    evil = await makeRepo(path.join(root, "evil"));
    await evil.commit({ "net.ts": modelSource(2, spawnsChild(marker)), "clean.ts": modelSource(2) }, "a model that spawns a child process");
  });

  test("a model file that spawns a child process is refused, and the process never starts", async () => {
    const drive = path.join(root, "drive-evil");
    const err = await errorOf(resolveGitModel({ repo: evil.dir, rev: "main", path: "net.ts" }, { driveRoot: drive }));
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toMatch(/^refusing to run net\.ts from .*evil at main \([0-9a-f]{12}\): net\.ts:1: child process: require\("child_process"\)/);
    expect(err.message).toContain("--trust");
    expect(err.message.split("\n")).toHaveLength(1);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test("with trust it is handed over (and runs), and the findings are recorded", async () => {
    const drive = path.join(root, "drive-evil");
    const trusted = await resolveGitModel({ repo: evil.dir, rev: "main", path: "net.ts" }, { driveRoot: drive, trust: true });
    expect(trusted.provenance.trusted).toBe(true);
    expect(trusted.provenance.findings[0]).toMatchObject({ file: "net.ts", line: 1, pattern: 'child process: require("child_process")' });
    expect(trusted.notes[0]).toMatch(/^trusted net\.ts despite 1 finding/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(hiddenUnits(trusted.file)).toBe(2);
    expect(fs.readFileSync(marker, "utf8")).toBe("spawned");
    fs.rmSync(marker);
  });

  test("a clean file of the same repository needs no trust", async () => {
    const clean = await resolveGitModel({ repo: evil.dir, rev: "main", path: "clean.ts" }, { driveRoot: path.join(root, "drive-evil") });
    expect(clean.provenance.findings).toEqual([]);
  });
});

describe("bad input: one clear line each", () => {
  const drive = () => path.join(root, "drive-bad");

  test("unknown revision", async () => {
    const err = await errorOf(resolveGitModel({ repo: repo.dir, rev: "no-such-branch", path: "net.ts" }, { driveRoot: drive() }));
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toBe(
      `revision "no-such-branch" not found in ${repo.dir} (branches: main; tags: v1) (fix: set model.git.rev to a commit sha, tag or branch of that repository)`,
    );
  });

  test("unknown commit sha", async () => {
    const err = await errorOf(resolveGitModel({ repo: repo.dir, rev: "0".repeat(40), path: "net.ts" }, { driveRoot: drive() }));
    expect(err.message).toMatch(/^revision "0{40}" not found in /);
  });

  test("unknown repository: missing folder, folder without git, unreachable URL", async () => {
    const drive = () => path.join(root, "drive-unknown-repo");
    const missing = await errorOf(resolveGitModel({ repo: "./no-such-repo", rev: "main", path: "net.ts" }, { driveRoot: drive(), cwd: root }));
    expect(missing).toBeInstanceOf(TscolabError);
    expect(missing.message).toBe(
      `git repository ${path.join(root, "no-such-repo")} cannot be cloned: no such folder (fix: check model.git.repo: a URL git can reach, or the path of a local repository (relative paths start at the notebook folder))`,
    );
    const plain = path.join(root, "plain-folder");
    fs.mkdirSync(plain, { recursive: true });
    const notRepo = await errorOf(resolveGitModel({ repo: plain, rev: "main", path: "net.ts" }, { driveRoot: drive() }));
    expect(notRepo.message).toMatch(/cannot be cloned: the folder is not a git repository/);
    const url = await errorOf(resolveGitModel({ repo: "http://127.0.0.1:9/models.git", rev: "main", path: "net.ts" }, { driveRoot: drive() }));
    expect(url.message).toMatch(/^git repository http:\/\/127\.0\.0\.1:9\/models\.git cannot be cloned: .*(connect|refused)/i);
    expect([missing, notRepo, url].every((e) => e.message.split("\n").length === 1)).toBe(true);
    // Nothing half-cloned is left to be mistaken for a cache later.
    for (const key of fs.existsSync(gitCacheRoot(drive())) ? fs.readdirSync(gitCacheRoot(drive())) : []) {
      expect(fs.readdirSync(path.join(gitCacheRoot(drive()), key))).toEqual([]);
    }
  });

  test("missing file, a folder, and paths leaving the repository", async () => {
    const missing = await errorOf(resolveGitModel({ repo: repo.dir, rev: "v1", path: "nets/missing.ts" }, { driveRoot: drive() }));
    expect(missing.message).toBe(
      `model file "nets/missing.ts" not found in ${repo.dir} at v1 (${v1.slice(0, 12)}); code files there: net.ts (fix: set model.git.path to a .ts or .js file of that commit)`,
    );
    const sub = await makeRepo(path.join(root, "with-dir"));
    await sub.commit({ "nets/a.ts": "export {}\n" }, "dir");
    const dir = await errorOf(resolveGitModel({ repo: sub.dir, rev: "main", path: "nets" }, { driveRoot: drive() }));
    expect(dir.message).toMatch(/^model file "nets" is a folder, not a file in .* code files there: nets\/a\.ts/);
    await expect(resolveGitModel({ repo: repo.dir, rev: "main", path: "../outside.ts" }, { driveRoot: drive() })).rejects.toThrow(UsageError);
    await expect(resolveGitModel({ repo: repo.dir, rev: "main", path: "/etc/passwd" }, { driveRoot: drive() })).rejects.toThrow(/must be a file inside the repository/);
  });

  test("a revision that looks like an option is refused before git sees it", async () => {
    const err = await errorOf(resolveGitModel({ repo: repo.dir, rev: "--upload-pack=touch /tmp/pwned", path: "net.ts" }, { driveRoot: drive() }));
    expect(err).toBeInstanceOf(UsageError);
  });
});

test("interrupting a clone that hangs stops git at once and leaves nothing half-cloned", async () => {
  // A server that accepts the connection and never answers: git would wait forever.
  const sockets: import("node:net").Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.resume(); // read what git sends, so its going away is seen
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as import("node:net").AddressInfo).port;
  const drive = path.join(root, "drive-interrupt");
  const controller = new AbortController();
  const started = Date.now();
  const pending = resolveGitModel({ repo: `http://127.0.0.1:${port}/models.git`, rev: "main", path: "net.ts" }, { driveRoot: drive, signal: controller.signal });
  while (sockets.length === 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
  expect(sockets.length).toBeGreaterThan(0); // git is connected and waiting
  controller.abort();
  const err = await errorOf(pending);
  const elapsed = Date.now() - started;
  expect(err).toBeInstanceOf(TscolabError);
  expect(err.message).toMatch(/^interrupted while cloning http:\/\/127\.0\.0\.1:\d+\/models\.git/);
  expect(elapsed).toBeLessThan(10_000);
  const cacheDirs = fs.readdirSync(gitCacheRoot(drive));
  expect(cacheDirs).toHaveLength(1);
  expect(fs.readdirSync(path.join(gitCacheRoot(drive), cacheDirs[0]))).toEqual([]);
  // git and its remote helper (a grandchild) are gone: the connection closes, no process names the URL.
  const closed = await Promise.race([
    new Promise<boolean>((resolve) => (sockets[0].destroyed ? resolve(true) : sockets[0].on("close", () => resolve(true)))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
  ]);
  expect(closed).toBe(true);
  server.close();
  const url = `127.0.0.1:${port}/models.git`;
  const survivors = fs.existsSync("/proc")
    ? fs.readdirSync("/proc").filter(
        (pid) =>
          /^\d+$/.test(pid) &&
          (() => {
            try {
              return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(url);
            } catch {
              return false;
            }
          })(),
      )
    : [];
  expect(survivors).toEqual([]);
});

test("without git on the PATH the error says so", async () => {
  const saved = process.env.PATH;
  process.env.PATH = path.join(root, "empty-bin");
  try {
    const err = await errorOf(resolveGitModel({ repo: "https://example.invalid/m.git", rev: "main", path: "net.ts" }, { driveRoot: path.join(root, "drive-nogit") }));
    expect(err.message).toMatch(/cannot be cloned: git is not installed on this machine \(Debian: apt-get install git\)/);
    const viaLauncher = await errorOf(
      resolveGitModel({ repo: "https://example.invalid/m.git", rev: "main", path: "net.ts" }, { driveRoot: path.join(root, "drive-nogit"), signal: new AbortController().signal }),
    );
    expect(viaLauncher.message).toMatch(/cannot be cloned: git is not installed on this machine/);
  } finally {
    process.env.PATH = saved;
  }
});
