// The Drive store on real files: atomic commits under SIGKILL, corruption
// detection, rotation, stale temporaries, a really full (tmpfs) disk.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  appendMetrics,
  cleanStaleTemporaries,
  commitCheckpoint,
  createRun,
  DriveWriteError,
  listValidCheckpoints,
  loadLatestCheckpoint,
  RunMirror,
  describeMirror,
  loadModelArtifacts,
  loadModelFromFiles,
  modelToFiles,
  openRun,
  prepareResume,
  readCheckpoint,
  readMetrics,
  rethrowDiskError,
  saveModelArtifacts,
  sha256,
  updateRunJson,
} from "../engine/store";
import { TscolabError } from "../magics/types";

const ROOT = path.resolve(__dirname, "..");
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), `tscolab-store-${p}-`));
const steps = (runDir: string) =>
  fs
    .readdirSync(path.join(runDir, "checkpoints"))
    .filter((n) => n.startsWith("step-"))
    .sort();

function tinyModel() {
  return tf.sequential({
    layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: "relu" }), tf.layers.dropout({ rate: 0.2 }), tf.layers.dense({ units: 3, activation: "softmax" })],
  });
}

describe("run folders", () => {
  test("createRun lays out the run folder (run.json, metrics.jsonl, checkpoints, best, exports); ids sort by time and carry the name; openRun by id, folder and last", async () => {
    const drive = tmp("runs");
    const a = await createRun(drive, { runName: "Iris MLP #1", now: new Date("2026-01-02T03:04:05Z"), fields: { config: { epochs: 3 } } });
    const b = await createRun(drive, { runName: "Iris MLP #1", now: new Date("2026-01-02T03:04:05Z") });
    const c = await createRun(drive, { runName: "later", now: new Date("2026-01-02T03:04:06Z") });
    expect(a.runId).toBe("20260102-030405-iris-mlp-1");
    expect(b.runId).toBe("20260102-030405-iris-mlp-1-2");
    expect(a.runDir).toBe(path.join(drive, "tscolab", "runs", a.runId));
    for (const f of ["run.json", "metrics.jsonl", "checkpoints", "best", "exports"]) expect(fs.existsSync(path.join(a.runDir, f))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(a.runDir, "run.json"), "utf8"))).toMatchObject({ runId: a.runId, status: "running", config: { epochs: 3 } });
    expect((await openRun(drive, "last")).runId).toBe(c.runId);
    expect((await openRun(drive, a.runId)).runDir).toBe(a.runDir);
    expect((await openRun(drive, "/nonexistent-drive", { cwd: "/" }).catch((e) => e)).message).toMatch(/no run/);
    const byFolder = await openRun("/elsewhere", b.runDir);
    expect(byFolder.runId).toBe(b.runId);
    expect(byFolder.driveRoot).toBe(drive);
    const err = await openRun(drive, "nope").catch((e) => e);
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toMatch(/no run "nope" under .*newest: 20260102-030406-later/);
    const updated = await updateRunJson(a.runDir, { status: "completed", resumable: true });
    expect(updated).toMatchObject({ status: "completed", resumable: true, config: { epochs: 3 } });
    expect(fs.readdirSync(a.runDir).filter((n) => n.startsWith("."))).toEqual([]);
  });

  test("metrics.jsonl: torn last line skipped, rewound to a checkpoint's step on resume", async () => {
    const drive = tmp("metrics");
    const run = await createRun(drive, { runName: "m" });
    for (let e = 0; e < 4; e++) await appendMetrics(run.runDir, { epoch: e, step: (e + 1) * 10, loss: 1 / (e + 1) });
    fs.appendFileSync(path.join(run.runDir, "metrics.jsonl"), '{"epoch":4,"st'); // a SIGKILL mid-write
    expect((await readMetrics(run.runDir)).rows.map((r) => r.step)).toEqual([10, 20, 30, 40]);
    expect((await readMetrics(run.runDir)).skippedLines).toBe(1);
    await commitCheckpoint(run.runDir, { step: 20, epoch: 1, files: { "a.txt": "x" } });
    const point = await prepareResume(drive, "last");
    expect(point.checkpoint?.step).toBe(20);
    expect(point.notes.join("\n")).toMatch(/dropped 3 line/);
    expect(
      fs
        .readFileSync(path.join(run.runDir, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).step),
    ).toEqual([10, 20]);
  });
});

test("a run that another live process is training cannot be resumed; once that process is gone (or done) it can", async () => {
  const drive = tmp("writer");
  const run = await createRun(drive, { runName: "w" });
  expect(run.runJson.writer).toMatchObject({ pid: process.pid, host: os.hostname() });
  const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  await new Promise((r) => other.once("spawn", r));
  await updateRunJson(run.runDir, { status: "running", writer: { pid: other.pid, host: os.hostname(), since: "2026-01-01T00:00:00.000Z" } });
  const err = await prepareResume(drive, run.runId).catch((e) => e);
  expect(err).toBeInstanceOf(TscolabError);
  expect(err.message).toBe(
    `run ${run.runId} is being trained right now by process ${other.pid} (since 2026-01-01T00:00:00.000Z) (fix: wait for it to finish, or interrupt it (Ctrl-C / the stop button) and then --resume ${run.runId})`,
  );
  // Finished runs and other machines' writers do not block.
  await updateRunJson(run.runDir, { status: "completed" });
  await expect(prepareResume(drive, run.runId)).resolves.toBeTruthy();
  await updateRunJson(run.runDir, { status: "running", writer: { pid: other.pid, host: "another-runtime", since: "x" } });
  await expect(prepareResume(drive, run.runId)).resolves.toBeTruthy();
  await updateRunJson(run.runDir, { status: "running", writer: { pid: other.pid, host: os.hostname(), since: "x" } });
  other.kill("SIGKILL");
  await new Promise((r) => other.once("exit", r));
  const point = await prepareResume(drive, run.runId);
  expect(point.run.runJson).toMatchObject({ status: "running", writer: { pid: process.pid } });
});

describe("checkpoints", () => {
  test("commit writes MANIFEST.json with step, epoch, sha256 and size of every file; readCheckpoint returns the bytes", async () => {
    const run = await createRun(tmp("commit"), { runName: "c" });
    const weights = randomBytes(5000);
    const c = await commitCheckpoint(run.runDir, { step: 123, epoch: 2, files: { "weights.bin": weights, "state/opt.json": '{"t":3}' }, meta: { note: "x" } });
    expect(path.basename(c.dir)).toBe("step-000000123");
    const manifest = JSON.parse(fs.readFileSync(path.join(c.dir, "MANIFEST.json"), "utf8"));
    expect(manifest).toMatchObject({ step: 123, epoch: 2, meta: { note: "x" } });
    expect(manifest.files).toContainEqual({ name: "weights.bin", size: 5000, sha256: sha256(weights) });
    expect(manifest.files).toContainEqual({ name: "state/opt.json", size: 7, sha256: sha256(Buffer.from('{"t":3}')) });
    const back = await readCheckpoint(c.dir);
    expect(back.files["weights.bin"]!.equals(weights)).toBe(true);
    expect(back.files["state/opt.json"]!.toString()).toBe('{"t":3}');
    expect(fs.readdirSync(path.join(run.runDir, "checkpoints"))).toEqual(["step-000000123"]);
  });

  test("a flipped byte is reported with file and sha256 mismatch, and the previous valid checkpoint is used", async () => {
    const drive = tmp("flip");
    const run = await createRun(drive, { runName: "flip" });
    for (const step of [10, 20, 30])
      await commitCheckpoint(run.runDir, { step, epoch: step / 10, files: { "weights.bin": randomBytes(1000), "state.json": JSON.stringify({ step }) } });
    const victim = path.join(run.runDir, "checkpoints", "step-000000030", "weights.bin");
    const bytes = fs.readFileSync(victim);
    const before = sha256(bytes);
    bytes[500] ^= 0x01;
    fs.writeFileSync(victim, bytes);
    const { valid, corrupt } = await listValidCheckpoints(run.runDir);
    expect(valid.map((v) => v.step)).toEqual([20, 10]);
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]!.message).toContain("step-000000030 is corrupt: weights.bin: sha256 mismatch");
    expect(corrupt[0]!.message).toContain(`expected sha256 ${before}, found ${sha256(bytes)}`);
    const point = await prepareResume(drive, run.runId);
    expect(point.checkpoint!.step).toBe(20);
    expect(JSON.parse(point.checkpoint!.files["state.json"]!.toString())).toEqual({ step: 20 });
    expect(point.notes[0]).toMatch(/^skipping step-000000030 is corrupt: weights\.bin/);
    await expect(readCheckpoint(path.join(run.runDir, "checkpoints", "step-000000030"))).rejects.toThrow(/weights\.bin: sha256 mismatch/);
  });

  test("missing manifest, extra file, or manifest/folder step disagreement: the checkpoint does not exist", async () => {
    const run = await createRun(tmp("missing"), { runName: "m" });
    for (const step of [1, 2, 3, 4]) await commitCheckpoint(run.runDir, { step, epoch: 0, files: { "w.bin": randomBytes(10) }, keepLast: 0 });
    const ck = (s: number) => path.join(run.runDir, "checkpoints", `step-00000000${s}`);
    fs.rmSync(path.join(ck(4), "MANIFEST.json"));
    fs.writeFileSync(path.join(ck(3), "stray.bin"), "x");
    fs.renameSync(ck(2), path.join(run.runDir, "checkpoints", "step-000000009"));
    const { valid, corrupt } = await listValidCheckpoints(run.runDir);
    expect(valid.map((v) => v.step)).toEqual([1]);
    expect(corrupt.map((c) => c.message)).toEqual([
      "step-000000009 is corrupt: MANIFEST.json: says step 2, folder says 9",
      "step-000000004 is corrupt: MANIFEST.json: missing",
      "step-000000003 is corrupt: stray.bin: not listed in MANIFEST.json",
    ]);
  });

  test("order comes from step numbers, not file times; rotation keeps the newest K plus the best", async () => {
    const run = await createRun(tmp("rotate"), { runName: "r" });
    const removed: string[] = [];
    for (const step of [5, 10, 15, 20, 25, 30]) {
      const c = await commitCheckpoint(run.runDir, {
        step,
        epoch: step / 5,
        files: { "w.bin": String(step) },
        keepLast: 2,
        isBest: step === 10,
        meta: { val_loss: step === 10 ? 0.1 : 1 },
      });
      removed.push(...c.removed);
    }
    expect(steps(run.runDir)).toEqual(["step-000000010", "step-000000025", "step-000000030"]);
    expect(removed).toEqual(["step-000000005", "step-000000015", "step-000000020"]);
    const best = await readCheckpoint(path.join(run.runDir, "best"));
    expect(best).toMatchObject({ step: 10, meta: { best: true, val_loss: 0.1 } });
    // Make the oldest folder the most recently modified: order must not change.
    const future = new Date(Date.now() + 3600_000);
    fs.utimesSync(path.join(run.runDir, "checkpoints", "step-000000010"), future, future);
    expect((await listValidCheckpoints(run.runDir)).valid.map((v) => v.step)).toEqual([30, 25, 10]);
  });

  test("committing a step below existing ones (resume after a corrupt newest) replaces the abandoned future", async () => {
    const run = await createRun(tmp("future"), { runName: "f" });
    for (const step of [10, 20, 30]) await commitCheckpoint(run.runDir, { step, epoch: 0, files: { "w.bin": `a${step}` } });
    fs.writeFileSync(path.join(run.runDir, "checkpoints", "step-000000030", "w.bin"), "garbage");
    const c = await commitCheckpoint(run.runDir, { step: 25, epoch: 0, files: { "w.bin": "b25" } });
    expect(c.removed).toEqual(["step-000000030"]);
    await commitCheckpoint(run.runDir, { step: 30, epoch: 0, files: { "w.bin": "b30" } });
    expect(steps(run.runDir)).toEqual(["step-000000020", "step-000000025", "step-000000030"]);
    expect((await loadLatestCheckpoint(run.runDir)).checkpoint!.files["w.bin"]!.toString()).toBe("b30");
  });

  test("stale temporaries of dead writers are cleaned at start; a complete one caught between renames is put back", async () => {
    const run = await createRun(tmp("stale"), { runName: "s" });
    await commitCheckpoint(run.runDir, { step: 7, epoch: 0, files: { "w.bin": "seven" } });
    const ck = path.join(run.runDir, "checkpoints");
    const dead = 2 ** 22 + 12345; // above pid_max defaults: no such process
    // A half-written temporary (no manifest) of a dead writer.
    fs.mkdirSync(path.join(ck, `.tmp-step-000000008-${dead}-abc123`));
    fs.writeFileSync(path.join(ck, `.tmp-step-000000008-${dead}-abc123`, "w.bin"), "half");
    // A complete checkpoint moved aside, its replacement never renamed in (kill between the renames).
    fs.renameSync(path.join(ck, "step-000000007"), path.join(ck, `.old-step-000000007-${dead}-def456`));
    // A live writer's temporary (our own pid) is left alone.
    fs.mkdirSync(path.join(ck, `.tmp-step-000000009-${process.pid}-live01`));
    const r = await cleanStaleTemporaries(run.runDir);
    expect(r.removed).toEqual([path.join("checkpoints", `.tmp-step-000000008-${dead}-abc123`)]);
    expect(r.restored).toEqual([path.join("checkpoints", "step-000000007")]);
    expect(fs.readdirSync(ck).sort()).toEqual([`.tmp-step-000000009-${process.pid}-live01`, "step-000000007"]);
    expect((await loadLatestCheckpoint(run.runDir)).checkpoint!.files["w.bin"]!.toString()).toBe("seven");
  });

  test("SIGKILL at random moments never leaves an invalid step folder, and the newest valid one survives", async () => {
    const dist = path.join(ROOT, "dist", "engine", "store", "index.js");
    expect(fs.existsSync(dist), "run `npx tsc -p .` first (npm test does it in pretest)").toBe(true);
    const drive = tmp("kill");
    const run = await createRun(drive, { runName: "k" });
    const script = path.join(drive, "writer.js");
    fs.writeFileSync(
      script,
      `const s = require(${JSON.stringify(dist)}); const crypto = require("node:crypto");
       process.stdout.write("ready\\n");
       (async () => { for (let step = Number(process.argv[2]); ; step++) {
         const w = crypto.createHash("sha256").update(String(step)).digest();
         await s.commitCheckpoint(process.argv[3], { step, epoch: 0, files: { "weights.bin": Buffer.concat(Array(20000).fill(w)), "state.json": JSON.stringify({ step }) }, keepLast: 2 });
         process.stdout.write(step + "\\n"); } })();`,
    );
    let next = 0;
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [script, String(next), run.runDir], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      // Kill at a random moment once the writer is running (its start-up time varies with machine load).
      await new Promise<void>((r) => child.stdout.once("data", () => r()));
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      const confirmed = out
        .trim()
        .split("\n")
        .filter((l) => /^\d+$/.test(l))
        .map(Number);
      await cleanStaleTemporaries(run.runDir);
      const { valid, corrupt } = await listValidCheckpoints(run.runDir);
      expect(corrupt).toEqual([]);
      // Every commit the writer reported as done is there (or rotated out by a newer one); -1: none.
      expect(valid[0]?.step ?? -1).toBeGreaterThanOrEqual(confirmed.at(-1) ?? -1);
      // The loader picks that newest valid checkpoint (none when killed before the first commit), and its files agree with it.
      const latest = (await loadLatestCheckpoint(run.runDir)).checkpoint;
      expect(latest?.step).toBe(valid[0]?.step);
      expect(latest && JSON.parse(latest.files["state.json"]!.toString()).step).toBe(latest && latest.step);
      expect(fs.readdirSync(path.join(run.runDir, "checkpoints")).filter((n) => n.startsWith("."))).toEqual([]);
      next = latest ? latest.step + 1 : 0;
    }
    expect(next).toBeGreaterThan(3);
  }, 60_000);
});

test("EIO and EROFS get their own clear lines (a disk or mount problem, not a full disk)", () => {
  const eio = Object.assign(new Error("i/o error"), { code: "EIO" });
  expect(() => rethrowDiskError(eio, "writing checkpoint step-000000001", "/d/checkpoints", "committed checkpoints are intact", "run-1")).toThrow(
    "Drive write failed: writing checkpoint step-000000001 failed at /d/checkpoints (EIO: disk or network filesystem error); committed checkpoints are intact (fix: check the disk or remount the Drive, or move the run folder and pass --drive elsewhere; then continue with --resume run-1)",
  );
  const rofs = Object.assign(new Error("ro"), { code: "EROFS" });
  expect(() => rethrowDiskError(rofs, "updating run.json", "/d/run.json")).toThrow(/^Drive is read-only: updating run\.json failed at \/d\/run\.json \(EROFS\)/);
  const other = Object.assign(new Error("nope"), { code: "EACCES" });
  expect(() => rethrowDiskError(other, "x", "y")).toThrow(other);
});

describe("model files", () => {
  test("saveModelArtifacts / loadModelArtifacts and checkpoint round trips keep weights bit-identical", async () => {
    const dir = tmp("model");
    const model = tinyModel();
    const saved = await saveModelArtifacts(path.join(dir, "m"), model);
    expect(saved.files.map((f) => path.basename(f))).toEqual(["model.json", "weights.bin"]);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "m", "model.json"), "utf8"));
    expect(json.weightsManifest[0].paths).toEqual(["./weights.bin"]);
    const back = await loadModelArtifacts(path.join(dir, "m"), tf);
    const bits = (m: tf.LayersModel) => m.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer).toString("hex"));
    expect(bits(back)).toEqual(bits(model));
    const run = await createRun(dir, { runName: "mf" });
    await commitCheckpoint(run.runDir, { step: 1, epoch: 0, files: await modelToFiles(model) });
    const fromCk = await loadModelFromFiles((await loadLatestCheckpoint(run.runDir)).checkpoint!.files, tf);
    expect(bits(fromCk)).toEqual(bits(model));
    const x = tf.randomNormal([5, 4], 0, 1, "float32", 3);
    expect(Array.from((fromCk.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    await expect(loadModelArtifacts(dir, tf)).rejects.toThrow(/no model\.json/);
  });
});

// A real, tiny, full disk: tmpfs of 2 MiB (needs root; skipped loudly otherwise).
const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-tmpfs-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint], { stdio: "pipe" });
  mounted = true;
} catch (err) {
  console.warn(`\n!!! SKIPPING the full-disk tests: cannot mount a tmpfs at ${mountPoint} (${String((err as Error).message).split("\n")[0]}); run the tests as root\n`);
}
afterAll(() => {
  if (mounted) execFileSync("umount", [mountPoint]);
});

describe.skipIf(!mounted)("full disk (tmpfs)", () => {
  test("ENOSPC gives one clear DriveWriteError, committed checkpoints stay valid, and after more room commits go on", async () => {
    const run = await createRun(mountPoint, { runName: "full" });
    const committed: number[] = [];
    let error: unknown;
    for (let step = 1; step < 40; step++) {
      try {
        await commitCheckpoint(run.runDir, { step, epoch: 0, files: { "weights.bin": randomBytes(300_000), "state.json": "{}" }, keepLast: 0 });
        committed.push(step);
      } catch (err) {
        error = err;
        break;
      }
    }
    expect(error).toBeInstanceOf(DriveWriteError);
    const msg = (error as Error).message;
    expect(msg.split("\n")).toHaveLength(1);
    expect(msg).toMatch(
      /^Drive is full: writing checkpoint step-\d{9} failed at .*checkpoints \(ENOSPC\); committed checkpoints are intact \(newest: step-\d{9}\) \(fix: free space on the Drive, .* or move the run folder and pass --drive elsewhere; then continue with --resume 20\d{6}-\d{6}-full\)$/,
    );
    expect(committed.length).toBeGreaterThan(2);
    const { valid, corrupt } = await listValidCheckpoints(run.runDir);
    expect(corrupt).toEqual([]);
    expect(valid.map((v) => v.step)).toEqual([...committed].reverse());
    expect(fs.readdirSync(path.join(run.runDir, "checkpoints")).filter((n) => n.startsWith("."))).toEqual([]);
    // metrics and run.json fail just as clearly while the disk is full
    fs.writeFileSync(path.join(mountPoint, "filler"), Buffer.alloc(0));
    try {
      for (;;) fs.appendFileSync(path.join(mountPoint, "filler"), Buffer.alloc(4096));
    } catch {
      /* now truly full */
    }
    await expect(updateRunJson(run.runDir, { status: "x" })).rejects.toThrow(/^Drive is full: updating run\.json .*the previous run\.json and committed checkpoints are intact/);
    expect(JSON.parse(fs.readFileSync(path.join(run.runDir, "run.json"), "utf8")).status).toBe("running");
    fs.rmSync(path.join(mountPoint, "filler"));
    execFileSync("mount", ["-o", "remount,size=16m", mountPoint]);
    const next = committed[committed.length - 1]! + 1;
    await commitCheckpoint(run.runDir, { step: next, epoch: 0, files: { "weights.bin": randomBytes(300_000) }, keepLast: 2 });
    expect((await listValidCheckpoints(run.runDir)).valid.map((v) => v.step)).toEqual([next, next - 1]);
  });

  test("local-first mirror: a full Drive leaves the run's files local and says so; once there is room they are copied and verified", async () => {
    const local = await createRun(tmp("mirror-local"), { runName: "local" });
    const driveRoot = path.join(mountPoint, "mirror-drive");
    const driveDir = path.join(driveRoot, "tscolab", "runs", local.runId);
    const c1 = await commitCheckpoint(local.runDir, { step: 10, epoch: 1, files: { "weights.bin": randomBytes(200_000), "state.json": "{}" }, isBest: true, durable: false });
    const changes: string[] = [];
    const mirror = new RunMirror({ runId: local.runId, driveRoot, localDir: local.runDir, driveDir, keepLast: 2, onChange: (s) => changes.push(s.state), maxRetryMs: 100 });
    try {
      const first = await mirror.flush(20_000);
      expect(first).toMatchObject({ state: "ok", onlyLocal: [], waiting: 0 });
      expect((await readCheckpoint(path.join(driveDir, "checkpoints", "step-000000010"))).files["weights.bin"]!.equals((await readCheckpoint(c1.dir)).files["weights.bin"]!)).toBe(
        true,
      );
      expect((await readCheckpoint(path.join(driveDir, "best"))).step).toBe(10);

      // The Drive fills up: the next commits stay local, rotated there; the mirror says why and what waits.
      const filler = path.join(mountPoint, "mirror-filler");
      const fd = fs.openSync(filler, "w");
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(4096));
      } catch {
        /* full */
      } finally {
        fs.closeSync(fd);
      }
      for (const step of [20, 30, 40]) {
        await commitCheckpoint(local.runDir, { step, epoch: step / 10, files: { "weights.bin": randomBytes(200_000) }, keepLast: 2, durable: false });
        await appendMetrics(local.runDir, { epoch: step / 10, step, loss: 1 });
        mirror.notify();
      }
      const stuck = await mirror.flush(600);
      expect(stuck).toMatchObject({ state: "unavailable", waiting: 2, onlyLocal: ["step-000000040", "step-000000030", "metrics.jsonl"] });
      expect(stuck.reason).toBe("ENOSPC: the Drive is full");
      expect(describeMirror(stuck)).toMatch(
        /^still only local \(the Drive is unavailable since \d\d:\d\d:\d\d: ENOSPC: the Drive is full\): step-000000040, step-000000030, metrics\.jsonl in /,
      );

      // Room again: everything is copied, verified, and the Drive rotated like the local folder.
      fs.rmSync(filler);
      const done = await mirror.flush(20_000);
      expect(done).toMatchObject({ state: "ok", onlyLocal: [], waiting: 0 });
      expect(done.outages).toHaveLength(1);
      expect(changes).toEqual(["unavailable", "ok"]);
      expect(describeMirror(done)).toMatch(
        /^the Drive copy is complete and verified \(.*\); the Drive was unavailable \d\d:\d\d:\d\d-\d\d:\d\d:\d\d \(ENOSPC: the Drive is full\)$/,
      );
      const { valid, corrupt } = await listValidCheckpoints(driveDir);
      expect(corrupt).toEqual([]);
      // keepLast 2, plus step 10 that best/ came from.
      expect(valid.map((v) => v.step)).toEqual([40, 30, 10]);
      expect(fs.readFileSync(path.join(driveDir, "metrics.jsonl"), "utf8")).toBe(fs.readFileSync(path.join(local.runDir, "metrics.jsonl"), "utf8"));
      expect(fs.readdirSync(path.join(driveDir, "checkpoints")).filter((n) => n.startsWith("."))).toEqual([]);
    } finally {
      mirror.close();
    }
  });
});
