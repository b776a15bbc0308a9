// A language-modeling run (transformer with dropout, shuffled windows, Adam,
// cosine schedule, mid-epoch checkpoints) SIGKILLed twice in real child
// processes and resumed ends with weights, optimizer state and metrics
// bit-identical to the same run never interrupted.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { loadLatestCheckpoint, readMetrics, sha256 } from "../engine/store";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "tscolab.js");
// Bit-identity holds on one backend; wasm is the one every machine has.
const ENV = { ...process.env, TSCOLAB_BACKEND: "wasm" };
const SEED = Number(process.env.TSCOLAB_RESUME_SEED ?? Date.now() % 100000);
let rngState = SEED;
const random = () => (rngState = (Math.imul(rngState, 1103515245) + 12345) >>> 0) / 2 ** 32;

const CONFIG = {
  runName: "lm-resume",
  seed: 21,
  task: "language-modeling",
  data: { train: { builtin: "genesis", limit: 16_000 }, validationSplit: 0.1 },
  tokenizer: { type: "char" },
  model: { zoo: "transformer", layers: 1, heads: 2, dModel: 16, seqLen: 16, dropout: 0.1 },
  epochs: 2,
  batchSize: 16,
  optimizer: "adam",
  learningRate: 0.003,
  schedule: { type: "cosine", warmupEpochs: 0.5 },
  tier: "3",
  checkpoint: { everyEpochs: 1, everySteps: 6, keepLast: 3, keepBest: true },
};

function run(cwd: string, args: string[]) {
  const child = spawn(process.execPath, [CLI, "train", ...args], { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onlyRun(drive: string): string {
  const runs = path.join(drive, "tscolab", "runs");
  const ids = fs.readdirSync(runs).filter((n) => !n.startsWith("."));
  expect(ids).toHaveLength(1);
  return path.join(runs, ids[0]!);
}

function newestStep(drive: string): number {
  const runs = path.join(drive, "tscolab", "runs");
  let newest = -1;
  for (const id of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const ck = path.join(runs, id, "checkpoints");
    for (const n of fs.existsSync(ck) ? fs.readdirSync(ck) : []) if (/^step-\d+$/.test(n)) newest = Math.max(newest, Number(n.slice(5)));
  }
  return newest;
}

async function fingerprint(runDir: string) {
  const { checkpoint } = await loadLatestCheckpoint(runDir);
  expect(checkpoint).not.toBeNull();
  const { rows } = await readMetrics(runDir);
  return {
    step: checkpoint!.step,
    weights: sha256(checkpoint!.files["weights.bin"]!),
    optimizer: sha256(checkpoint!.files["optimizer.bin"]!),
    tokenizer: sha256(fs.readFileSync(path.join(runDir, "tokenizer.json"))),
    metrics: rows.map(({ samplesPerSec: _s, wallMs: _w, ...rest }) => rest),
  };
}

/** SIGKILL once the run's checkpoints reach a random step in [from, to], plus 0-40 ms. */
async function killAt(proc: ReturnType<typeof run>, drive: string, from: number, to: number): Promise<number> {
  const target = from + Math.floor(random() * Math.max(1, to - from));
  let exited = false;
  void proc.done.then(() => (exited = true));
  const end = Date.now() + 200_000;
  while (!exited && newestStep(drive) < target) {
    if (Date.now() > end) throw new Error(`no checkpoint at step ${target}`);
    await sleep(15);
  }
  await sleep(Math.round(random() * 40));
  proc.child.kill("SIGKILL");
  const r = await proc.done;
  expect(r.signal, `still running at step ${target}: ${r.stderr.slice(-1500)}`).toBe("SIGKILL");
  return target;
}

let work: string;
let base: Awaited<ReturnType<typeof fingerprint>>;

beforeAll(async () => {
  expect(fs.existsSync(path.join(ROOT, "dist", "cli", "main.js")), "build first (npm test does it in pretest)").toBe(true);
  console.log(`LM resume: kill-moment seed ${SEED} (replay with TSCOLAB_RESUME_SEED=${SEED})`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-lm-resume-"));
  fs.writeFileSync(path.join(work, "config.json"), JSON.stringify(CONFIG, null, 2));
  const r = await run(work, ["--config", "config.json", "--drive", "drive-base", "--json"]).done;
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  expect(JSON.parse(r.stdout).status).toBe("completed");
  base = await fingerprint(onlyRun(path.join(work, "drive-base")));
}, 240_000);

describe("language-model resume", () => {
  test("killed twice with SIGKILL and resumed: bit-identical to the uninterrupted run", async () => {
    const drive = path.join(work, "drive-killed");
    const first = await killAt(run(work, ["--config", "config.json", "--drive", drive, "--json"]), drive, 6, Math.floor(base.step / 2));
    const second = await killAt(run(work, ["--resume", "last", "--drive", drive, "--json"]), drive, first + 6, base.step - 6);
    console.log(`killed at checkpoints of steps >= ${first} and >= ${second} of ${base.step}`);
    const r = await run(work, ["--resume", "last", "--drive", drive, "--json"]).done;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.status).toBe("completed");
    expect(summary.resumedFrom).toMatch(/^step-\d{9}$/);
    expect(await fingerprint(onlyRun(drive))).toEqual(base);
  }, 300_000);
});
