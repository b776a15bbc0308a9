// %sweep / %%sweep / `tscolab sweep`: parse the flags, show one live table
// (notebook) or log lines (terminal), render the ranked result; sweep() does
// the work.
import { z } from "zod";
import { presetName } from "../../engine/backend/profile";
import { registerMagic } from "../registry";
import { TscolabError, type MagicContext } from "../types";
import type { SweepProgress, SweepResult } from "../../engine/experiments";
import { asList, repeatable } from "../runs/magic";
import { progressBundle, sweepBundle } from "./render";
import { liveDisplay } from "../live_display";

export const sweepArgs = z.object({
  config: z.string().optional().describe("the base train config (JSON file); a %%sweep cell body is merged over it"),
  set: repeatable("KEY=VALUE applied to the base config first (epochs=5, model.dropout=0.1); repeatable"),
  grid: repeatable("KEY=V1,V2,... on a dotted config key (learningRate=0.001,0.01; model.hidden=[16],[32,16]); repeat for a product"),
  random: z.number().int().positive().optional().describe("N random trials (per grid point) drawn from --space, seeded by the base config's seed"),
  space: repeatable("KEY=DIST for --random: loguniform(a,b), uniform(a,b), int(a,b) or choice(v1|v2|...)"),
  ablate: repeatable("KEY or KEY=OFF: an ablation, the base plus one trial per option switched off (model.dropout, weightDecay, schedule, ...)"),
  preset: presetName.optional().describe("the base config's preset; ablation without --ablate ablates every option the base switches on"),
  objective: z.string().optional().describe("validation metric to rank trials by (default: earlyStopping.monitor, else val_loss)"),
  parallel: z.number().int().min(1).max(64).optional().describe("trials run at once, each in its own process (default 1)"),
  resume: z.string().optional().describe("sweep id, folder or last: run what is missing, resume interrupted trials from their checkpoints"),
  queue: z.string().optional().describe("redis://HOST:PORT: put the trials on this queue for `tscolab worker`s (any machine sharing the Drive) and follow them"),
  detach: z.boolean().default(false).describe("with --queue: return once the trials are queued (follow later with --resume SWEEP --queue URL)"),
  connectTimeout: z.number().positive().optional().describe("with --queue: seconds to wait for Redis before giving up (default 10)"),
  drive: z.string().optional().describe("Drive root for the trials' runs and the sweep record"),
  json: z.boolean().default(false).describe("print the result as JSON"),
});
type SweepArgs = z.infer<typeof sweepArgs>;

export async function runSweepMagic(args: SweepArgs, ctx: MagicContext, body?: string): Promise<SweepResult> {
  const { sweep, readSweepBase } = await import("../../engine/experiments/sweep");
  // The base: --config file < %%sweep body < --preset.
  let config: Record<string, unknown> | string | undefined = args.config;
  if (body && body.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      throw new TscolabError(`the %%sweep cell body is not valid JSON: ${(e as Error).message}`, "write the base train config as one JSON object");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw new TscolabError("the %%sweep cell body must be a JSON object (the base train config)", 'e.g. { "data": { "train": { "builtin": "iris" } }, "epochs": 10 }');
    config = { ...(args.config ? readSweepBase(args.config, ctx.cwd) : {}), ...(parsed as Record<string, unknown>) };
  }
  if (args.preset) config = { ...(config === undefined ? {} : readSweepBase(config, ctx.cwd)), preset: args.preset };
  const live = ctx.rich ? liveDisplay(ctx, progressBundle) : undefined;
  try {
    return await sweep({
      config,
      set: asList(args.set),
      grid: asList(args.grid),
      random: args.random,
      space: asList(args.space),
      ablate: args.ablate === undefined ? undefined : asList(args.ablate),
      objective: args.objective,
      parallel: args.parallel,
      resume: args.resume,
      queue: args.queue,
      detach: args.detach || undefined,
      connectTimeout: args.connectTimeout,
      drive: args.drive,
      cwd: ctx.cwd,
      signal: ctx.signal,
      onProgress: live?.show,
      // The terminal gets lines (start, end and failure of each trial); a notebook gets the live table.
      onLog: ctx.rich ? undefined : (line) => ctx.stdout(line + "\n"),
    });
  } finally {
    live?.finish();
  }
}

registerMagic({
  name: "sweep",
  summary: "Run many trials (grid, random or ablation) as ordinary runs, in parallel, resumable; rank them by an objective.",
  args: sweepArgs,
  acceptsBody: true,
  examples: [
    "%sweep --config base.json --grid learningRate=0.001,0.01 --grid model.hidden=[16],[32,16] --parallel 2",
    "%sweep --config base.json --random 8 --space learningRate=loguniform(1e-4,1e-1) --space batchSize=choice(8|16|32)",
    "%sweep --config base.json --ablate model.dropout --ablate weightDecay      (or --preset ablation: every option the base switches on)",
    '%%sweep --grid learningRate=0.003,0.03 --set epochs=$epochs --parallel 2 --as sw      (cell body: {"data": {"train": {"builtin": "iris"}}})',
    "tscolab sweep --resume last",
    "tscolab sweep --config base.json --grid learningRate=0.001,0.01 --queue redis://10.0.0.5:6379 [--detach]      (workers: tscolab worker --queue redis://10.0.0.5:6379)",
  ],
  run: runSweepMagic,
  render: sweepBundle,
  // 0 once any trial completed (failed trials are reported, not fatal) or the trials wait on a queue; 130 when interrupted before any did.
  exitCode: (r) => (r.completed > 0 || r.status === "queued" ? 0 : r.status === "stopped" ? 130 : 1),
  failure: (r) =>
    r.completed > 0 || r.status === "stopped" || r.status === "queued"
      ? undefined
      : `no trial completed (${r.failed} failed): ${r.trials.find((t) => t.diagnosis)?.diagnosis ?? "see the table"}`,
});
