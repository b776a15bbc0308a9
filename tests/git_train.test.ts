// Git models through the training engine: a model from a local git
// repository trains at the pinned revision even after the branch moved on,
// run.json records commit and sha256 plus the notebook's own repository
// state, a model that spawns a child process is refused before anything of
// it runs (no marker file, no run folder), trust runs it, and bad revisions
// fail in one line.
process.env.TSCOLAB_BACKEND = "wasm";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import "../magics";
import { invokeMagic } from "../magics/registry";
import { runsDir } from "../engine/store/drive_root";
import { train, type TrainResult } from "../engine/train/train";
import { TscolabError, type MagicContext } from "../magics/types";
import { makeRepo, modelSource, spawnsChild, tempDir, type TestRepo } from "./fixtures/git/repo";

const CLI = path.resolve(__dirname, "..", "bin", "tscolab.js");

/** `tscolab train ...` as its own process (needs the build: `npx tsc -p .`, which `npm test` runs first). */
function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "train", ...args], { cwd, env: { ...process.env, TSCOLAB_BACKEND: "wasm" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let work: string;
let notebookRepo: TestRepo;
let models: TestRepo;
let v1: string;
let notebookCommit: string;
let marker: string;

const quick = { data: { train: { builtin: "iris" } }, epochs: 1, batchSize: 32, tier: "3", seed: 7 } as const;
const runJson = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, "run.json"), "utf8"));
const hidden = (m: TrainResult["model"]): number => {
  if (!m) throw new Error("the run returned no model");
  return (m.layers[0].getConfig() as { units: number }).units;
};

beforeAll(async () => {
  work = tempDir("git-train");
  // The notebook's own folder is a git repository; its Drive lives inside it.
  notebookRepo = await makeRepo(path.join(work, "notebook"));
  notebookCommit = await notebookRepo.commit({ "train.ipynb": "{}\n" }, "notebook");
  models = await makeRepo(path.join(work, "models"));
  v1 = await models.commit({ "net.ts": modelSource(3) }, "v1");
  await models.commit({ "net.ts": modelSource(6) }, "v2: the branch moves on");
  marker = path.join(work, "spawned.marker");
  await models.commit({ "evil.ts": modelSource(2, spawnsChild(marker)) }, "a model that spawns a child process");
});

describe("train() with a git model", () => {
  test("the pinned older revision is what trains, and run.json carries commit, sha256 and the notebook's state", async () => {
    const cwd = notebookRepo.dir;
    const result = await train({ ...quick, model: { git: { repo: "../models", rev: v1, path: "net.ts" } } }, { cwd });
    expect(result.status).toBe("completed");
    expect(hidden(result.model)).toBe(3); // v1, not main's 6
    const prov = runJson(result.runDir).provenance;
    expect(prov.modelSource).toBe("git");
    expect(prov.git).toMatchObject({ repo: models.dir, requestedRev: v1, commit: v1, path: "net.ts", trusted: false, findings: [] });
    expect(prov.git.sha256).toBe(crypto.createHash("sha256").update(modelSource(3)).digest("hex"));
    // The Drive folder (./drive inside the notebook repository) does not count as a change.
    expect(prov.notebook).toEqual({ root: fs.realpathSync(cwd), commit: notebookCommit, branch: "main", dirty: false });
    expect(result.runDir.startsWith(path.join(cwd, "drive"))).toBe(true);

    // A dirty notebook folder is recorded with the hash of its diff.
    fs.writeFileSync(path.join(cwd, "train.ipynb"), '{"cells": []}\n');
    const again = await train({ ...quick, model: { git: { repo: models.dir, rev: "main", path: "net.ts" } } }, { cwd });
    expect(hidden(again.model)).toBe(6);
    const prov2 = runJson(again.runDir).provenance;
    expect(prov2.git.commit).not.toBe(v1);
    expect(prov2.notebook).toMatchObject({ commit: notebookCommit, dirty: true, changedFiles: 1 });
    expect(prov2.notebook.diffSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a model that spawns a child process is refused: no marker, no run folder", async () => {
    const drive = path.join(work, "drive-refused");
    const config = { ...quick, drive, model: { git: { repo: models.dir, rev: "main", path: "evil.ts" } } };
    await expect(train(config, { cwd: work })).rejects.toThrow(TscolabError);
    await expect(train(config, { cwd: work })).rejects.toThrow(/^refusing to run evil\.ts from .* evil\.ts:1: child process: require\("child_process"\) .*--trust/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(runsDir(drive)) ? fs.readdirSync(runsDir(drive)) : []).toEqual([]);
  });

  test('"trust": true runs it, and run.json says it was trusted and what the scan found', async () => {
    const drive = path.join(work, "drive-trusted");
    const result = await train({ ...quick, drive, model: { git: { repo: models.dir, rev: "main", path: "evil.ts" }, trust: true } }, { cwd: work });
    expect(result.status).toBe("completed");
    expect(fs.readFileSync(marker, "utf8")).toBe("spawned");
    const prov = runJson(result.runDir).provenance;
    expect(prov.git.trusted).toBe(true);
    expect(prov.git.findings.map((f: { pattern: string }) => f.pattern)).toEqual(['child process: require("child_process")']);
    expect(prov.notebook).toBeNull(); // `work` is no repository
    expect(result.notes.join("\n")).toMatch(/trusted evil\.ts despite 1 finding/);
  });

  test("an unknown revision is one clear line", async () => {
    const err = await train({ ...quick, drive: path.join(work, "drive-bad"), model: { git: { repo: models.dir, rev: "v9", path: "net.ts" } } }, { cwd: work }).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(TscolabError);
    expect((err as Error).message).toBe(
      `revision "v9" not found in ${models.dir} (branches: main; no tags) (fix: set model.git.rev to a commit sha, tag or branch of that repository)`,
    );
  });
});

test("a model split over several TypeScript files of the repository loads and trains (and the scan follows them)", async () => {
  const split = await makeRepo(path.join(work, "split-models"));
  await split.commit(
    {
      "src/net.ts":
        'import { block } from "./blocks";\nimport { WIDTH } from "./config.js";\nexport function createModel({ tf, inputShape, outputs }: any) {\n  const m = tf.sequential();\n  m.add(block(tf, WIDTH, inputShape));\n  m.add(tf.layers.dense({ units: outputs, activation: "softmax" }));\n  return m;\n}\n',
      "src/blocks/index.ts": 'export function block(tf: any, units: number, inputShape: number[]) {\n  return tf.layers.dense({ units, inputShape, activation: "relu" });\n}\n',
      "src/config.ts": "export const WIDTH: number = 9;\n",
    },
    "split model",
  );
  const result = await train({ ...quick, drive: path.join(work, "drive-split"), model: { git: { repo: split.dir, rev: "main", path: "src/net.ts" } } }, { cwd: work });
  expect(result.status).toBe("completed");
  expect(hidden(result.model)).toBe(9);
  expect(runJson(result.runDir).provenance.git.scanned).toEqual(["src/net.ts", "src/blocks/index.ts", "src/config.ts"]);
});

describe("tscolab train --model git+URL#REV:FILE", () => {
  test("refuses a child-process model with exit 1 and one line; --trust runs it; a bad rev is one line", async () => {
    const cliMarker = path.join(work, "cli.marker");
    const repo = await makeRepo(path.join(work, "cli-models"));
    await repo.commit({ "evil.ts": modelSource(2, spawnsChild(cliMarker)) }, "spawns");
    const drive = path.join(work, "drive-cli");
    const common = ["--data", "iris", "--epochs", "1", "--tier", "3", "--drive", drive, "--json"];

    const refused = await cli(["--model", "git+./cli-models#main:evil.ts", ...common], work);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(
      /^TscolabError: refusing to run evil\.ts from .*cli-models at main \([0-9a-f]{12}\): evil\.ts:1: child process: require\("child_process"\) .*--trust/,
    );
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(fs.existsSync(cliMarker)).toBe(false);

    const trusted = await cli(["--model", "git+./cli-models#main:evil.ts", "--trust", ...common], work);
    expect(trusted.code).toBe(0);
    expect(fs.readFileSync(cliMarker, "utf8")).toBe("spawned");
    const summary = JSON.parse(trusted.stdout);
    expect(summary.status).toBe("completed");
    expect(runJson(summary.runDir).provenance.git).toMatchObject({ path: "evil.ts", trusted: true });

    const badRev = await cli(["--model", "git+./cli-models#v404:evil.ts", ...common], work);
    expect(badRev.code).not.toBe(0);
    expect(badRev.stderr.trim()).toMatch(/^TscolabError: revision "v404" not found in .*cli-models \(branches: main; no tags\)/);
    expect(badRev.stderr.trim().split("\n")).toHaveLength(1);

    const badRef = await cli(["--model", "git+./cli-models#main", ...common], work);
    expect(badRef.code).toBe(2);
    expect(badRef.stderr.trim()).toMatch(/^UsageError: .*names no file after the revision; expected --model git\+URL#REV:FILE/);
  });
});

test("%train git+URL#REV:FILE in a notebook: the pinned revision trains; an unknown rev raises one line", async () => {
  const ctx: MagicContext = {
    cwd: notebookRepo.dir,
    signal: new AbortController().signal,
    variables: {},
    rich: true,
    stdout: () => undefined,
    stderr: () => undefined,
    display: () => ({ update: () => undefined }),
  };
  const drive = path.join(work, "drive-magic");
  const out = await invokeMagic("train", `git+../models#${v1.slice(0, 10)}:net.ts --data iris --epochs 1 --tier 3 --drive ${drive}`, ctx);
  const r = out.result as Awaited<ReturnType<typeof train>>;
  expect(r.status).toBe("completed");
  expect(r.config.model).toEqual({ git: { repo: "../models", rev: v1.slice(0, 10), path: "net.ts" } });
  expect(hidden(r.model)).toBe(3);
  expect(runJson(r.runDir).provenance.git).toMatchObject({ commit: v1, requestedRev: v1.slice(0, 10) });
  await expect(invokeMagic("train", `git+../models#nope:net.ts --data iris --drive ${drive}`, ctx)).rejects.toThrow(/^revision "nope" not found in /);
});
