// For the queue tests: `tscolab worker` and `tscolab sweep` as real child
// processes (each worker in its own process group, so a signal can take it
// with its trial's process, as losing a machine would), waiting on files and
// logs, and what must be bit-identical between a trial run through the queue
// and the same trial run alone.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { loadLatestCheckpoint, readMetrics, sha256 } from "../../engine/store";

const ROOT = path.resolve(__dirname, "..", "..");
export const CLI = path.join(ROOT, "bin", "tscolab.js");

export interface Proc {
  pid: number;
  /** stdout and stderr so far, interleaved. */
  log(): string;
  exited(): boolean;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const started = new Set<Proc & { group: boolean }>();

export function cli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; group?: boolean }): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"], detached: opts.group });
  let stdout = "";
  let stderr = "";
  let all = "";
  let exited = false;
  child.stdout!.on("data", (d) => ((stdout += d), (all += d)));
  child.stderr!.on("data", (d) => ((stderr += d), (all += d)));
  const proc = {
    pid: child.pid!,
    group: !!opts.group,
    log: () => all,
    exited: () => exited,
    done: new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
      child.on("exit", (code, signal) => {
        exited = true;
        started.delete(proc);
        resolve({ code, signal, stdout, stderr });
      }),
    ),
  };
  started.add(proc);
  return proc;
}

/** Signals a worker with its trial processes (its process group), or one process. */
export function signal(p: Proc, sig: NodeJS.Signals, group = true): void {
  process.kill(group ? -p.pid : p.pid, sig);
}

/** Ends whatever a test left running (after a failure): every process it started, by id. */
export async function killStarted(): Promise<void> {
  for (const p of [...started]) {
    try {
      process.kill(p.group ? -p.pid : p.pid, "SIGCONT");
      process.kill(p.group ? -p.pid : p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 100));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number, logs: () => string = () => ""): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${logs().slice(-3000)}`);
    await sleep(25);
  }
}

export const runsDir = (drive: string) => path.join(drive, "tscolab", "runs");
export const runDirs = (drive: string) => (fs.existsSync(runsDir(drive)) ? fs.readdirSync(runsDir(drive)).filter((n) => !n.startsWith(".")) : []);
export const findRun = (drive: string, suffix: string) => runDirs(drive).find((n) => n.endsWith(suffix));
export const runJson = (drive: string, runId: string) => JSON.parse(fs.readFileSync(path.join(runsDir(drive), runId, "run.json"), "utf8"));
/** run.json's status, or null while it is not there (a run folder is made before its run.json). */
export const runStatus = (drive: string, runId: string): string | null => {
  try {
    return runJson(drive, runId).status;
  } catch {
    return null;
  }
};
export const sweepIds = (drive: string) => {
  const dir = path.join(drive, "tscolab", "sweeps");
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
};
export const sweepJson = (drive: string, sweepId: string) => JSON.parse(fs.readFileSync(path.join(drive, "tscolab", "sweeps", sweepId, "sweep.json"), "utf8"));

export function newestCheckpointStep(runDir: string): number {
  const dir = path.join(runDir, "checkpoints");
  let newest = -1;
  for (const n of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (/^step-\d+$/.test(n)) newest = Math.max(newest, Number(n.slice(5)));
  return newest;
}

/** What must be bit-identical: final weights and optimizer state, the best model, every learned number in metrics.jsonl. */
export async function fingerprint(runDir: string) {
  const { checkpoint } = await loadLatestCheckpoint(runDir);
  expect(checkpoint, `a valid final checkpoint in ${runDir}`).not.toBeNull();
  const { rows } = await readMetrics(runDir);
  return {
    step: checkpoint!.step,
    weights: sha256(checkpoint!.files["weights.bin"]!),
    optimizer: sha256(checkpoint!.files["optimizer.bin"]!),
    best: sha256(fs.readFileSync(path.join(runDir, "best", "weights.bin"))),
    metrics: rows.map(({ samplesPerSec: _s, wallMs: _w, ...rest }) => rest),
  };
}

/** The same trial trained alone, never interrupted, in this process. */
export async function aloneFingerprint(config: Record<string, unknown>, drive: string, cwd: string) {
  const { train } = await import("../../engine/train/train");
  const r = await train(config as never, { drive, cwd });
  expect(r.status).toBe("completed");
  return fingerprint(r.runDir);
}
