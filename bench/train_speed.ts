// npm run bench — the training-speed table, measured side by side in ONE run:
// samples/s for one training epoch (batch 64, Adam) of the MLP and the CNN on
//   (a) tscolab: the default backend (ensureBackend(): wasm + our kernels
//       here) and train's own step (variableGrads + its fused Adam),
//   (b) stock tfjs wasm: our kernels uninstalled, tf.train.adam,
//   (c) PyTorch CPU, when a python3 with torch exists (loudly skipped if not),
// rounds interleaved in rotating order, medians reported, ratios printed.
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { ensureBackend } from "../engine/backend";
import { installFastKernels, patchesInForce, uninstallFastKernels } from "../engine/backend/kernels";
import { makeTrainStep, runEpoch } from "./tfjs_epoch";
import { findTorchPython, TorchBench } from "./torch_client";
import { buildCnn, buildMlp, disposeBenchModel, MODEL_TITLES, type BenchModel, type BenchModelName } from "./train_models";

const options = z.object({
  rounds: z.coerce.number().int().min(1).default(3),
  batchSize: z.coerce.number().int().min(1).default(64),
  mlpSamples: z.coerce.number().int().min(1).default(1280),
  cnnSamples: z.coerce.number().int().min(1).default(2560),
  models: z
    .string()
    .default("mlp,cnn")
    .transform((s) => s.split(",").map((m) => z.enum(["mlp", "cnn"]).parse(m.trim()))),
  /** Which columns to run (stock wasm is slow: leave it out for a quick look). */
  columns: z
    .string()
    .default("tscolab,stock,torch")
    .transform((s) => s.split(",").map((c) => z.enum(["tscolab", "stock", "torch"]).parse(c.trim()))),
  json: z.coerce.boolean().default(false),
});
type Options = z.infer<typeof options>;

/** `--rounds 5`, `--rounds=5`, `--json` → { rounds: "5", json: true }. */
function parseArgv(argv: string[]): Options {
  const raw: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m)
      throw new Error(`unexpected argument '${argv[i]}' (flags: --rounds N --batch-size N --mlp-samples N --cnn-samples N --models mlp,cnn --columns tscolab,stock,torch --json)`);
    const key = m[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (m[2] !== undefined) raw[key] = m[2];
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) raw[key] = argv[++i];
    else raw[key] = true;
  }
  return options.parse(raw);
}

type ColumnId = "tscolab" | "stock" | "torch1" | "torchN";

interface Cell {
  samples: number[];
  error?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

async function main() {
  const opts = parseArgv(process.argv.slice(2));
  const chosen = await ensureBackend();
  const tscolabBackend = chosen.tfBackend;
  const tscolabPatches = installFastKernels(tscolabBackend);
  console.log(`tscolab default backend: ${chosen.name} (${chosen.reason}); patches: ${tscolabPatches.join(", ") || "none"}`);

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
  console.log(`${opts.rounds} round(s), batch ${opts.batchSize}, Adam; rounds interleave the columns in rotating order\n`);

  // (a) and (b) get their own model and optimizer, built identically.
  const samplesOf = (m: BenchModelName) => (m === "mlp" ? opts.mlpSamples : opts.cnnSamples);
  const build = (m: BenchModelName): BenchModel => (m === "mlp" ? buildMlp : buildCnn)(tf, samplesOf(m), opts.batchSize);

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
      try {
        const { bm, step } = await withColumn(col, () => {
          const bm = build(m);
          const step = makeTrainStep(tf, bm, col);
          runEpoch(tf, bm, step, bm.batches.slice(0, 1)); // warm-up, not timed
          return { bm, step };
        });
        runners[col] = () =>
          withColumn(col, () => {
            const r = runEpoch(tf, bm, step);
            if (!Number.isFinite(r.meanLoss)) throw new Error(`loss is ${r.meanLoss}`);
            return r.samplesPerSec;
          });
        process.once("beforeExit", () => disposeBenchModel(bm));
      } catch (e) {
        cell.error = `cannot train: ${(e as Error).message.split("\n")[0]}`;
        console.log(`${m} / ${col}: ${cell.error}`);
      }
    }
    if (torch && opts.columns.includes("torch")) {
      // PyTorch gets its better thread setting (see torch_train_speed.py).
      const t = torch;
      runners.torch1 = () => t.epoch(m, samplesOf(m), opts.batchSize, 1);
      if (t.threads > 1) runners.torchN = () => t.epoch(m, samplesOf(m), opts.batchSize, t.threads);
    }
    const order: ColumnId[] = ["tscolab", "torch1", "stock", "torchN"];
    for (let r = 0; r < opts.rounds; r++) {
      for (let i = 0; i < order.length; i++) {
        const col = order[(i + r) % order.length];
        const run = runners[col];
        if (!run) continue;
        const sps = await run();
        results[m][col].samples.push(sps);
        console.log(`  round ${r + 1} ${m.padEnd(3)} ${col.padEnd(7)} ${sps.toFixed(1)} samples/s`);
      }
    }
  }
  torch?.close();
  uninstallFastKernels();
  installFastKernels(tscolabBackend);

  const fmt = (c: Cell) => (c.error ? c.error : c.samples.length ? median(c.samples).toFixed(0) : "skipped");
  const ratio = (a: Cell, b: Cell) => {
    const x = median(a.samples);
    const y = median(b.samples);
    return Number.isFinite(x) && Number.isFinite(y) && y > 0 ? `${(x / y).toFixed(2)}×` : "—";
  };
  const bestTorch = (c: Record<ColumnId, Cell>): { cell: Cell; threads: number } =>
    median(c.torchN.samples) > median(c.torch1.samples) ? { cell: c.torchN, threads: torch?.threads ?? 0 } : { cell: c.torch1, threads: 1 };
  const torchHead = torch ? `PyTorch CPU ${torch.version} (best of 1/${torch.threads} torch threads, OpenBLAS on all cores)` : "PyTorch CPU (SKIPPED: not installed)";
  console.log(`\nsamples/s, median of ${opts.rounds} interleaved round(s), one epoch each, batch ${opts.batchSize}, Adam`);
  console.log(
    `| model | tscolab (${tscolabBackend} + ${patchesInForce().length} patches) | stock tfjs wasm | ${torchHead} | tscolab / PyTorch | stock / PyTorch | tscolab / stock |`,
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const m of opts.models) {
    const c = results[m];
    const t = bestTorch(c);
    const torchText = torch ? `${fmt(t.cell)} (${t.threads} thr)` : "skipped";
    console.log(
      `| ${MODEL_TITLES[m]} | ${fmt(c.tscolab)} | ${fmt(c.stock)} | ${torchText} | ${ratio(c.tscolab, t.cell)} | ${ratio(c.stock, t.cell)} | ${ratio(c.tscolab, c.stock)} |`,
    );
  }
  console.log("targets: MLP ≥ 0.45× PyTorch; CNN trains on wasm and ≥ 0.25× PyTorch");
  if (!torch) console.log("!!! PyTorch column SKIPPED: install python3-torch to measure the targets !!!");
  if (opts.json) {
    const summary = Object.fromEntries(
      opts.models.map((m) => [
        m,
        Object.fromEntries(
          (["tscolab", "stock", "torch1", "torchN"] as const).map((c) => [
            c,
            { median: median(results[m][c].samples), samples: results[m][c].samples, error: results[m][c].error },
          ]),
        ),
      ]),
    );
    console.log(JSON.stringify({ backend: tscolabBackend, patches: patchesInForce(), torch: torch ? { version: torch.version, threads: torch.threads } : null, results: summary }));
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
