// npm run build && node dist/bench/drive_mirror.js — what checkpointing every
// N steps costs the training loop when the Drive is slow: a real FUSE Drive
// (tests/fixtures/flaky_drive/flaky_fs.py; root, /dev/fuse, Debian's fuse3 and
// python3-fusepy) that adds --latency-ms to every call. Three runs of the same
// MNIST MLP, tier 3:
//   baseline     no checkpoints during the epochs
//   direct       a checkpoint every N steps written to the Drive directly (checkpoint.local false)
//   local-first  the same checkpoints committed locally and mirrored in the background
// The loop keeps checkpoint writes off its training clock, so one run gives
// both halves measured under the same load (this matters on a shared
// machine): training time from metrics.jsonl's samplesPerSec, and everything
// else in its epochs' `wallMs` (checkpoints, validation, yields; not the run's
// final checkpoint, the same in all three). Overhead = (a run's off-clock time
// - the baseline's) / the run's training time.
//   --latency-ms 200  --every 20  --epochs 2  --direct-epochs 1  --runs local-first,direct  --rounds 1  --json
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { readMetrics } from "../engine/store";
import { train } from "../engine/train/train";
import { parseFlags } from "./argv";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "tests", "fixtures", "flaky_drive", "flaky_fs.py");

const options = z.object({
  latencyMs: z.coerce.number().min(0).default(200),
  every: z.coerce.number().int().min(1).default(20),
  epochs: z.coerce.number().int().min(1).default(2),
  /** The direct run waits for the Drive at every checkpoint: one epoch is enough to measure it. */
  directEpochs: z.coerce.number().int().min(1).default(1),
  hidden: z
    .string()
    .default("512,256")
    .transform((s) => s.split(",").map(Number)),
  batchSize: z.coerce.number().int().min(1).default(64),
  /** Which runs (the baseline always runs: the others are measured against it). */
  runs: z
    .string()
    .default("local-first,direct")
    .transform((s) => s.split(",").map((r) => z.enum(["local-first", "direct"]).parse(r.trim()))),
  /** Rounds of the whole set, interleaved; medians reported. */
  rounds: z.coerce.number().int().min(1).default(1),
  json: z.coerce.boolean().default(false),
});
type Options = z.infer<typeof options>;

/** Mounts the passthrough with added latency; returns the mount point and how to unmount it. */
async function slowDrive(latencyMs: number): Promise<{ root: string; close(): void }> {
  if (!fs.existsSync("/dev/fuse")) throw new Error("/dev/fuse does not exist: this benchmark needs a FUSE mount (root, fuse3, python3-fusepy)");
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-bench-drive-"));
  const [backing, root, control] = ["backing", "mnt", "control"].map((d) => path.join(base, d)) as [string, string, string];
  for (const d of [backing, root, control]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(control, "latency_ms"), String(latencyMs));
  const proc = spawn("/usr/bin/python3", [SCRIPT, backing, root, control], { stdio: "ignore" });
  const mounted = () =>
    fs
      .readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .some((l) => l.split(" ")[1] === root);
  for (const end = Date.now() + 20_000; !mounted();) {
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`the FUSE Drive did not mount at ${root} (Debian: apt-get install fuse3 python3-fusepy; run as root)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    root,
    close() {
      fs.rmSync(path.join(control, "latency_ms"), { force: true });
      execFileSync("fusermount", ["-u", "-z", root]);
      proc.kill("SIGKILL");
    },
  };
}

interface Variant {
  name: "baseline" | "direct" | "local-first";
  steps: number;
  checkpoints: number;
  /** Training steps alone. */
  trainMs: number;
  /** The epochs' wall time minus trainMs: checkpoints, validation, yields. */
  offMs: number;
  msPerStep: number;
  /** The whole run, with its final checkpoint and (local-first) its wait for the Drive copy. */
  totalMs: number;
}

async function run(name: Variant["name"], o: Options, drive: string, work: string): Promise<Variant> {
  const epochs = name === "direct" ? o.directEpochs : o.epochs;
  const t0 = performance.now();
  const r = await train(
    {
      runName: name,
      seed: 1,
      data: { train: { builtin: "mnist" }, validationSplit: 0.2 },
      model: { zoo: "mlp", hidden: o.hidden },
      epochs,
      batchSize: o.batchSize,
      tier: "3",
      checkpoint: { everyEpochs: 0, everySteps: name === "baseline" ? 0 : o.every, keepLast: 3, keepBest: false, local: name === "direct" ? false : undefined },
    },
    { cwd: work, drive },
  );
  const totalMs = performance.now() - t0;
  const rows = (await readMetrics(r.runDir)).rows;
  const samplesPerEpoch = Math.round(10_000 * 0.8);
  const trainMs = rows.reduce((a, row) => a + (samplesPerEpoch * 1000) / Number(row.samplesPerSec), 0);
  const wallMs = rows.reduce((a, row) => a + Number(row.wallMs), 0);
  const steps = rows[rows.length - 1]!.step;
  return { name, steps, checkpoints: Number(r.tiers["3"].details.checkpoints), trainMs, offMs: wallMs - trainMs, msPerStep: trainMs / steps, totalMs };
}

async function main(): Promise<void> {
  const o = parseFlags(
    process.argv.slice(2),
    options,
    "--latency-ms N --every N --epochs N --direct-epochs N --hidden 512,256 --batch-size N --runs local-first,direct --rounds N --json",
  );
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-bench-mirror-"));
  process.env.TSCOLAB_LOCAL = path.join(work, "local");
  const drive = await slowDrive(o.latencyMs);
  const rounds: Variant[][] = [];
  try {
    for (let i = 0; i < o.rounds; i++) {
      const round: Variant[] = [];
      for (const name of ["baseline", ...o.runs] as const) {
        if (!o.json) process.stderr.write(`round ${i + 1}: ${name}...\n`);
        round.push(await run(name, o, drive.root, work));
      }
      rounds.push(round);
    }
  } finally {
    drive.close();
  }
  // Each run against the baseline of its own round (the machine's load moves); the median round per run.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const table = rounds[0]!.map((first, k) => {
    const ratios = rounds.map((r) => (r[k]!.offMs / r[k]!.steps - r[0]!.offMs / r[0]!.steps) / r[k]!.msPerStep);
    const pick = rounds.map((r) => r[k]!).sort((a, b) => a.msPerStep - b.msPerStep)[Math.floor(rounds.length / 2)]!;
    return { ...pick, name: first.name, overheadPct: Math.round(median(ratios) * 1000) / 10 };
  });
  if (o.json) {
    process.stdout.write(JSON.stringify({ latencyMs: o.latencyMs, every: o.every, results: table }, null, 2) + "\n");
    return;
  }
  process.stdout.write(
    `Checkpoint every ${o.every} steps, Drive latency ${o.latencyMs} ms per call (MNIST MLP ${o.hidden.join("x")}, batch ${o.batchSize}; ${o.rounds} round(s), median)\n\n`,
  );
  process.stdout.write(
    `${"run".padEnd(12)}${"steps".padStart(7)}${"ckpts".padStart(7)}${"step ms".padStart(10)}${"other ms/step".padStart(15)}${"overhead".padStart(10)}${"run total".padStart(12)}\n`,
  );
  for (const v of table)
    process.stdout.write(
      `${v.name.padEnd(12)}${String(v.steps).padStart(7)}${String(v.checkpoints).padStart(7)}${v.msPerStep.toFixed(2).padStart(10)}${(v.offMs / v.steps).toFixed(2).padStart(15)}${`${v.overheadPct}%`.padStart(10)}${`${(v.totalMs / 1000).toFixed(1)}s`.padStart(12)}\n`,
    );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
