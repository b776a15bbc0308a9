// %export / `tscolab export`: parses the flags and renders; exportModel() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { isLayersModel } from "../../engine/models";
import type { ExportResult } from "../../engine/export/export";
import { formatName } from "../../engine/export/formats";
import { exportBundle } from "./render";

export const exportArgs = z.object({
  model: z.any().optional().describe("a notebook variable holding a tf.LayersModel (or a %train result: its run)"),
  run: z
    .string()
    .optional()
    .meta({ description: "run id, run folder or 'last'", complete: { runs: true } }),
  checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint to export"),
  formats: z.array(formatName).default(["tfjs"]).describe("formats to write, comma-separated"),
  out: z
    .string()
    .optional()
    .meta({ description: "output folder (default: the run's exports/<checkpoint>-<time>)", complete: { dirs: true } }),
  drive: z
    .string()
    .optional()
    .meta({ description: "Drive root holding the runs", complete: { dirs: true } }),
  bundle: z.boolean().default(false).describe("also zip config, environment, metrics, plots and the health report into OUT/bundle.zip"),
  json: z.boolean().default(false).describe("print the report as JSON"),
});

// Results whose caller asked for --json (render only sees the result).
const wantsJson = new WeakSet<ExportResult>();

registerMagic({
  name: "export",
  summary: "Export a trained model (tfjs, float16, uint8, onnx) and prove each artifact loads and agrees.",
  args: exportArgs,
  positionals: [{ name: "model" }],
  examples: [
    "%export --run last --formats tfjs,tfjs-float16,tfjs-uint8 --bundle",
    "%export model --formats tfjs --out exports/mine",
    "tscolab export --run last --checkpoint last --formats tfjs --out out --json",
  ],
  resultType: { name: "ExportResult", module: "engine/export/export" },
  async run(args, ctx) {
    // Created on the first progress line, so bad input prints nothing but its error.
    let progress: ReturnType<typeof ctx.display> | undefined;
    const show = (message: string) => {
      const bundle = { "text/plain": `export: ${message}` };
      if (progress) progress.update(bundle);
      else progress = ctx.display(bundle);
    };
    // `%train ... --as r` then `%export r`: a train summary stands for its run folder.
    const summary = args.model as { runDir?: unknown } | undefined;
    const fromSummary = !!summary && typeof summary === "object" && typeof summary.runDir === "string" && !isLayersModel(summary);
    const model = fromSummary ? undefined : args.model;
    const run = fromSummary ? (summary!.runDir as string) : args.run;
    // The engine (tfjs, onnxruntime) loads on first use, so the CLI and the kernel start fast.
    const { exportModel } = await import("../../engine/export/export");
    const result = await exportModel(
      { model, run, checkpoint: args.checkpoint, formats: args.formats, out: args.out, drive: args.drive, bundle: args.bundle, cwd: ctx.cwd },
      { signal: ctx.signal, onProgress: show },
    );
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => exportBundle(result, wantsJson.has(result)),
  exitCode: (result) => (result.status === "failed" ? 1 : 0),
  failure: (result) =>
    result.status === "failed"
      ? `${result.checks
          .filter((c) => c.status === "failed")
          .map((c) => `${c.name}: ${c.message}`)
          .join("; ")} (report: ${result.healthReport.md})`
      : undefined,
});
