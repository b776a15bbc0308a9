// A Drive that drops out, on a real FUSE mount that fails on demand
// (helpers/flaky_drive.ts): local-first runs commit locally and mirror to the
// Drive in the background, so a disconnected, hung or read-only Drive never
// stops or slows training; the Drive catches up when it is back, and a run
// whose machine was lost resumes from the Drive alone, bit-identical.
// The switches are flipped from the progress listener, at a fixed epoch or
// once the progress line shows what the last switch did (which may be only
// while the run waits for the Drive at its end), so what happens when does
// not depend on how fast the machine trains or copies.
process.env.TSCOLAB_BACKEND = "cpu";
// Short bounds so the suite stays fast: a Drive call hung for 2 s counts as hung.
process.env.TSCOLAB_DRIVE_TIMEOUT = "2";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { driveStatus, driveSync } from "../engine/store/drive";
import { renderDriveStatus } from "../magics/drive/magic";
import { listValidCheckpoints, localDriveRoot, readDigests } from "../engine/store";
import type { ProgressEvent } from "../engine/train/progress";
import { train } from "../engine/train/train";
import { driveLine } from "../magics/train/render";
import { mountFlakyDrive, requireFuse, type FlakyDrive } from "./helpers/flaky_drive";
import { ROOT } from "./helpers/jupyter";
import { fingerprint as trainedFingerprint } from "./helpers/queue";

const CLI = path.join(ROOT, "bin", "tscolab.js");
const CONFIG = {
  runName: "flaky",
  seed: 5,
  task: "classification" as const,
  model: { zoo: "mlp" as const, hidden: [32, 16], dropout: 0.25 },
  data: { train: { builtin: "iris" as const }, validationSplit: 0.2 },
  // 15 steps an epoch; 20 epochs; a checkpoint every 5 steps and at every epoch end.
  epochs: 20,
  batchSize: 8,
  optimizer: "adam" as const,
  learningRate: 0.01,
  schedule: { type: "cosine" as const, warmupEpochs: 1 },
  tier: "3" as const,
  checkpoint: { everyEpochs: 1, everySteps: 5, keepLast: 3, keepBest: true },
};
const FINAL_STEP = 300;

const canRun = requireFuse("the flaky-Drive tests (tests/drive_mirror.test.ts)");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-mirror-"));
const LOCAL = path.join(work, "local");
process.env.TSCOLAB_LOCAL = LOCAL;
let drive: FlakyDrive;
let base: Fingerprint;

type Fingerprint = Awaited<ReturnType<typeof fingerprint>>;

/** What must be bit-identical at the end: the shared fingerprint (weights, optimizer state, best model, metric values) and the files beside them. */
async function fingerprint(runDir: string) {
  return {
    ...(await trainedFingerprint(runDir)),
    // What training writes beside run.json and metrics.jsonl reaches the Drive too: the weight digests and the reference profile.
    files: fs
      .readdirSync(runDir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort(),
    digests: readDigests(runDir).map((d) => `${d.step}:${d.sha256}`),
    profile: (({ createdAt: _c, ...rest }) => rest)(JSON.parse(fs.readFileSync(path.join(runDir, "profile.json"), "utf8")) as Record<string, unknown>),
  };
}

/** The run's folder as the Drive really holds it (read on the backing folder: the mount may be failing on purpose). */
function onDrive(runId: string): string {
  return path.join(drive.backing, "tscolab", "runs", runId);
}

/** The Drive folder is complete: every checkpoint valid, no temporaries left, the same files as the uninterrupted run. */
async function expectCompleteOnDrive(runId: string, expected = base): Promise<void> {
  const dir = onDrive(runId);
  const { valid, corrupt } = await listValidCheckpoints(dir);
  expect(corrupt).toEqual([]);
  expect(valid[0]!.step).toBe(expected.step);
  expect(fs.readdirSync(path.join(dir, "checkpoints")).filter((n) => n.startsWith("."))).toEqual([]);
  expect(fs.readdirSync(dir).filter((n) => n.startsWith("."))).toEqual([]);
  expect(JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8"))).toMatchObject({ status: "completed" });
  expect(await fingerprint(dir)).toEqual(expected);
}

const localRunDir = (runId: string) => path.join(localDriveRoot(LOCAL, drive.root), "tscolab", "runs", runId);

beforeAll(async () => {
  if (!canRun) return;
  drive = await mountFlakyDrive();
  // The uninterrupted run on a healthy local folder, written to it directly.
  const r = await train({ ...CONFIG, checkpoint: { ...CONFIG.checkpoint, local: false } }, { cwd: work, drive: path.join(work, "plain-drive") });
  expect(r.status).toBe("completed");
  base = await fingerprint(r.runDir);
  expect(base.step).toBe(FINAL_STEP);
}, 120_000);

afterAll(() => drive?.unmount());
// A failed test must not leave the Drive failing, or a trainer running, for the next one.
const spawned = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  for (const s of ["enotconn", "eio", "hang", "readonly", "latency_ms", "lose_writes"] as const) drive?.off(s);
  for (const c of spawned) c.kill("SIGKILL");
  spawned.clear();
});

/** One step of a script: when the event (and the Drive line it shows) says so, do something, once. */
type Phase = { when: (e: ProgressEvent, line: string) => boolean; then: (e: ProgressEvent) => void };
const atEpoch = (epoch: number) => (e: ProgressEvent) => e.epochEnded && e.epoch >= epoch;
const shows = (text: string) => (_e: ProgressEvent, line: string) => line.includes(text);

/** Runs the phases in order from the progress listener; collects the distinct Drive lines the progress showed. */
function script(phases: Phase[]) {
  const lines: string[] = [];
  let next = 0;
  const onProgress = (e: ProgressEvent) => {
    const line = driveLine(e.drive);
    if (line && lines[lines.length - 1] !== line) lines.push(line);
    const phase = phases[next];
    if (phase?.when(e, line)) {
      next++;
      phase.then(e);
    }
  };
  return { lines, onProgress, done: () => next === phases.length };
}

describe.skipIf(!canRun)("a Drive that drops out", () => {
  test("disconnected (ENOTCONN) mid-run, then back: training never stops, the Drive catches up, complete and verified", async () => {
    let localAhead = 0;
    let localCount = 0;
    const s = script([
      { when: atEpoch(3), then: () => drive.on("enotconn") },
      {
        // Back once the line said so and training went on to step 150 (or further, e.g. to its end).
        when: (e, line) => line.includes("ENOTCONN") && e.step >= 150,
        then: (e) => {
          // Meanwhile the local copy went on, bounded by rotation.
          localAhead = e.step - Math.max(...steps(path.join(onDrive(e.runId), "checkpoints")));
          localCount = steps(path.join(localRunDir(e.runId), "checkpoints")).length;
          drive.off("enotconn");
        },
      },
    ]);
    const r = await train(CONFIG, { cwd: work, drive: drive.root, onProgress: s.onProgress });
    expect(r.status).toBe("completed");
    expect(s.done()).toBe(true);
    // keepLast, the one best/ came from, and at most one more whose commit (in the background) has not rotated yet.
    expect(localCount).toBeLessThanOrEqual(CONFIG.checkpoint.keepLast + 2);
    expect(localAhead, "steps checkpointed locally while the Drive was away").toBeGreaterThanOrEqual(90);
    const down = s.lines.find((l) => l.startsWith("Drive unavailable"));
    expect(down).toMatch(/^Drive unavailable since \d\d:\d\d:\d\d \(ENOTCONN: Transport endpoint is not connected\)( · \d+ checkpoints? waits? locally)?; training goes on$/);
    expect(s.lines.some((l) => /· [2-9]\d* checkpoints wait locally/.test(l))).toBe(true);
    expect(r.mirror).toMatchObject({ state: "ok", onlyLocal: [], waiting: 0 });
    expect(r.mirror!.outages).toHaveLength(1);
    expect(r.notes.join("\n")).toMatch(/the Drive copy is complete and verified \(.*\); the Drive was unavailable \d\d:\d\d:\d\d-\d\d:\d\d:\d\d \(ENOTCONN: /);
    await expectCompleteOnDrive(r.runId);
    // Complete on the Drive: the local copy is gone.
    expect(fs.existsSync(localRunDir(r.runId))).toBe(false);
  }, 120_000);

  test("disconnected, then the trainer is SIGKILLed and its local copy lost; the Drive returns: --resume continues from the Drive alone, bit-identical", async () => {
    // A longer run (900 steps), so the Drive gets a first checkpoint well before training ends.
    const config = { ...CONFIG, epochs: 60 };
    const uninterrupted = await train({ ...config, checkpoint: { ...config.checkpoint, local: false } }, { cwd: work, drive: path.join(work, "plain-drive-long") });
    const long = await fingerprint(uninterrupted.runDir);
    const cwd = fs.mkdtempSync(path.join(work, "cli-"));
    fs.writeFileSync(path.join(cwd, "config.json"), JSON.stringify(config));
    const env = { ...process.env, TSCOLAB_LOCAL: LOCAL };
    const runs = path.join(drive.backing, "tscolab", "runs");
    const earlier = new Set(fs.existsSync(runs) ? fs.readdirSync(runs) : []);
    const child = spawn(process.execPath, [CLI, "train", "--config", "config.json", "--drive", drive.root, "--json"], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    spawned.add(child);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const newest = (dir: string) => Math.max(-1, ...steps(path.join(dir, "checkpoints")));
    const ours = () => (fs.existsSync(runs) ? fs.readdirSync(runs).filter((id) => !earlier.has(id) && !id.startsWith(".")) : []);
    // The Drive goes away as soon as it holds a first checkpoint (the mirror copies the newest first, and
    // training outruns it: waiting for a later step could see the whole run there already).
    await waitFor(() => ours().some((id) => newest(onDrive(id)) >= 0), "a checkpoint on the Drive", 60_000, 2);
    drive.on("enotconn");
    const runId = ours()[0]!;
    const cut = newest(onDrive(runId));
    expect(cut).toBeLessThan(long.step - 30);
    // Training goes on locally (and, once done, waits for the Drive); the machine is lost meanwhile.
    await waitFor(() => newest(localRunDir(runId)) >= cut + 30, "30 more steps committed locally");
    child.kill("SIGKILL");
    expect(await exited, stderr.slice(-2000)).toBe("SIGKILL");
    // The runtime is lost: nothing local survives.
    fs.rmSync(LOCAL, { recursive: true, force: true });
    drive.off("enotconn");
    const onDriveBefore = newest(onDrive(runId));
    expect(onDriveBefore).toBeLessThan(long.step);
    // Digests are appended at epoch ends, before that epoch's checkpoint commits: the Drive holds every step up to
    // the last epoch end its newest checkpoint has seen (steps after it, up to the kill, were only local).
    const driveDigests = readDigests(onDrive(runId)).map((d) => d.step);
    const epochEnd = Math.floor(onDriveBefore / 15) * 15;
    expect(driveDigests.filter((step) => step <= epochEnd)).toEqual(Array.from({ length: epochEnd }, (_, i) => i + 1));

    const resumed = await train(undefined, { cwd, drive: drive.root, resume: "last" });
    expect(resumed.status).toBe("completed");
    expect(resumed.resumedFrom).toBe(`step-${String(onDriveBefore).padStart(9, "0")}`);
    expect(resumed.notes.join("\n")).toContain(
      `resuming ${runId} from ${resumed.resumedFrom} (epoch ${Math.floor(onDriveBefore / 15)}) from the Drive (this machine had no newer copy)`,
    );
    // The resumed run keeps the Drive's digests up to its checkpoint (pulled with it) and records every step after it.
    const kept = new Set([...driveDigests.filter((step) => step <= onDriveBefore), ...Array.from({ length: long.step - onDriveBefore }, (_, i) => onDriveBefore + 1 + i)]);
    await expectCompleteOnDrive(runId, { ...long, digests: long.digests.filter((line) => kept.has(Number(line.split(":")[0]))) });
  }, 120_000);

  test("writes the Drive acknowledged but never kept, and files lost before a disconnect: verified again when it is back, and copied again", async () => {
    const s = script([
      { when: atEpoch(3), then: () => drive.on("lose_writes") },
      {
        when: shows("EVERIFY"),
        then: (e) => {
          drive.off("lose_writes");
          drive.on("enotconn");
          // What the Drive had (best/, metrics.jsonl, its checkpoints) is gone when it comes back.
          const dir = onDrive(e.runId);
          for (const p of ["best", "metrics.jsonl", ...steps(path.join(dir, "checkpoints")).map((n) => `checkpoints/step-${String(n).padStart(9, "0")}`)])
            fs.rmSync(path.join(dir, p), { recursive: true, force: true });
        },
      },
      { when: shows("ENOTCONN"), then: () => drive.off("enotconn") },
    ]);
    const r = await train(CONFIG, { cwd: work, drive: drive.root, onProgress: s.onProgress });
    expect(r.status).toBe("completed");
    expect(s.done()).toBe(true);
    expect(s.lines.some((l) => l.includes("(EVERIFY: the Drive returned different bytes than were written)"))).toBe(true);
    expect(r.mirror).toMatchObject({ state: "ok", onlyLocal: [] });
    await expectCompleteOnDrive(r.runId);
  }, 120_000);

  test("a Drive call that hangs: the run goes on, one line says so; the end waits a bounded time and says what is only local; sync copies it later", async () => {
    process.env.TSCOLAB_MIRROR_FLUSH = "3";
    const s = script([{ when: atEpoch(3), then: () => drive.on("hang", 60) }]);
    const t0 = Date.now();
    let r: Awaited<ReturnType<typeof train>>;
    // The event loop stays free (a hung call in this process would hold a libuv thread, and four of them the whole process).
    let worstGap = 0;
    let last = Date.now();
    const ticker = setInterval(() => {
      worstGap = Math.max(worstGap, Date.now() - last);
      last = Date.now();
    }, 10);
    try {
      r = await train(CONFIG, { cwd: work, drive: drive.root, onProgress: s.onProgress });
      // Local file I/O of this process still works while the Drive hangs.
      const probe = path.join(work, "probe.txt");
      await fs.promises.writeFile(probe, "x");
      expect(await fs.promises.readFile(probe, "utf8")).toBe("x");
    } finally {
      clearInterval(ticker);
      delete process.env.TSCOLAB_MIRROR_FLUSH;
    }
    const ms = Date.now() - t0;
    expect(r.status).toBe("completed");
    expect(ms, "the run is bounded by its flush wait, not by the 60 s hang").toBeLessThan(40_000);
    expect(worstGap).toBeLessThan(1500);
    const hung = s.lines.filter((l) => l.includes("hung"));
    expect(hung.length).toBeGreaterThan(0);
    expect(hung[0]).toMatch(/^Drive unavailable since \d\d:\d\d:\d\d \(hung: a Drive call did not return within 2 s \((copying to|reading|creating|removing) .*\)\)/);
    // One outage, whatever it said meanwhile.
    expect(new Set(s.lines.filter((l) => l.startsWith("Drive unavailable")).map((l) => l.slice(0, 32))).size).toBe(1);
    expect(r.mirror!.state).toBe("unavailable");
    expect(r.mirror!.onlyLocal).toEqual(expect.arrayContaining(["step-000000300", "metrics.jsonl", "run.json"]));
    expect(r.notes.join("\n")).toMatch(
      /still only local \(the Drive is unavailable since \d\d:\d\d:\d\d: hung: .*\): step-000000300, .* in .*; copied to the Drive when it is back/,
    );
    const local = localRunDir(r.runId);
    expect(await fingerprint(local)).toEqual(base);
    // %drive status answers (bounded) instead of hanging the kernel, and shows the mirror still waiting.
    const t1 = Date.now();
    const status = await driveStatus({ drive: drive.root, cwd: work });
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(status.unavailable).toMatch(/^ETIMEDOUT: a Drive call did not return within 2 s/);
    expect(status.local.find((c) => c.runId === r.runId)?.mirror).toMatchObject({ state: "unavailable", waiting: r.mirror!.waiting });
    expect(String(renderDriveStatus(status)["text/plain"])).toMatch(
      /Drive unavailable: ETIMEDOUT: .*\n[^]*Local copies \(local-first runs\):\n  \S+: still only local \(the Drive is unavailable since/,
    );

    drive.off("hang");
    const synced = await driveSync({ drive: drive.root, cwd: work, timeoutMs: 60_000 });
    expect(synced.local.find((c) => c.runId === r.runId)?.mirror).toMatchObject({ state: "ok", onlyLocal: [] });
    await expectCompleteOnDrive(r.runId);
    expect(fs.existsSync(local)).toBe(false);
  }, 120_000);

  test("a Drive that comes back read-only: training goes on, nothing half-written appears; once writable, sync completes it", async () => {
    process.env.TSCOLAB_MIRROR_FLUSH = "4";
    const s = script([
      { when: atEpoch(3), then: () => drive.on("enotconn") },
      {
        when: shows("ENOTCONN"),
        then: () => {
          drive.on("readonly");
          drive.off("enotconn");
        },
      },
    ]);
    let r: Awaited<ReturnType<typeof train>>;
    try {
      r = await train(CONFIG, { cwd: work, drive: drive.root, onProgress: s.onProgress });
    } finally {
      delete process.env.TSCOLAB_MIRROR_FLUSH;
    }
    expect(r.status).toBe("completed");
    expect(s.done()).toBe(true);
    expect(s.lines.some((l) => l.includes("(ENOTCONN: "))).toBe(true);
    expect(s.lines.some((l) => l.includes("(EROFS: the Drive is read-only)"))).toBe(true);
    expect(r.mirror).toMatchObject({ state: "unavailable", reason: "EROFS: the Drive is read-only" });
    expect(r.notes.join("\n")).toMatch(/still only local \(the Drive is unavailable since .*: EROFS: the Drive is read-only\): step-000000300/);
    // A copy cut off by the disconnect may leave a hidden temporary (removed once the Drive is writable), never a step folder that does not verify.
    const { valid, corrupt } = await listValidCheckpoints(onDrive(r.runId));
    expect(corrupt).toEqual([]);
    // Nothing after the Drive went away at epoch 3 (a copy already under way may have finished).
    expect(valid.filter((v) => v.step > 50)).toEqual([]);

    drive.off("readonly");
    const synced = await driveSync({ drive: drive.root, cwd: work, timeoutMs: 60_000 });
    expect(synced.local.find((c) => c.runId === r.runId)?.mirror).toMatchObject({ state: "ok", onlyLocal: [] });
    await expectCompleteOnDrive(r.runId);
  }, 120_000);
});

function steps(ckDir: string): number[] {
  try {
    return fs
      .readdirSync(ckDir)
      .filter((n) => /^step-\d+$/.test(n))
      .map((n) => Number(n.slice(5)));
  } catch {
    return [];
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 60_000, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
