// %evaluate / `tscolab evaluate`: parses the flags and renders; evaluate() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { runRef } from "../run_ref";
import type { EvaluateResult } from "../../engine/evaluate/evaluate";
import { evaluateBundle } from "./render";

export const evaluateArgs = z.object({
  run: z.any().optional().describe("run id, run folder, 'last', or a notebook variable holding a %train result"),
  checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint of the run"),
  model: z.string().optional().meta({ description: "an export folder (what %export --out wrote) instead of a run", metavar: "DIR" }),
  data: z.string().meta({ description: "test data: a .csv/.jsonl file with the model's feature columns and its label column (or a builtin)", metavar: "FILE" }),
  drive: z.string().optional().describe("Drive root holding the runs"),
  json: z.boolean().default(false).describe("print the result as JSON"),
});

const wantsJson = new WeakSet<EvaluateResult>();

registerMagic({
  name: "evaluate",
  summary: "Score a run or an export on a labelled data file: accuracy, per-class precision/recall/F1, confusion matrix; or MSE, MAE, r, R².",
  args: evaluateArgs,
  positionals: [{ name: "run" }],
  examples: ["%evaluate last --data data/test.csv", "%evaluate run --data data/test.csv --as scores", "tscolab evaluate --model exports/iris --data test.csv --json"],
  async run(args, ctx) {
    const { evaluate } = await import("../../engine/evaluate/evaluate");
    const result = await evaluate({ run: runRef(args.run), checkpoint: args.checkpoint, model: args.model, data: args.data, drive: args.drive, cwd: ctx.cwd });
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => evaluateBundle(result, wantsJson.has(result)),
});
