// %pipeline / %%pipeline / `tscolab pipeline`: parse the flags, show a live
// stage table (notebook) or log lines (terminal), render the result;
// pipeline() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { TscolabError, type MagicContext } from "../types";
import type { PipelineProgress, PipelineResult } from "../../engine/pipeline";
import { pipelineBundle, progressBundle } from "./render";
import { liveDisplay } from "../live_display";

export const pipelineArgs = z.object({
  config: z.string().optional().meta({ description: "the pipeline config (JSON file); a %%pipeline cell body is merged over it", metavar: "FILE" }),
  resume: z.string().optional().meta({ description: "pipeline id, folder or last: skip completed stages, resume the interrupted one's folds", metavar: "PIPELINE" }),
  drive: z.string().optional().meta({ description: "Drive root for the stages' runs and the pipeline record", metavar: "DIR" }),
  json: z.boolean().default(false).describe("print the result as JSON"),
});
type PipelineArgs = z.infer<typeof pipelineArgs>;

export async function runPipelineMagic(args: PipelineArgs, ctx: MagicContext, body?: string): Promise<PipelineResult> {
  const { pipeline, readPipelineConfig } = await import("../../engine/pipeline/pipeline");
  let config: Record<string, unknown> | string | undefined = args.config;
  if (body && body.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      throw new TscolabError(`the %%pipeline cell body is not valid JSON: ${(e as Error).message}`, "write the pipeline config as one JSON object");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw new TscolabError("the %%pipeline cell body must be a JSON object", 'e.g. { "stages": [{ "name": "mlp", "config": { ... } }] }');
    config = { ...(args.config ? readPipelineConfig(args.config, ctx.cwd).raw : {}), ...(parsed as Record<string, unknown>) };
  }
  const live = ctx.rich ? liveDisplay(ctx, progressBundle) : undefined;
  try {
    return await pipeline({
      config,
      resume: args.resume,
      drive: args.drive,
      cwd: ctx.cwd,
      signal: ctx.signal,
      onProgress: live?.show,
      onLog: ctx.rich ? undefined : (line) => ctx.stdout(line + "\n"),
    });
  } finally {
    live?.finish();
  }
}

registerMagic({
  name: "pipeline",
  summary: "Run named stages of folds runs; a stage can stack earlier stages' out-of-fold predictions (no leakage). Resumable.",
  resultType: { name: "PipelineResult", module: "engine/pipeline/pipeline" },
  args: pipelineArgs,
  acceptsBody: true,
  examples: [
    "%pipeline --config fusion.json",
    '%%pipeline --as p      (cell body: {"folds": 3, "base": {"data": {"train": "rows.jsonl"}}, "stages": [{"name": "mlp", "config": {...}}, {"name": "fusion", "inputs": ["mlp", "cnn"], "config": {...}}]})',
    "tscolab pipeline --config fusion.json --json",
    "tscolab pipeline --resume last",
  ],
  run: runPipelineMagic,
  render: pipelineBundle,
  // 0: every stage completed; 130: interrupted (resumable); 1: a stage failed.
  exitCode: (r) => (r.status === "completed" ? 0 : r.status === "stopped" ? 130 : 1),
  failure: (r) => (r.status === "failed" ? (r.diagnosis ?? "a stage failed") : undefined),
});
