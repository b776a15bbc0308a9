// npm run bench:lm — language-model training speed in tokens/s: tscolab's
// zoo transformer trained by its own step (Trainer: variableGrads, the LM
// objective, fused Adam) on the default backend, against a PyTorch twin of
// the same shapes (bench/torch_lm_speed.py) when python3 has torch; without
// it the bench says so loudly and skips that column. Medians of the rounds.
//   node dist/bench/lm_speed.js [--vocab 73] [--seq-len 64] [--d-model 64] [--layers 2] [--heads 4] [--batch 32] [--steps 20] [--rounds 3] [--json]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { median } from "simple-statistics";
import { z } from "zod";
import { ensureBackend } from "../engine/backend";
import type { LoadedDataset } from "../engine/data/dataset";
import { transformer } from "../engine/models/transformer/model";
import { languageModelObjective } from "../engine/text/lm_objective";
import { Trainer } from "../engine/train/trainer";
import { Rng, withSeededMathRandom } from "../engine/util/rng";
import { parseFlags } from "./argv";
import { findTorchPython } from "./torch_client";

const options = z.object({
  vocab: z.coerce.number().int().min(2).default(73),
  seqLen: z.coerce.number().int().min(2).default(64),
  dModel: z.coerce.number().int().min(1).default(64),
  layers: z.coerce.number().int().min(1).default(2),
  heads: z.coerce.number().int().min(1).default(4),
  batch: z.coerce.number().int().min(1).default(32),
  steps: z.coerce.number().int().min(1).default(20),
  rounds: z.coerce.number().int().min(1).default(3),
  json: z.coerce.boolean().default(false),
});

async function main() {
  const o = parseFlags(process.argv.slice(2), options, "--vocab N --seq-len N --d-model N --layers N --heads N --batch N --steps N --rounds N --json");
  const backend = await ensureBackend();
  const shape = `vocab ${o.vocab}, seqLen ${o.seqLen}, dModel ${o.dModel}, ${o.layers} layer(s), ${o.heads} head(s), batch ${o.batch}`;
  console.log(`LM training speed: ${shape}; ${o.rounds} round(s) of ${o.steps} steps; tscolab on ${backend.name}`);

  // tscolab: the zoo model and the Trainer's own step on random windows.
  const rng = Rng.create(1, "bench");
  const rows = o.batch * 4;
  const ids = () => Float32Array.from({ length: rows * o.seqLen }, () => rng.nextInt(o.vocab));
  const split = { x: ids(), y: ids(), n: rows };
  const data = {
    info: { task: "language-modeling", inputShape: [o.seqLen] },
    outputs: o.vocab,
    train: split,
    valid: { x: new Float32Array(0), y: new Float32Array(0), n: 0 },
  } as unknown as LoadedDataset;
  const model = withSeededMathRandom(Rng.create(1, "init"), () =>
    transformer(
      tf,
      { layers: o.layers, heads: o.heads, dModel: o.dModel, seqLen: o.seqLen },
      { tf, inputShape: [o.seqLen], outputs: o.vocab, task: "language-modeling", vocabSize: o.vocab },
    ),
  );
  const trainer = new Trainer(tf, model, data, {
    task: "classification",
    logits: true,
    outputs: o.vocab,
    batchSize: o.batch,
    seed: 1,
    gradClipNorm: null,
    optimizer: { kind: "adam", weightDecay: 0, momentum: 0 },
    objective: languageModelObjective(o.seqLen, o.vocab),
  });
  const batchRows = Int32Array.from({ length: o.batch }, (_, i) => i);
  const tfjsRound = () => {
    const t0 = performance.now();
    let loss: tf.Scalar | null = null;
    for (let s = 0; s < o.steps; s++) {
      loss?.dispose();
      loss = trainer.stepOn(batchRows, 1e-3);
    }
    loss!.dataSync();
    loss!.dispose();
    return (o.steps * o.batch * o.seqLen * 1000) / (performance.now() - t0);
  };
  for (let i = 0; i < 3; i++) trainer.stepOn(batchRows, 1e-3).dispose(); // warm-up

  const probe = findTorchPython();
  const script = [__dirname, path.join(__dirname, "..", "..", "bench")].map((d) => path.join(d, "torch_lm_speed.py")).find((f) => existsSync(f));
  if (!probe.python || !script) {
    console.log("\n!!! PyTorch NOT AVAILABLE — the PyTorch column is SKIPPED !!!");
    console.log(`!!! tried: ${probe.why ?? "bench/torch_lm_speed.py is missing"}`);
    console.log("!!! install it with: apt-get install -y python3-torch libopenblas0-pthread (or set TSCOLAB_PYTHON)\n");
  }
  const tscolab: number[] = [];
  const torch: number[] = [];
  let torchInfo = "";
  for (let r = 0; r < o.rounds; r++) {
    tscolab.push(tfjsRound());
    if (probe.python && script) {
      // One round per call, alternating with tscolab's, so both see the same machine load. On a busy
      // 2-core machine one torch thread often beats two (spinning threads wait on each other): both
      // are tried and the better kept, as bench/train_speed.ts does.
      let best = 0;
      for (const threads of [...new Set([1, os.availableParallelism()])]) {
        const env = { ...process.env, TSCOLAB_TORCH_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
        const res = spawnSync(probe.python, [script, ...[o.vocab, o.seqLen, o.dModel, o.layers, o.heads, o.batch, o.steps, 1].map(String)], {
          encoding: "utf8",
          env,
          timeout: 600_000,
        });
        if (res.status !== 0) throw new Error(`PyTorch bench failed: ${res.stderr.trim().split("\n").pop()}`);
        const line = JSON.parse(res.stdout.trim().split("\n").pop()!) as { torch: string; threads: number; tokensPerSec: number[] };
        if (line.tokensPerSec[0] > best) {
          best = line.tokensPerSec[0];
          torchInfo = `PyTorch ${line.torch} (best of 1 and ${os.availableParallelism()} threads)`;
        }
      }
      torch.push(best);
    }
  }
  trainer.dispose();
  const result = {
    shape: { vocab: o.vocab, seqLen: o.seqLen, dModel: o.dModel, layers: o.layers, heads: o.heads, batch: o.batch },
    backend: backend.name,
    tscolabTokensPerSec: Math.round(median(tscolab)),
    torchTokensPerSec: torch.length ? Math.round(median(torch)) : null,
    ratio: torch.length ? median(tscolab) / median(torch) : null,
    torch: torchInfo || null,
  };
  if (o.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`\n  tscolab (${backend.name})   ${result.tscolabTokensPerSec} tokens/s   rounds: ${tscolab.map(Math.round).join(", ")}`);
  if (result.torchTokensPerSec !== null) {
    console.log(`  ${torchInfo}   ${result.torchTokensPerSec} tokens/s   rounds: ${torch.map(Math.round).join(", ")}`);
    console.log(`  tscolab / PyTorch = ${result.ratio!.toFixed(2)}`);
  } else console.log("  PyTorch   skipped (see above)");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
