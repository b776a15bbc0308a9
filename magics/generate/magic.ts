// %generate / `tscolab generate`: text from a language-modeling run or its
// export, streamed into the cell (or the terminal) as the tokens come;
// generate() does the work.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { registerMagic } from "../registry";
import { UsageError, type DisplayHandle, type MagicContext } from "../types";
import type { GenerateResult } from "../../engine/text/generate";
import { generateBundle, streamBundle } from "./render";

export const generateArgs = z.object({
  source: z.any().optional().describe("a %train result (its run) or an export folder"),
  run: z.string().optional().meta({ description: "run id, run folder or 'last' (a language-modeling run)", metavar: "RUN" }),
  model: z.string().optional().meta({ description: "an export folder (tfjs or onnx, with its tokenizer.json) instead of a run", metavar: "DIR" }),
  checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint of the run"),
  prompt: z.string().meta({ description: "the text to continue", metavar: "TEXT" }),
  maxTokens: z.number().int().positive().default(100).describe("tokens to generate"),
  temperature: z.number().min(0).default(1).describe("sampling temperature (0: always the most likely token)"),
  topK: z.number().int().min(0).default(0).describe("sample among the K most likely tokens (0: all)"),
  seed: z.number().int().min(0).default(0).describe("seed of the sampling stream: the same seed gives the same text"),
  drive: z.string().optional().meta({ description: "Drive root holding the runs", metavar: "DIR" }),
  json: z.boolean().default(false).describe("print the result as JSON (text, tokens, ...)"),
});

type Args = z.infer<typeof generateArgs>;

// Results whose text already streamed to a terminal, and those asked for as JSON (render sees only the result).
const streamedToTerminal = new WeakSet<GenerateResult>();
const wantsJson = new WeakSet<GenerateResult>();

/** A folder (or file) holding an exported model rather than a run. */
const isExport = (where: string) =>
  /\.(onnx|json)$/.test(where) || (["model.json", "model.onnx", "tfjs", "onnx"].some((f) => fs.existsSync(path.join(where, f))) && !fs.existsSync(path.join(where, "run.json")));

/** The positional: a train result stands for its run folder, an export result for its folder, a string for a run or an export folder. */
function sourceOf(args: Args, cwd: string): { run?: string; model?: string } {
  const s = args.source as { runDir?: unknown; out?: unknown } | string | undefined;
  if (s === undefined) return { run: args.run, model: args.model };
  if (args.run || args.model) throw new UsageError("give the source once: a positional, --run or --model");
  if (typeof s === "string") return isExport(path.resolve(cwd, s)) ? { model: s } : { run: s };
  if (s && typeof s === "object" && typeof s.runDir === "string") return { run: s.runDir };
  if (s && typeof s === "object" && typeof s.out === "string") return { model: s.out };
  throw new UsageError("<source>: expected a %train result, an %export result, a run id or a folder");
}

/**
 * Where tokens go as they come: a terminal prints them; a notebook shows one
 * display updated in place, emptied at the end, when the result (the same
 * text, with how it was drawn) takes its place.
 */
function streamTo(ctx: MagicContext, prompt: string, json: boolean): { piece(text: string): void; finish(): void } {
  if (!ctx.rich) {
    if (json) return { piece: () => {}, finish: () => {} };
    // The prompt is echoed with the first token, so a refused prompt prints only its error.
    let started = false;
    const piece = (text: string) => {
      if (!started) ctx.stdout(prompt);
      started = true;
      ctx.stdout(text);
    };
    return { piece, finish: () => started && ctx.stdout("\n") };
  }
  let handle: DisplayHandle | undefined;
  let text = "";
  let last = 0;
  return {
    piece(more) {
      text += more;
      const now = Date.now();
      if (handle && now - last < 80) return;
      last = now;
      const bundle = streamBundle(prompt, text);
      if (!handle) handle = ctx.display(bundle);
      else handle.update(bundle);
    },
    finish: () => handle?.update({ "text/plain": "", "text/html": "" }),
  };
}

registerMagic({
  name: "generate",
  summary: "Generate text from a language-modeling run or its export, streaming tokens as they come.",
  args: generateArgs,
  positionals: [{ name: "source" }],
  examples: [
    '%generate --run last --prompt "And God said" --max-tokens 200 --temperature 0.8 --seed 1',
    '%generate lm --prompt "In the beginning" --temperature 0        (lm: a %train result)',
    '%generate --model exports/onnx --prompt "And Joseph" --top-k 10',
    'tscolab generate --run last --prompt "And God said" --seed 7 --json',
  ],
  async run(args, ctx) {
    const { run, model } = sourceOf(args, ctx.cwd);
    const stream = streamTo(ctx, args.prompt, args.json);
    // The engine (tfjs, onnxruntime) loads on first use, so the CLI and the kernel start fast.
    const { generate } = await import("../../engine/text/generate");
    let result: GenerateResult;
    try {
      result = await generate(
        {
          run,
          model,
          checkpoint: args.checkpoint,
          prompt: args.prompt,
          maxTokens: args.maxTokens,
          temperature: args.temperature,
          topK: args.topK,
          seed: args.seed,
          drive: args.drive,
          cwd: ctx.cwd,
        },
        { onToken: (piece) => stream.piece(piece), signal: ctx.signal },
      );
    } finally {
      stream.finish();
    }
    if (!ctx.rich && !args.json) streamedToTerminal.add(result);
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => generateBundle(result, { json: wantsJson.has(result), streamed: streamedToTerminal.has(result) }),
});
