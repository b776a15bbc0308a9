// Language modeling end to end, in one process: a char-level transformer
// trained briefly on the built-in corpus beats the unigram baseline by a
// clear margin (tier 1's overfit check and gradient check included);
// generation is a function of the seed; the ONNX export agrees with the
// model and generates the same text; the tfjs export loads in a fresh
// process with stock tfjs and the one loader module it ships; model.json
// round-trips.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { exportModel } from "../engine/export/export";
import { loadModelFromFiles, modelToFiles } from "../engine/store";
import { generate } from "../engine/text/generate";
import { train, type TrainResult } from "../engine/train/train";

const ROOT = path.resolve(__dirname, "..");
let work: string;
let drive: string;
let result: TrainResult;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-lm-"));
  drive = path.join(work, "drive");
  const t0 = performance.now();
  result = await train(
    {
      runName: "genesis-char",
      seed: 5,
      data: { train: { builtin: "genesis", limit: 90_000 }, validationSplit: 0.15 },
      model: { zoo: "transformer", layers: 2, heads: 2, dModel: 48, seqLen: 32 },
      tokenizer: { type: "char" },
      epochs: 2,
      batchSize: 32,
      learningRate: 0.004,
      checkpoint: { everyEpochs: 1, everySteps: 0, keepLast: 2, keepBest: true },
    },
    { drive, cwd: work },
  );
  console.log(`char LM: ${((performance.now() - t0) / 1000).toFixed(1)} s, metrics ${JSON.stringify(result.metrics)}, unigram ${JSON.stringify(result.dataset.text)}`);
});

describe("char-level language model on the built-in corpus", () => {
  it("reaches a validation perplexity well below the unigram baseline", () => {
    expect(result.status, result.diagnosis).toBe("completed");
    const unigram = result.dataset.text!.unigramPerplexity as number;
    const perplexity = result.metrics.val_perplexity;
    console.log(`validation perplexity ${perplexity.toFixed(2)} vs unigram baseline ${unigram.toFixed(2)} (${((perplexity / unigram) * 100).toFixed(0)}%)`);
    expect(unigram).toBeGreaterThan(15);
    expect(perplexity).toBeLessThan(0.7 * unigram);
    expect(result.metrics.val_loss).toBeCloseTo(Math.log(perplexity), 6);
    expect(result.metrics.val_token_accuracy).toBeGreaterThan(0.25);
    expect(fs.existsSync(path.join(result.runDir, "tokenizer.json"))).toBe(true);
  });

  it("tier 1 sees a gradient on every weight and overfits one batch; tier 2 speaks tokens/s", () => {
    const t1 = result.tiers["1"];
    expect(t1.status).toBe("passed");
    const gradients = t1.details.gradients as { layer: string; weight: string; absSum: number }[];
    expect(gradients).toHaveLength(result.model.trainableWeights.length);
    for (const g of gradients) expect(g.absSum, `${g.layer}/${g.weight}`).toBeGreaterThan(0);
    expect(gradients.map((g) => g.layer)).toEqual(expect.arrayContaining(["token_embedding", "position_embedding", "block1_qkv", "block2_mlp_out", "final_ln"]));
    const overfit = t1.details.overfit as { lossBefore: number; lossAfter: number };
    expect(overfit.lossAfter).toBeLessThan(overfit.lossBefore * 0.95);
    const t2 = result.tiers["2"];
    expect(t2.status).toBe("passed");
    expect(t2.details.tokensPerSec).toBeGreaterThan(0);
    expect(t2.details.etaMs).toBeGreaterThan(0);
  });

  it("the same seed gives the same text; another seed another", async () => {
    const opts = { run: result.runDir, prompt: "And God said", maxTokens: 60, temperature: 0.9, topK: 20 };
    const streamed: string[] = [];
    const a = await generate({ ...opts, seed: 11 }, { onToken: (piece) => streamed.push(piece) });
    const b = await generate({ ...opts, seed: 11 });
    const c = await generate({ ...opts, seed: 12 });
    console.log(`seed 11: ${JSON.stringify(opts.prompt + a.text)}\nseed 12: ${JSON.stringify(opts.prompt + c.text)}`);
    expect(a.tokens).toHaveLength(60);
    expect(b.text).toBe(a.text);
    expect(b.tokens).toEqual(a.tokens);
    expect(streamed.join("")).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it("model.json round-trips with the custom layers", async () => {
    const files = await modelToFiles(result.model);
    const topology = JSON.parse(files["model.json"]!.toString()).modelTopology;
    const classes = new Set<string>(topology.config.layers.map((l: { class_name: string }) => l.class_name));
    expect([...classes]).toEqual(expect.arrayContaining(["TscolabTiedEmbedding", "TscolabPositionEmbedding", "TscolabSelfAttention", "TscolabLayerNorm"]));
    const again = await loadModelFromFiles(files, tf);
    const ids = tf.tensor2d(
      Int32Array.from({ length: 2 * 32 }, (_, i) => (i * 7) % 40),
      [2, 32],
      "int32",
    );
    const [x, y] = [result.model.predict(ids) as tf.Tensor, again.predict(ids) as tf.Tensor];
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(JSON.stringify(again.getConfig())).toBe(JSON.stringify(result.model.getConfig()));
    tf.dispose([ids, x, y]);
    again.dispose();
  });

  it("exports to ONNX and tfjs that agree with the model, carry the tokenizer, and generate the same text", async () => {
    const out = path.join(work, "exports");
    const exported = await exportModel({ run: result.runDir, formats: ["tfjs", "onnx"], out });
    const failed = exported.checks.filter((c) => c.status !== "passed");
    expect(failed, JSON.stringify(failed)).toEqual([]);
    console.log(`ONNX max abs diff ${exported.formats.onnx!.maxAbsDiff}, tfjs ${exported.formats.tfjs!.maxAbsDiff}`);
    expect(exported.formats.onnx!.maxAbsDiff!).toBeLessThan(1e-4);
    expect(exported.checks.find((c) => c.name === "tfjs.val_loss")?.status).toBe("passed");
    for (const dir of ["tfjs", "onnx"]) for (const f of ["tokenizer.json", "text.json"]) expect(fs.existsSync(path.join(out, dir, f)), `${dir}/${f}`).toBe(true);

    const prompt = "And Abraham";
    const fromRun = await generate({ run: result.runDir, prompt, maxTokens: 40, temperature: 0 });
    const fromOnnx = await generate({ model: path.join(out, "onnx"), prompt, maxTokens: 40, temperature: 0 });
    const fromTfjs = await generate({ model: path.join(out, "tfjs"), prompt, maxTokens: 40, temperature: 0 });
    expect(fromOnnx.text).toBe(fromRun.text);
    expect(fromTfjs.text).toBe(fromRun.text);
    expect(fromOnnx.source.format).toBe("onnx");

    // Stock tfjs in a fresh process: nothing of tscolab but the loader module beside model.json.
    const ids = Array.from({ length: 32 }, (_, i) => (i * 5) % 40);
    const expected = Array.from((result.model.predict(tf.tensor2d([ids], [1, 32], "int32")) as tf.Tensor).dataSync());
    const script = `
      const tf = require("@tensorflow/tfjs");
      const fs = require("fs"), path = require("path");
      const dir = ${JSON.stringify(path.join(out, "tfjs"))};
      require(path.join(dir, "tscolab_layers.js"))(tf);
      const json = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
      const bin = Buffer.concat(json.weightsManifest[0].paths.map((p) => fs.readFileSync(path.join(dir, p))));
      tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) }))
        .then((m) => process.stdout.write(JSON.stringify(Array.from(m.predict(tf.tensor2d([${JSON.stringify(ids)}], [1, 32], "int32")).dataSync()))));
    `;
    const child = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(child.status, child.stderr).toBe(0);
    const got = JSON.parse(child.stdout) as number[];
    expect(got).toHaveLength(expected.length);
    const maxDiff = Math.max(...got.map((v, i) => Math.abs(v - expected[i]!)));
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
