// Resuming, with real processes and signals: a CLI training run
// (dropout, shuffling, Adam, cosine schedule, mid-epoch checkpoints) SIGKILLed
// at random moments and resumed ends bit-identical to the same run never
// interrupted; so does one whose newest checkpoint had a byte flipped, and one
// whose Drive (a real tmpfs) filled up and then got more room. The kills run
// local-first (the default: the resume finds this machine's local copy); the
// flipped byte and the full Drive are Drive-level guarantees, tested with
// `--checkpoint-local false` (a local-first run keeps training on a full
// Drive: tests/drive_mirror.test.ts).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanStaleTemporaries, listValidCheckpoints, loadLatestCheckpoint, localDriveRoot, readMetrics, sha256 } from "../engine/store";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "tscolab.js");
// A fixed backend: bit-identity is promised for the same seed on the same backend.
// TSCOLAB_RESUME_BACKEND=wasm runs the same tests on the wasm backend (with tscolab's fused kernels, engine/backend/kernels).
const LOCAL = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-resume-local-"));
const ENV = { ...process.env, TSCOLAB_BACKEND: process.env.TSCOLAB_RESUME_BACKEND ?? "cpu", TSCOLAB_LOCAL: LOCAL };
// Printed so that a failing run can be replayed with the same kill moments.
const SEED = Number(process.env.TSCOLAB_RESUME_SEED ?? Date.now() % 100000);
let rngState = SEED;
const random = () => (rngState = (Math.imul(rngState, 1103515245) + 12345) >>> 0) / 2 ** 32;

const CONFIG = {
  runName: "resume-acceptance",
  seed: 11,
  task: "classification",
  model: { zoo: "mlp", hidden: [32, 16], dropout: 0.25 },
  data: { train: { builtin: "iris" }, validationSplit: 0.2 },
  epochs: 24,
  batchSize: 8,
  optimizer: "adam",
  learningRate: 0.01,
  schedule: { type: "cosine", warmupEpochs: 1 },
  // Stops at epoch 18 of 24 (best at 16): the patience counter must survive kills too.
  earlyStopping: { monitor: "val_loss", patience: 3, minDelta: 0.002 },
  tier: "all",
  checkpoint: { everyEpochs: 1, everySteps: 4, keepLast: 3, keepBest: true },
};

interface Proc {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
}

function train(cwd: string, args: string[]): Proc {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, "train", ...args], { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<Awaited<Proc["done"]>>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 })));
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onlyRun(drive: string): string {
  const runs = path.join(drive, "tscolab", "runs");
  const ids = fs.existsSync(runs) ? fs.readdirSync(runs).filter((n) => !n.startsWith(".")) : [];
  expect(ids, `exactly one run under ${runs}`).toHaveLength(1);
  return path.join(runs, ids[0]!);
}

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What must be bit-identical at the end: final weights, optimizer state, best model, metric values. */
async function fingerprint(runDir: string) {
  const { checkpoint } = await loadLatestCheckpoint(runDir);
  expect(checkpoint, `a valid final checkpoint in ${runDir}`).not.toBeNull();
  const best = fs.existsSync(path.join(runDir, "best", "weights.bin")) ? sha256(fs.readFileSync(path.join(runDir, "best", "weights.bin"))) : null;
  const { rows } = await readMetrics(runDir);
  return {
    step: checkpoint!.step,
    epoch: checkpoint!.epoch,
    weights: sha256(checkpoint!.files["weights.bin"]!),
    optimizer: checkpoint!.files["optimizer.bin"] ? sha256(checkpoint!.files["optimizer.bin"]!) : null,
    best,
    // Timing columns differ run to run; every learned number must not.
    metrics: rows.map(({ samplesPerSec: _s, wallMs: _w, ...rest }) => rest),
  };
}

/**
 * The newest checkpoint step in the Drive's run folders, or in this machine's
 * local copies of them, or (the default) in either: a local-first run's
 * local copy is ahead of the Drive by what the mirror has not copied yet.
 */
const newestStepOnDisk = (drive: string, where: "drive" | "local" | "either" = "either"): number => {
  if (where === "either") return Math.max(newestStepOnDisk(drive, "drive"), newestStepOnDisk(drive, "local"));
  const runs = path.join(where === "drive" ? drive : localDriveRoot(LOCAL, drive), "tscolab", "runs");
  let newest = -1;
  for (const id of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const ck = path.join(runs, id, "checkpoints");
    for (const n of fs.existsSync(ck) ? fs.readdirSync(ck) : []) if (/^step-\d+$/.test(n)) newest = Math.max(newest, Number(n.slice(5)));
  }
  return newest;
};

/** The newest valid checkpoint of the Drive's run folder and of its local copy. */
async function newestValidStep(drive: string): Promise<number> {
  let newest = -1;
  for (const base of [drive, localDriveRoot(LOCAL, drive)]) {
    const runs = path.join(base, "tscolab", "runs");
    for (const id of fs.existsSync(runs) ? fs.readdirSync(runs).filter((n) => !n.startsWith(".")) : [])
      newest = Math.max(newest, (await listValidCheckpoints(path.join(runs, id))).valid[0]?.step ?? -1);
  }
  return newest;
}

/**
 * SIGKILLs `proc` at a random moment: once its checkpoints reach a random step
 * in [from, to], plus a random 0-60 ms so the kill lands anywhere in a step,
 * a commit or a metrics write. Progress-based rather than time-based, because
 * the machine is shared and wall times swing by 3x.
 */
async function killAtRandom(proc: Proc, drive: string, from: number, to: number, label: string): Promise<{ target: number; extraMs: number }> {
  const target = from + Math.floor(random() * Math.max(1, to - from));
  const extraMs = Math.round(random() * 60);
  let exited = false;
  void proc.done.then(() => (exited = true));
  await waitFor(() => exited || newestStepOnDisk(drive) >= target, `${label}: a checkpoint at step ${target}`, 200_000);
  await sleep(extraMs);
  proc.child.kill("SIGKILL");
  const r = await proc.done;
  expect(r.signal, `${label}: still running when killed (target step ${target}); stderr: ${r.stderr.slice(-2000)}`).toBe("SIGKILL");
  return { target, extraMs };
}

let base: Awaited<ReturnType<typeof fingerprint>>;
let work: string;

beforeAll(async () => {
  expect(fs.existsSync(path.join(ROOT, "dist", "cli", "main.js")), "run `npx tsc -p .` first (npm test does it in pretest)").toBe(true);
  console.log(`resume acceptance: kill-moment seed ${SEED} (replay with TSCOLAB_RESUME_SEED=${SEED})`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-resume-"));
  fs.writeFileSync(path.join(work, "config.json"), JSON.stringify(CONFIG, null, 2));
  const r = await train(work, ["--config", "config.json", "--drive", "drive-base", "--json"]).done;
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout);
  expect(summary.status).toBe("completed");
  base = await fingerprint(onlyRun(path.join(work, "drive-base")));
  // iris: 150 rows, 20% held out → 120 / batch 8 = 15 steps per epoch; early stopping ends it before CONFIG.epochs.
  expect(summary.stoppedEarly).toBe(true);
  expect(base.step).toBe(base.epoch * 15);
  expect(base.epoch).toBeLessThan(CONFIG.epochs);
  console.log(`uninterrupted run: ${Math.round(r.ms)} ms wall, final step ${base.step}, weights sha256 ${base.weights}`);
}, 240_000);

describe("resume after SIGKILL", () => {
  test("killed twice at random moments, resumed with --resume last: bit-identical end", async () => {
    const drive = path.join(work, "drive-kill");
    const k1 = await killAtRandom(train(work, ["--config", "config.json", "--drive", drive, "--json"]), drive, 4, base.step / 2, "first run");
    const after1 = await newestValidStep(drive);
    const k2 = await killAtRandom(train(work, ["--resume", "last", "--drive", drive, "--json"]), drive, after1 + 4, base.step - 40, "first resume");
    const after2 = await newestValidStep(drive);
    const runDir = onlyRun(drive);
    console.log(
      `killed at step >= ${k1.target} +${k1.extraMs} ms (newest valid checkpoint ${after1}), then at >= ${k2.target} +${k2.extraMs} ms into the resume (${after2}); ${base.step} steps in all`,
    );
    const r = await train(work, ["--resume", "last", "--drive", drive, "--json"]).done;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ status: "completed", runDir, tiers: { "1": { status: "skipped" }, "2": { status: "skipped" }, "3": { status: "passed" } } });
    expect(summary.resumedFrom).toMatch(/^step-\d{9}$/);
    expect(await fingerprint(runDir)).toEqual(base);
  }, 240_000);

  test("killed before its first checkpoint (during tiers 1-2): --resume starts the run over in the same folder, bit-identical", async () => {
    const drive = path.join(work, "drive-early-kill");
    const proc = train(work, ["--config", "config.json", "--drive", drive, "--json"]);
    // run.json (written atomically with the config, so --resume can find the run) comes before tiers 1-2.
    const runs = path.join(drive, "tscolab", "runs");
    await waitFor(() => fs.existsSync(runs) && fs.readdirSync(runs).some((id) => fs.existsSync(path.join(runs, id, "run.json"))), "the run's run.json", 200_000);
    // From run.json to tier 3's first checkpoint takes 200-400 ms here (tiers 1-2, cpu or wasm): a pause of at
    // most 80 ms lands inside them. Frozen before looking, so no checkpoint can appear in between.
    const pauseMs = Math.round(random() * 80);
    await sleep(pauseMs);
    proc.child.kill("SIGSTOP");
    const before = Math.max(newestStepOnDisk(drive), newestStepOnDisk(drive, "local"));
    proc.child.kill("SIGKILL");
    expect((await proc.done).signal).toBe("SIGKILL");
    expect(before, `a checkpoint (step ${before}) was already written ${pauseMs} ms after run.json appeared on the Drive`).toBe(-1);
    const runDir = onlyRun(drive);
    const r = await train(work, ["--resume", "last", "--drive", drive, "--json"]).done;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.resumedFrom).toBeNull();
    expect(summary.notes.join("\n")).toMatch(/no valid checkpoint in .*; starting it over from step 0/);
    expect(await fingerprint(runDir)).toEqual(base);
  }, 240_000);

  test("SIGINT (Ctrl-C) stops after the current step, checkpoints, marks the run resumable; --resume ends bit-identical", async () => {
    const drive = path.join(work, "drive-sigint");
    const proc = train(work, ["--config", "config.json", "--drive", drive, "--json"]);
    const target = 8 + Math.floor(random() * (base.step - 60));
    await waitFor(() => newestStepOnDisk(drive) >= target, `a checkpoint at step ${target}`, 200_000);
    await sleep(Math.round(random() * 60));
    proc.child.kill("SIGINT");
    const r = await proc.done;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr.slice(-2000)).toBe(130);
    const stopped = JSON.parse(r.stdout);
    expect(stopped.status).toBe("stopped");
    const runDir = onlyRun(drive);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, "run.json"), "utf8"))).toMatchObject({ status: "stopped", resumable: true });
    const { valid } = await listValidCheckpoints(runDir);
    expect(valid[0]!.step).toBeGreaterThanOrEqual(target);
    expect(valid[0]!.step).toBeLessThan(base.step);
    const resumed = await train(work, ["--resume", "last", "--drive", drive, "--json"]).done;
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(resumed.stdout).resumedFrom).toBe(valid[0]!.name);
    expect(await fingerprint(runDir)).toEqual(base);
  }, 240_000);

  test("a flipped byte in the newest checkpoint is reported (file, sha256) and the previous one is used: bit-identical end", async () => {
    const drive = path.join(work, "drive-flip");
    await killAtRandom(train(work, ["--config", "config.json", "--drive", drive, "--checkpoint-local", "false", "--json"]), drive, 8, base.step - 40, "run");
    const runDir = onlyRun(drive);
    // A kill between a commit's write and its rename leaves a complete temporary that start-up
    // cleanup puts in place; do that first so "newest" below is what the resume will see.
    await cleanStaleTemporaries(runDir);
    let { valid } = await listValidCheckpoints(runDir);
    if (valid.length < 2) {
      // Killed right after the first commit: let a resume write a second one, then kill it.
      await killAtRandom(train(work, ["--resume", runDir, "--json"]), drive, valid[0]!.step + 4, base.step - 20, "resume");
      await cleanStaleTemporaries(runDir);
      ({ valid } = await listValidCheckpoints(runDir));
    }
    expect(valid.length).toBeGreaterThanOrEqual(2);
    const newest = valid[0]!;
    const victim = path.join(newest.dir, "weights.bin");
    const bytes = fs.readFileSync(victim);
    bytes[Math.floor(random() * bytes.length)] ^= 0x10;
    fs.writeFileSync(victim, bytes);
    const r = await train(work, ["--resume", path.basename(runDir), "--drive", drive, "--json"]).done;
    expect(r.code, r.stderr).toBe(0);
    const notes = JSON.parse(r.stdout).notes.join("\n");
    expect(notes).toMatch(new RegExp(`${newest.name} is corrupt: weights\\.bin: sha256 mismatch: expected sha256 [0-9a-f]{64}, found ${sha256(bytes)}`));
    expect(notes).toContain(`resuming ${path.basename(runDir)} from ${valid[1]!.name}`);
    expect(await fingerprint(runDir)).toEqual(base);
  }, 240_000);
});

// A real, full Drive: a tmpfs filled up under the running trainer.
const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-resume-tmpfs-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint], { stdio: "pipe" });
  mounted = true;
} catch (err) {
  console.warn(`\n!!! SKIPPING the full-Drive resume test: cannot mount a tmpfs at ${mountPoint} (${String((err as Error).message).split("\n")[0]}); run the tests as root\n`);
}
afterAll(() => {
  if (mounted) execFileSync("umount", [mountPoint]);
});

describe.skipIf(!mounted)("resume after the Drive filled up", () => {
  test("ENOSPC mid-run: one clear line, non-zero exit, committed checkpoints valid; after a remount with more room --resume ends bit-identical", async () => {
    const drive = path.join(mountPoint, "drive");
    const proc = train(work, ["--config", "config.json", "--drive", drive, "--checkpoint-local", "false", "--json"]);
    const fillAt = 8 + Math.floor(random() * (base.step / 2));
    await waitFor(() => newestStepOnDisk(drive) >= fillAt, `a checkpoint at step ${fillAt} on the tmpfs`, 200_000);
    // Freeze the trainer while the Drive fills: on an idle machine it can finish
    // the remaining steps faster than the filler writes, and the race is not the point.
    proc.child.kill("SIGSTOP");
    // Fill the Drive from outside, as another writer (or a quota) would.
    const filler = path.join(mountPoint, "filler");
    const fd = fs.openSync(filler, "w");
    try {
      // Big chunks, then page-sized ones, so no room is left for even a small file.
      for (const chunk of [16 * 1024, 4096]) {
        try {
          for (;;) fs.writeSync(fd, Buffer.alloc(chunk));
        } catch (err) {
          expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    // The other writer keeps taking whatever is freed: the trainer may have been
    // frozen between a commit and its rotation, and the rotated-out checkpoint
    // would otherwise make room for exactly the next one, again and again.
    const hog = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("fs"); const fd = fs.openSync(${JSON.stringify(filler)}, "a"); const page = Buffer.alloc(4096); process.stdout.write("ready\\n"); for (;;) { try { fs.writeSync(fd, page); } catch (e) { if (e.code !== "ENOSPC") throw e; } }`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise((resolve) => hog.stdout!.once("data", resolve)); // the other writer is running before the trainer resumes
    proc.child.kill("SIGCONT");
    const r = await proc.done;
    hog.kill("SIGKILL");
    await new Promise((resolve) => hog.once("exit", resolve));
    expect(r.code, `the trainer must fail on the full Drive; stdout ${r.stdout.slice(0, 400)}`).not.toBe(0);
    const lines = r.stderr.split("\n").filter((l) => /Drive is full/.test(l));
    expect(lines, r.stderr).toHaveLength(1);
    const runId = path.basename(onlyRun(drive));
    expect(lines[0]).toMatch(/Drive is full: .*\(ENOSPC\); .*are intact.*fix: free space on the Drive, .* pass --drive elsewhere; then continue with --resume /);
    expect(lines[0]!.endsWith(`--resume ${runId})`)).toBe(true);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    console.log(`full Drive at step >= ${fillAt}: exit ${r.code}, stderr: ${lines[0]}`);
    const runDir = onlyRun(drive);
    const { valid, corrupt } = await listValidCheckpoints(runDir);
    expect(corrupt).toEqual([]);
    expect(valid.length).toBeGreaterThan(0);
    expect(valid[0]!.step).toBeGreaterThanOrEqual(fillAt);
    execFileSync("mount", ["-o", "remount,size=64m", mountPoint]);
    const resumed = await train(work, ["--resume", "last", "--drive", drive, "--json"]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await fingerprint(runDir)).toEqual(base);
  }, 240_000);
});
