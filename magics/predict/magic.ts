// %predict / `tscolab predict`: parses the flags and renders; predict() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { runRef } from "../run_ref";
import type { PredictResult } from "../../engine/evaluate/evaluate";
import { predictBundle } from "./render";

export const predictArgs = z.object({
  run: z.any().optional().describe("run id, run folder, 'last', or a notebook variable holding a %train result"),
  checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint of the run"),
  model: z.string().optional().meta({ description: "an export folder (what %export --out wrote) instead of a run", metavar: "DIR" }),
  data: z.string().meta({ description: "rows to predict: a .csv/.jsonl file with the model's feature columns", metavar: "FILE" }),
  out: z.string().meta({ description: "where the predictions go: a .csv or .jsonl file, one row per input row, in order", metavar: "FILE" }),
  drive: z.string().optional().describe("Drive root holding the runs"),
  json: z.boolean().default(false).describe("print the result as JSON"),
});

const wantsJson = new WeakSet<PredictResult>();

registerMagic({
  name: "predict",
  summary: "Predict every row of a data file with a run or an export (label and class probabilities, or the value), written in the input's order.",
  args: predictArgs,
  positionals: [{ name: "run" }],
  examples: ["%predict last --data new.csv --out predictions.csv", "tscolab predict --model exports/iris --data new.jsonl --out predictions.jsonl"],
  async run(args, ctx) {
    const { predict } = await import("../../engine/evaluate/evaluate");
    const result = await predict({ run: runRef(args.run), checkpoint: args.checkpoint, model: args.model, data: args.data, out: args.out, drive: args.drive, cwd: ctx.cwd });
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => predictBundle(result, wantsJson.has(result)),
});
