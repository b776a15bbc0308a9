// npm run bench:runs — how long `tscolab runs` takes on a Drive with 10,000
// run folders: cold (no index: every run.json read, the index written) and
// warm (the index reused; each run.json only stat'ed), then warm with
// --where/--sort, and after 100 runs changed. `--runs N`, `--keep` (leave the
// Drive in place), `--json`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { listRuns } from "../engine/experiments/runs_index";

function parseArgv(argv: string[]): { runs: number; keep: boolean; json: boolean } {
  const out = { runs: 10_000, keep: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runs") out.runs = Number(argv[++i]);
    else if (argv[i]!.startsWith("--runs=")) out.runs = Number(argv[i]!.slice(7));
    else if (argv[i] === "--keep") out.keep = true;
    else if (argv[i] === "--json") out.json = true;
    else throw new Error(`unexpected argument '${argv[i]}' (flags: --runs N --keep --json)`);
  }
  if (!Number.isInteger(out.runs) || out.runs < 1) throw new Error("--runs expects a whole number >= 1");
  return out;
}

/** A run.json shaped like a finished iris run's (about 3.5 KB, tier details included). */
function runJson(i: number, start: number): Record<string, unknown> {
  const created = new Date(start + i * 60_000);
  const runId = `${created.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-bench-${i}`;
  const lr = [0.0003, 0.001, 0.003, 0.01][i % 4]!;
  const hidden = [[16], [32, 16], [64, 32]][i % 3]!;
  const acc = 0.6 + ((i * 7919) % 400) / 1000;
  const status = i % 50 === 0 ? "failed" : i % 37 === 0 ? "stopped" : "completed";
  const gradient = (layer: string, weight: string) => ({ layer, weight, absSum: 1.234, finite: true });
  return {
    runId,
    runName: `bench-${i}`,
    createdAt: created.toISOString(),
    updatedAt: new Date(created.getTime() + 4_000 + (i % 17) * 100).toISOString(),
    status,
    resumable: status === "stopped",
    config: {
      runName: `bench-${i}`,
      seed: i % 5,
      task: null,
      model: { zoo: "mlp", hidden, dropout: 0.1 },
      data: { train: { builtin: "iris" }, validationSplit: 0.2, normalize: true },
      epochs: 20,
      batchSize: 16,
      optimizer: "adam",
      learningRate: lr,
      momentum: 0,
      weightDecay: 0,
      schedule: { type: "constant", warmupEpochs: 0, minLearningRate: 0 },
      earlyStopping: null,
      gradClipNorm: null,
      tier: "all",
      preset: "standard",
      profile: "cpu",
      precision: "float32",
      checkpoint: { everyEpochs: 1, everySteps: 0, keepLast: 3, keepBest: true },
      validateEveryEpochs: 1,
      drive: null,
    },
    dataset: {
      task: "classification",
      features: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
      label: "species",
      labels: ["setosa", "versicolor", "virginica"],
      normalization: { mean: [5.889, 3.059, 3.826, 1.227], std: [0.842, 0.43, 1.76, 0.765] },
      inputShape: [4],
      trainExamples: 120,
      validExamples: 30,
      source: { train: "builtin:iris", valid: null },
    },
    environment: { backend: "wasm", tfBackend: "wasm", device: "cpu", patches: ["BatchMatMul", "Adam"], tfjs: "4.22.0", node: "v20.20.2", platform: "linux-x64" },
    provenance: { modelSource: "zoo", cwd: "/content", notebook: null },
    ...(i % 10 < 4 ? { sweepId: `20261130-000000-sweep-${Math.floor(i / 10)}`, sweepParams: { learningRate: lr, "model.hidden": hidden }, sweepTrial: i % 10 } : {}),
    writer: { pid: 1000 + i, host: "bench", since: created.toISOString() },
    tiers: {
      "1": {
        status: "passed",
        durationMs: 210,
        details: {
          batchSizes: [1, 2, 16],
          gradients: [gradient("dense_1", "kernel"), gradient("dense_1", "bias"), gradient("output", "kernel"), gradient("output", "bias")],
          overfit: { rows: 16, steps: 60, lossBefore: 1.06, lossAfter: 0.72 },
        },
      },
      "2": { status: "passed", durationMs: 20, details: { steps: 16, sliceRows: 120, stepMs: 1.04, samplesPerSec: 15000, memory: { before: 40, after: 40 }, etaMs: 900 } },
      "3": { status: status === "failed" ? "failed" : "passed", durationMs: 3900, details: { epochs: 20, steps: 160, checkpoints: 20, stoppedEarly: false } },
    },
    metrics: { val_loss: 1 - acc + 0.05, val_accuracy: acc },
    best: { metric: "val_loss", value: 1 - acc, epoch: 18, step: 144 },
    epochsCompleted: 20,
    stoppedEarly: false,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function main(): Promise<void> {
  const opts = parseArgv(process.argv.slice(2));
  const drive = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-bench-runs-"));
  const runs = path.join(drive, "tscolab", "runs");
  fs.mkdirSync(runs, { recursive: true });
  const start = Date.UTC(2026, 0, 1);
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const json = runJson(i, start);
    const dir = path.join(runs, json.runId as string);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "run.json"), JSON.stringify(json, null, 2) + "\n");
    fs.writeFileSync(path.join(dir, "metrics.jsonl"), "");
    ids.push(json.runId as string);
  }
  const makeMs = performance.now() - t0;
  const log = (line: string) => (opts.json ? undefined : console.log(line));
  log(`made ${opts.runs} run folders in ${drive} (${(makeMs / 1000).toFixed(1)} s)`);

  const cold = await timed(() => listRuns({ drive }));
  if (cold.value.total !== opts.runs) throw new Error(`listed ${cold.value.total} runs, made ${opts.runs}`);
  log(`cold (no index; reads every run.json, writes the index): ${cold.ms.toFixed(0)} ms`);
  const warmTimes: number[] = [];
  for (let r = 0; r < 5; r++) warmTimes.push((await timed(() => listRuns({ drive }))).ms);
  warmTimes.sort((a, b) => a - b);
  const warm = warmTimes[2]!;
  log(`warm (index reused; each run.json stat'ed), median of 5: ${warm.toFixed(0)} ms`);
  const query = await timed(() => listRuns({ drive, where: ["status=completed", "metrics.val_accuracy>0.9"], sort: "-metrics.val_accuracy", limit: 20 }));
  log(`warm with --where status=completed --where metrics.val_accuracy>0.9 --sort -metrics.val_accuracy --limit 20: ${query.ms.toFixed(0)} ms (${query.value.matched} matched)`);
  // The whole command, as a user types it: process start, module loading, listing, printing.
  const launcher = path.join(__dirname, "..", "..", "bin", "tscolab.js");
  const c0 = performance.now();
  const cliRun = spawnSync(process.execPath, [launcher, "runs", "--drive", drive, "--sort", "-metrics.val_accuracy", "--limit", "20"], { encoding: "utf8" });
  const cliMs = performance.now() - c0;
  if (cliRun.status !== 0) throw new Error(`tscolab runs failed: ${cliRun.stderr}`);
  log(`tscolab runs --sort -metrics.val_accuracy --limit 20 (a whole CLI process, warm index): ${cliMs.toFixed(0)} ms`);
  for (const id of ids.slice(0, 100)) {
    const file = path.join(runs, id, "run.json");
    const json = JSON.parse(fs.readFileSync(file, "utf8"));
    json.status = "completed";
    json.updatedAt = new Date().toISOString();
    fs.writeFileSync(`${file}.new`, JSON.stringify(json, null, 2) + "\n");
    fs.renameSync(`${file}.new`, file);
  }
  const changed = await timed(() => listRuns({ drive }));
  if (changed.value.index.read !== 100) throw new Error(`expected 100 re-read run.json files, got ${changed.value.index.read}`);
  log(`after 100 run.json files changed (those re-read): ${changed.ms.toFixed(0)} ms`);
  fs.rmSync(path.join(drive, "tscolab", "runs-index.json"));
  const rebuilt = await timed(() => listRuns({ drive }));
  log(`index deleted, listed again (rebuilt): ${rebuilt.ms.toFixed(0)} ms, ${rebuilt.value.total} runs`);
  if (opts.json)
    console.log(
      JSON.stringify({
        runs: opts.runs,
        makeMs: Math.round(makeMs),
        coldMs: Math.round(cold.ms),
        warmMs: Math.round(warm),
        queryMs: Math.round(query.ms),
        cliMs: Math.round(cliMs),
        changedMs: Math.round(changed.ms),
        rebuiltMs: Math.round(rebuilt.ms),
      }),
    );
  if (warm >= 1000) console.error(`warm listing took ${warm.toFixed(0)} ms: over the 1 s budget`);
  if (opts.keep) log(`kept ${drive}`);
  else fs.rmSync(drive, { recursive: true, force: true });
  process.exitCode = warm >= 1000 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
