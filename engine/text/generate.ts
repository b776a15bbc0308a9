// generate(): text from a language-modeling run (its best or newest
// checkpoint) or from an export folder (tfjs model.json or onnx/model.onnx,
// each with its tokenizer.json), one token at a time. The engine behind
// %generate, `tscolab generate` and the TypeScript API.
//
// Each step feeds the last seqLen tokens at positions 0..L-1 (the rest
// padded: with causal attention, padding after position L-1 cannot change
// its logits) and samples the next token from the logits at L-1: greedy at
// temperature 0, else softmax(logits / temperature) over the top-k, drawn
// from a seeded stream, so the same seed gives the same text.
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { ensureBackend } from "../backend";
import { TscolabError, UsageError } from "../errors";
import { openOnnxSession, type OnnxSession } from "../export/onnx/runtime";
import { runSource } from "../export/source";
import { fileLoadHandler } from "../export/tfjs_files";
import "../models/transformer/register";
import { Rng } from "../util/rng";
import { readRunTokenizer } from "./dataset";
import { TOKENIZER_FILE, tokenizerFromJson, type Tokenizer } from "./tokenizer";

export const generateOptions = z
  .object({
    run: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    checkpoint: z.enum(["best", "last"]).default("best"),
    prompt: z.string(),
    maxTokens: z.number().int().positive().max(100_000).default(100),
    temperature: z.number().min(0).default(1),
    topK: z.number().int().min(0).default(0),
    seed: z.number().int().min(0).default(0),
    drive: z.string().optional(),
    cwd: z.string().optional(),
  })
  .strict();
export type GenerateOptions = z.input<typeof generateOptions>;

export interface GenerateResult {
  /** The generated continuation (the prompt not included). */
  text: string;
  /** Its token ids. */
  tokens: number[];
  prompt: string;
  promptTokens: number;
  /** Where the model came from: a run (and checkpoint) or an export file. */
  source: Record<string, unknown>;
  seed: number;
  temperature: number;
  topK: number;
  /** True when the interrupt stopped it early. */
  stopped: boolean;
  durationMs: number;
  tokensPerSec: number | null;
}

export interface GenerateHooks {
  /** Each new piece of text as soon as its token is drawn (may be "" while a character is incomplete). */
  onToken?(piece: string, token: number): void;
  signal?: AbortSignal;
}

/** A language model to step: next-token logits for a context. */
interface Stepper {
  seqLen: number;
  vocabSize: number;
  logitsAt(window: Int32Array, position: number): Promise<Float32Array>;
  dispose(): Promise<void>;
  source: Record<string, unknown>;
  tokenizer: Tokenizer;
}

function fromTfjs(model: tf.LayersModel, tokenizer: Tokenizer, source: Record<string, unknown>, owned: boolean): Stepper {
  const shape = model.outputs[0]?.shape ?? [];
  const seqLen = model.inputs[0]?.shape[1];
  if (shape.length !== 3 || !seqLen) throw new UsageError(`the model outputs shape [${shape.join(", ")}]; generation needs a language model (logits [batch, seqLen, vocab])`);
  const vocabSize = shape[2]!;
  return {
    seqLen,
    vocabSize,
    tokenizer,
    source,
    async logitsAt(window, position) {
      const row = tf.tidy(() => {
        const logits = model.predict(tf.tensor2d(window, [1, seqLen], "int32")) as tf.Tensor3D;
        return tf.slice(logits, [0, position, 0], [1, 1, vocabSize]);
      });
      const v = Float32Array.from(row.dataSync() as Float32Array);
      row.dispose();
      return v;
    },
    async dispose() {
      if (owned) model.dispose();
    },
  };
}

function fromOnnx(session: OnnxSession, tokenizer: Tokenizer, source: Record<string, unknown>, seqLen: number): Stepper {
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return {
    seqLen,
    vocabSize: tokenizer.vocabSize,
    tokenizer,
    source,
    async logitsAt(window, position) {
      const out = (await session.runFeeds({ [input]: { data: window, shape: [1, seqLen] } }))[output]!;
      const v = out.shape[2]!;
      return Float32Array.from(out.data.subarray(position * v, (position + 1) * v));
    },
    dispose: () => session.release(),
  };
}

function readTokenizerFile(dir: string): Tokenizer {
  const file = path.join(dir, TOKENIZER_FILE);
  if (!fs.existsSync(file)) throw new TscolabError(`no ${TOKENIZER_FILE} beside the model in ${dir}`, "export a text run again: its exports carry the tokenizer");
  return tokenizerFromJson(JSON.parse(fs.readFileSync(file, "utf8")), file);
}

/** An export folder (tfjs or onnx, or the export's root holding both) or a model.onnx / model.json file. */
async function fromExport(where: string): Promise<Stepper> {
  let target = where;
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    const candidates = [path.join(target, "model.json"), path.join(target, "model.onnx"), path.join(target, "tfjs", "model.json"), path.join(target, "onnx", "model.onnx")];
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found)
      throw new TscolabError(`${where} holds no model.json or model.onnx (nor tfjs/ or onnx/ folders with one)`, "point --model at an export folder of a language-modeling run");
    target = found;
  } else if (!fs.existsSync(target)) throw new TscolabError(`${where} does not exist`, "point --model at an export folder (or its model.json / model.onnx)");
  const dir = path.dirname(target);
  const tokenizer = readTokenizerFile(dir);
  if (target.endsWith(".onnx")) {
    const session = await openOnnxSession(target);
    const meta = readOnnxSeqLen(dir);
    return fromOnnx(session, tokenizer, { kind: "export", format: "onnx", path: target }, meta);
  }
  const model = await tf.loadLayersModel(fileLoadHandler(target));
  return fromTfjs(model, tokenizer, { kind: "export", format: "tfjs", path: target }, true);
}

/** The window length of an ONNX export: written beside it in text.json by the exporter. */
function readOnnxSeqLen(dir: string): number {
  const file = path.join(dir, "text.json");
  const value = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { seqLen?: unknown }).seqLen : undefined;
  if (typeof value !== "number") throw new TscolabError(`${dir} has no text.json with the model's seqLen`, "export the run again");
  return value;
}

async function fromRun(ref: string, checkpoint: "best" | "last", drive: string | undefined, cwd: string): Promise<Stepper> {
  const source = await runSource(ref, checkpoint, { drive, cwd });
  const runId = source.describe.runId;
  if (source.dataset?.task !== "language-modeling") {
    source.model.dispose();
    throw new UsageError(`run ${String(runId)} is a ${source.dataset?.task ?? "non-text"} run; generate needs a language-modeling run (task language-modeling)`);
  }
  const tokenizer = await readRunTokenizer(source.runDir!);
  if (!tokenizer) {
    source.model.dispose();
    throw new TscolabError(`run ${String(runId)} has no ${TOKENIZER_FILE}`, "train the run again with this version of tscolab");
  }
  return fromTfjs(source.model, tokenizer, source.describe, true);
}

/** Picks the next token: argmax at temperature 0, else a draw from softmax(logits / T) over the top k. */
export function sampleToken(logits: Float32Array, opts: { temperature: number; topK: number; banned: Set<number> }, rng: Rng): number {
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (!opts.banned.has(i) && Number.isFinite(logits[i])) ids.push(i);
  if (!ids.length) throw new TscolabError("the model's logits are not finite", "the model diverged; train it again with a lower learning rate");
  // Highest logit first; ties by id, so the order never depends on the sort's stability.
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  if (opts.temperature === 0) return ids[0];
  const pool = opts.topK > 0 ? ids.slice(0, opts.topK) : ids;
  const top = logits[pool[0]] / opts.temperature;
  const weights = pool.map((i) => Math.exp(logits[i] / opts.temperature - top));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.nextFloat() * total;
  for (let k = 0; k < pool.length; k++) {
    u -= weights[k];
    if (u < 0) return pool[k];
  }
  return pool[pool.length - 1];
}

export async function generate(options: GenerateOptions, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  const parsed = generateOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${issue.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ` : ""}${issue.message}`);
  }
  const o = parsed.data;
  if (!o.run === !o.model) throw new UsageError("give either --run RUN (a language-modeling run) or --model DIR (an export of one)");
  if (o.prompt.length === 0) throw new UsageError("--prompt: give at least one character to continue");
  const cwd = o.cwd ?? process.cwd();
  await ensureBackend();
  const stepper = o.model ? await fromExport(path.resolve(cwd, o.model)) : await fromRun(o.run!, o.checkpoint, o.drive, cwd);
  try {
    const tok = stepper.tokenizer;
    const context = tok.encode(o.prompt, { unknown: "error", what: "the prompt" });
    // Never sample padding (nor, for char, the unknown symbol): they are not text.
    const banned = new Set(tok.type === "char" ? [tok.padId, 1] : [tok.padId]);
    const rng = Rng.create(o.seed, "generate");
    const decodePiece = tok.streamDecoder();
    const tokens: number[] = [];
    const t0 = performance.now();
    let stopped = false;
    const T = stepper.seqLen;
    const window = new Int32Array(T);
    for (let i = 0; i < o.maxTokens; i++) {
      if (hooks.signal?.aborted) {
        stopped = true;
        break;
      }
      const start = Math.max(0, context.length - T);
      const length = context.length - start;
      window.fill(tok.padId);
      for (let k = 0; k < length; k++) window[k] = context[start + k];
      const logits = await stepper.logitsAt(window, length - 1);
      const next = sampleToken(logits, { temperature: o.temperature, topK: o.topK, banned }, rng);
      context.push(next);
      tokens.push(next);
      hooks.onToken?.(decodePiece(next), next);
      // Lets the stop button and display updates through between tokens.
      if (hooks.onToken || hooks.signal) await new Promise((r) => setImmediate(r));
    }
    const durationMs = performance.now() - t0;
    return {
      text: tok.decode(tokens),
      tokens,
      prompt: o.prompt,
      promptTokens: context.length - tokens.length,
      source: stepper.source,
      seed: o.seed,
      temperature: o.temperature,
      topK: o.topK,
      stopped,
      durationMs: Math.round(durationMs),
      tokensPerSec: tokens.length && durationMs > 0 ? Math.round((tokens.length * 1000) / durationMs) : null,
    };
  } finally {
    await stepper.dispose();
  }
}
