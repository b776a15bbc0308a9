// npm run bench:queue — trials per minute through the BullMQ queue with 1 and
// 2 `tscolab worker` processes on this machine, for one fixed small sweep
// (iris, 8 trials). Each round starts its own redis-server (Debian's) at a
// free port, a fresh Drive, the workers, and `tscolab sweep --queue`, and
// times the sweep from its start to its last trial. `--workers 1,2`,
// `--trials N` (a multiple of 2), `--epochs N`, `--json`.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startRedisServer } from "./redis_server";

const CLI = path.resolve(__dirname, "..", "..", "bin", "tscolab.js");

function parseArgv(argv: string[]): { workers: number[]; trials: number; epochs: number; json: boolean } {
  const out = { workers: [1, 2], trials: 8, epochs: 6, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i]!);
    if (a.startsWith("--workers")) out.workers = value().split(",").map(Number);
    else if (a.startsWith("--trials")) out.trials = Number(value());
    else if (a.startsWith("--epochs")) out.epochs = Number(value());
    else if (a === "--json") out.json = true;
    else throw new Error(`unexpected argument '${a}' (flags: --workers 1,2 --trials N --epochs N --json)`);
  }
  if (!out.workers.every((w) => Number.isInteger(w) && w >= 1)) throw new Error("--workers expects whole numbers >= 1, e.g. 1,2");
  if (!Number.isInteger(out.trials) || out.trials < 2 || out.trials % 2) throw new Error("--trials expects an even whole number >= 2");
  return out;
}

function start(args: string[], cwd: string): { child: ChildProcess; log: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, TSCOLAB_BACKEND: process.env.TSCOLAB_BACKEND ?? "cpu" }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  return { child, log: () => log, done: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

async function round(workers: number, opts: { trials: number; epochs: number }) {
  const redis = await startRedisServer();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-bench-queue-"));
  const drive = path.join(work, "drive");
  fs.writeFileSync(
    path.join(work, "base.json"),
    JSON.stringify({ runName: "bench", seed: 5, data: { train: { builtin: "iris" } }, model: { zoo: "mlp", hidden: [16] }, epochs: opts.epochs, batchSize: 16 }),
  );
  const lrs = Array.from({ length: opts.trials / 2 }, (_, i) => (0.002 * (i + 1)).toFixed(3)).join(",");
  const ws = Array.from({ length: workers }, () => start(["worker", "--queue", redis.url, "--drive", drive], work));
  try {
    for (const w of ws)
      for (const end = Date.now() + 30_000; !/serving redis:/.test(w.log()); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(w.log());
    const t0 = performance.now();
    const sweep = start(
      ["sweep", "--config", "base.json", "--grid", `learningRate=${lrs}`, "--grid", "model.dropout=0,0.1", "--queue", redis.url, "--drive", drive, "--json"],
      work,
    );
    const code = await sweep.done;
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`the sweep exited ${code}:\n${sweep.log().slice(-2000)}`);
    const out = JSON.parse(sweep.log().slice(sweep.log().indexOf("\n{") + 1)) as { completed: number };
    return {
      workers,
      trials: opts.trials,
      completed: out.completed,
      seconds: Math.round(seconds * 10) / 10,
      trialsPerMinute: Math.round((out.completed / seconds) * 60 * 10) / 10,
    };
  } finally {
    for (const w of ws) w.child.kill("SIGTERM");
    await Promise.all(ws.map((w) => w.done));
    await redis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const opts = parseArgv(process.argv.slice(2));
  const rows = [];
  for (const w of opts.workers) rows.push(await round(w, opts));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ cpus: os.cpus().length, loadAverage: os.loadavg()[0], epochs: opts.epochs, rows }, null, 2) + "\n");
    return;
  }
  process.stdout.write(
    `queue throughput: ${opts.trials} iris trials of ${opts.epochs} epochs, ${os.cpus().length} CPU(s), backend ${process.env.TSCOLAB_BACKEND ?? "cpu"}, load average ${os.loadavg()[0]!.toFixed(1)}\n`,
  );
  process.stdout.write(`workers  trials  wall s  trials/min\n`);
  for (const r of rows)
    process.stdout.write(
      `${String(r.workers).padStart(7)}  ${String(r.completed).padStart(6)}  ${r.seconds.toFixed(1).padStart(6)}  ${r.trialsPerMinute.toFixed(1).padStart(10)}\n`,
    );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
