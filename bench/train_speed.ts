// npm run bench — the training-speed table, measured side by side in ONE run:
// samples/s for one training epoch (Adam) of the MLP and the CNN (batch 64)
// and of the zoo transformer language model (batch 32, tokens/s too) on
//   (a) tscolab: the default backend (ensureBackend(): wasm + our kernels
//       here) and train's own step (variableGrads + its fused Adam; the
//       transformer through the Trainer's step with the LM objective),
//   (b) stock tfjs wasm: our kernels uninstalled, tf.train.adam,
//   (c) PyTorch CPU, when a python3 with torch exists (loudly skipped if not),
// rounds interleaved in rotating order, medians reported, ratios printed,
// and the GFLOP/s each column achieves (analytic FLOPs, train_models.ts).
import * as tf from "@tensorflow/tfjs";
import { median as statsMedian } from "simple-statistics";
import { z } from "zod";
import { ensureBackend } from "../engine/backend";
import { installFastKernels, patchesInForce, uninstallFastKernels } from "../engine/backend/kernels";
import { parseFlags } from "./argv";
import { makeTrainStep, runEpoch } from "./tfjs_epoch";
import { findTorchPython, TorchBench } from "./torch_client";
import {
  BENCH_MODEL_NAMES,
  BUILDERS,
  disposeBenchModel,
  LM_SHAPE,
  MODEL_TITLES,
  TOKENS_PER_SAMPLE,
  trainFlopsPerSample,
  type BenchModel,
  type BenchModelName,
} from "./train_models";

const options = z.object({
  rounds: z.coerce.number().int().min(1).default(3),
  /** Batch of the MLP and the CNN. */
  batchSize: z.coerce.number().int().min(1).default(64),
  mlpSamples: z.coerce.number().int().min(1).default(1280),
  cnnSamples: z.coerce.number().int().min(1).default(2560),
  /** Sequences of 64 tokens: 32 a batch, 4 batches a round (a few seconds on 2 cores). */
  transformerBatch: z.coerce.number().int().min(1).default(32),
  transformerSamples: z.coerce.number().int().min(1).default(128),
  models: z
    .string()
    .default(BENCH_MODEL_NAMES.join(","))
    .transform((s) => s.split(",").map((m) => z.enum(BENCH_MODEL_NAMES).parse(m.trim()))),
  /** Which columns to run (stock wasm is slow: leave it out for a quick look). */
  columns: z
    .string()
    .default("tscolab,stock,torch")
    .transform((s) => s.split(",").map((c) => z.enum(["tscolab", "stock", "torch"]).parse(c.trim()))),
  json: z.coerce.boolean().default(false),
});

const USAGE =
  "--rounds N --batch-size N --mlp-samples N --cnn-samples N --transformer-batch N --transformer-samples N --models mlp,cnn,transformer --columns tscolab,stock,torch --json";

type ColumnId = "tscolab" | "stock" | "torch1" | "torchN";
const COLUMN_IDS: ColumnId[] = ["tscolab", "stock", "torch1", "torchN"];

interface Cell {
  samples: number[];
  error?: string;
}

/** NaN for a column that measured nothing (skipped or failed). */
const median = (xs: number[]) => (xs.length ? statsMedian(xs) : NaN);

const int = (x: number) => Math.round(x).toLocaleString("en-US");

async function main() {
  const opts = parseFlags(process.argv.slice(2), options, USAGE);
  const chosen = await ensureBackend();
  const tscolabBackend = chosen.tfBackend;
  const tscolabPatches = installFastKernels(tscolabBackend);
  console.log(`tscolab default backend: ${chosen.name} (${chosen.reason}); patches: ${tscolabPatches.join(", ") || "none"}`);
  console.log(`native kernels: ${chosen.native.on ? `on, ${chosen.native.reason}: ${chosen.native.kernels.join(", ")}` : `off (${chosen.native.reason})`}`);

  const torchProbe = findTorchPython();
  let torch: TorchBench | null = null;
  if (torchProbe.python) {
    torch = await TorchBench.start(torchProbe.python);
    console.log(`PyTorch ${torch.version} via ${torchProbe.python}, ${torch.threads} thread(s)`);
  } else {
    console.log("\n!!! PyTorch NOT AVAILABLE — the PyTorch column is SKIPPED !!!");
    console.log(`!!! tried: ${torchProbe.why}`);
    console.log("!!! install it with: apt-get install -y python3-torch (or set TSCOLAB_PYTHON)\n");
  }
  console.log(`${opts.rounds} round(s), Adam, batch ${opts.batchSize} (transformer ${opts.transformerBatch} sequences); rounds interleave the columns in rotating order\n`);

  // (a) and (b) get their own model and optimizer, built identically.
  const samplesOf = (m: BenchModelName) => ({ mlp: opts.mlpSamples, cnn: opts.cnnSamples, transformer: opts.transformerSamples })[m];
  const batchOf = (m: BenchModelName) => (m === "transformer" ? opts.transformerBatch : opts.batchSize);
  const build = (m: BenchModelName): BenchModel => BUILDERS[m](tf, samplesOf(m), batchOf(m));
  const torchShape = (m: BenchModelName) => (m === "transformer" ? [LM_SHAPE.vocab, LM_SHAPE.seqLen, LM_SHAPE.dModel, LM_SHAPE.layers, LM_SHAPE.heads] : []);

  const withColumn = async <T>(col: "tscolab" | "stock", f: () => T): Promise<T> => {
    if (col === "stock") {
      await tf.setBackend("wasm");
      uninstallFastKernels("wasm");
    } else {
      await tf.setBackend(tscolabBackend);
      installFastKernels(tscolabBackend);
    }
    return f();
  };

  const results: Record<string, Record<ColumnId, Cell>> = {};
  for (const m of opts.models) {
    results[m] = { tscolab: { samples: [] }, stock: { samples: [] }, torch1: { samples: [] }, torchN: { samples: [] } };
    const runners: Partial<Record<ColumnId, () => Promise<number>>> = {};
    for (const col of ["tscolab", "stock"] as const) {
      if (!opts.columns.includes(col)) continue;
      const cell = results[m][col];
      let bm: BenchModel | null = null;
      try {
        const built = await withColumn(col, () => {
          bm = build(m);
          const step = makeTrainStep(tf, bm, col);
          runEpoch(tf, bm, step, bm.batches.slice(0, 1)); // warm-up, not timed
          return { bm, step };
        });
        runners[col] = () =>
          withColumn(col, () => {
            const r = runEpoch(tf, built.bm, built.step);
            if (!Number.isFinite(r.meanLoss)) throw new Error(`loss is ${r.meanLoss}`);
            return r.samplesPerSec;
          });
        process.once("beforeExit", () => {
          built.step.dispose();
          disposeBenchModel(built.bm);
        });
      } catch (e) {
        // Stock wasm has no gradient for gather (UnsortedSegmentSum): the transformer stops here.
        cell.error = `cannot train: ${(e as Error).message.split("\n")[0]}`;
        console.log(`${m} / ${col}: ${cell.error}`);
        if (bm) disposeBenchModel(bm);
      }
    }
    if (torch && opts.columns.includes("torch")) {
      // PyTorch gets its better thread setting (see torch_train_speed.py).
      const t = torch;
      runners.torch1 = () => t.epoch(m, samplesOf(m), batchOf(m), 1, torchShape(m));
      if (t.threads > 1) runners.torchN = () => t.epoch(m, samplesOf(m), batchOf(m), t.threads, torchShape(m));
    }
    const order: ColumnId[] = ["tscolab", "torch1", "stock", "torchN"];
    for (let r = 0; r < opts.rounds; r++) {
      for (let i = 0; i < order.length; i++) {
        const col = order[(i + r) % order.length];
        const run = runners[col];
        if (!run) continue;
        const sps = await run();
        results[m][col].samples.push(sps);
        const tokens = TOKENS_PER_SAMPLE[m] > 1 ? ` (${int(sps * TOKENS_PER_SAMPLE[m])} tokens/s)` : "";
        console.log(`  round ${r + 1} ${m.padEnd(11)} ${col.padEnd(7)} ${sps.toFixed(1)} samples/s${tokens}`);
      }
    }
  }
  torch?.close();
  uninstallFastKernels();
  installFastKernels(tscolabBackend);

  const bestTorch = (c: Record<ColumnId, Cell>): { cell: Cell; threads: number } =>
    median(c.torchN.samples) > median(c.torch1.samples) ? { cell: c.torchN, threads: torch?.threads ?? 0 } : { cell: c.torch1, threads: 1 };
  const ratioOf = (a: Cell, b: Cell) => {
    const x = median(a.samples);
    const y = median(b.samples);
    return Number.isFinite(x) && Number.isFinite(y) && y > 0 ? x / y : NaN;
  };
  const ratio = (a: Cell, b: Cell) => {
    const r = ratioOf(a, b);
    return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
  };
  const speed = (m: BenchModelName, c: Cell) => {
    if (c.error) return c.error;
    if (!c.samples.length) return "skipped";
    const sps = median(c.samples);
    return TOKENS_PER_SAMPLE[m] > 1 ? `${int(sps)} seq/s = ${int(sps * TOKENS_PER_SAMPLE[m])} tok/s` : int(sps);
  };
  const gflops = (m: BenchModelName, c: Cell) => (c.samples.length ? (median(c.samples) * trainFlopsPerSample(m)) / 1e9 : NaN);
  const gflopsText = (m: BenchModelName, c: Cell) => (c.error ? "cannot train" : c.samples.length ? gflops(m, c).toFixed(1) : "skipped");

  const torchHead = torch ? `PyTorch CPU ${torch.version} (best of 1/${torch.threads} torch threads, OpenBLAS on all cores)` : "PyTorch CPU (SKIPPED: not installed)";
  console.log(`\nsamples/s (the transformer: sequences of ${LM_SHAPE.seqLen} tokens and tokens/s), median of ${opts.rounds} interleaved round(s), one epoch each, Adam`);
  console.log(
    `| model | batch | tscolab (${tscolabBackend} + ${patchesInForce().length} patches) | stock tfjs wasm | ${torchHead} | tscolab / PyTorch | stock / PyTorch | tscolab / stock |`,
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const m of opts.models) {
    const c = results[m];
    const t = bestTorch(c);
    const torchText = torch && t.cell.samples.length ? `${speed(m, t.cell)} (${t.threads} thr)` : "skipped";
    console.log(
      `| ${MODEL_TITLES[m]} | ${batchOf(m)} | ${speed(m, c.tscolab)} | ${speed(m, c.stock)} | ${torchText} | ${ratio(c.tscolab, t.cell)} | ${ratio(c.stock, t.cell)} | ${ratio(c.tscolab, c.stock)} |`,
    );
  }
  // Each round times the columns back to back, so a round's ratio pairs measurements taken moments apart:
  // on a machine whose speed drifts between runs, their spread says how far to trust the median.
  for (const m of opts.models) {
    const c = results[m];
    const t = bestTorch(c);
    const rounds = c.tscolab.samples.map((s, r) => s / t.cell.samples[r]).filter(Number.isFinite);
    if (rounds.length > 1)
      console.log(
        `${m}: tscolab / PyTorch per round ${rounds.map((r) => `${r.toFixed(2)}×`).join(", ")} (range ${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)}×)`,
      );
  }
  console.log("targets: MLP ≥ 1.0× PyTorch, CNN ≥ 1.0×, transformer ≥ 0.8× (stock wasm cannot train the CNN or the transformer)");
  if (!torch) console.log("!!! PyTorch column SKIPPED: install python3-torch to measure the targets !!!");

  console.log("\nachieved GFLOP/s: analytic matmul/conv FLOPs of forward + backward (trainFlopsPerSample in bench/train_models.ts) × median samples/s");
  console.log("| model | training MFLOP/sample | tscolab GFLOP/s | stock tfjs wasm GFLOP/s | PyTorch GFLOP/s (best threads) |");
  console.log("|---|---|---|---|---|");
  for (const m of opts.models) {
    const c = results[m];
    const t = bestTorch(c);
    const torchText = torch && t.cell.samples.length ? `${gflopsText(m, t.cell)} (${t.threads} thr)` : "skipped";
    console.log(`| ${m} | ${(trainFlopsPerSample(m) / 1e6).toFixed(1)} | ${gflopsText(m, c.tscolab)} | ${gflopsText(m, c.stock)} | ${torchText} |`);
  }

  if (opts.json) {
    const num = (x: number) => (Number.isFinite(x) ? x : null);
    const summary = Object.fromEntries(
      opts.models.map((m) => {
        const t = bestTorch(results[m]);
        const columns = Object.fromEntries(
          COLUMN_IDS.map((c) => {
            const cell = results[m][c];
            const med = median(cell.samples);
            return [c, { median: med, samples: cell.samples, error: cell.error, tokensPerSec: num(med * TOKENS_PER_SAMPLE[m]), gflops: num(gflops(m, cell)) }];
          }),
        );
        const model = {
          title: MODEL_TITLES[m],
          batchSize: batchOf(m),
          samplesPerRound: samplesOf(m),
          tokensPerSample: TOKENS_PER_SAMPLE[m],
          trainFlopsPerSample: trainFlopsPerSample(m),
          torchBestThreads: torch ? t.threads : null,
          ratios: {
            tscolabOverTorch: num(ratioOf(results[m].tscolab, t.cell)),
            stockOverTorch: num(ratioOf(results[m].stock, t.cell)),
            tscolabOverStock: num(ratioOf(results[m].tscolab, results[m].stock)),
          },
        };
        return [m, { ...columns, model }];
      }),
    );
    console.log(JSON.stringify({ backend: tscolabBackend, patches: patchesInForce(), torch: torch ? { version: torch.version, threads: torch.threads } : null, results: summary }));
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
