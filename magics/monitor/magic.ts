// %monitor / `tscolab monitor`: parses the flags and renders; monitor() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { runRef } from "../run_ref";
import { UsageError } from "../types";
import type { MonitorResult } from "../../engine/monitor/monitor";
import { monitorBundle } from "./render";

// The defaults live in the engine (engine/monitor/monitor.ts); the help states them.
export const monitorArgs = z.object({
  candidate: z.any().optional().describe("the run to check: run id, run folder, 'last', or a %train result"),
  baseline: z.any().optional().describe("a run to compare every metric with (same task and classes)"),
  data: z.string().meta({ description: "new data: a .csv/.jsonl file with the model's feature columns (and its label column, for metrics)", metavar: "FILE" }),
  checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint of each run"),
  maxRegression: z.number().min(0).optional().meta({
    description: "largest tolerated regression vs the baseline: absolute for scores (accuracy, F1, r, R²), relative for errors (MSE, MAE, log loss)",
    defaultText: "0.02",
    metavar: "X",
  }),
  psiWarn: z.number().min(0).optional().meta({ description: "PSI at which a drift warns", defaultText: "0.1" }),
  psiFail: z.number().min(0).optional().meta({ description: "PSI at which a drift fails", defaultText: "0.25" }),
  ksWarn: z.number().min(0).max(1).optional().meta({ description: "KS statistic at which a drift warns", defaultText: "0.1" }),
  ksFail: z.number().min(0).max(1).optional().meta({ description: "KS statistic at which a drift fails", defaultText: "0.2" }),
  alpha: z.number().gt(0).max(1).optional().meta({ description: "a drift counts only when significant at this level", defaultText: "0.05" }),
  out: z.string().optional().meta({ description: "folder for monitor.json and monitor.md (default: <candidate run>/monitor/<time>)", metavar: "DIR" }),
  drive: z.string().optional().describe("Drive root holding the runs"),
  json: z.boolean().default(false).describe("print the result as JSON (for CI)"),
});

const wantsJson = new WeakSet<MonitorResult>();

registerMagic({
  name: "monitor",
  summary: "Check a run on new data: metrics vs a baseline, drift of inputs and outputs (PSI, KS); status ok/warn/fail, JSON and Markdown.",
  args: monitorArgs,
  positionals: [{ name: "candidate" }],
  examples: [
    "%monitor last --data data/this_week.csv --baseline 20261101-093000-iris",
    "tscolab monitor --candidate last --baseline prod --data new.csv --max-regression 0.01 --json   # exit 1 on fail",
    "tscolab monitor --candidate last --data new.csv --psi-fail 0.5 --out monitor-report",
  ],
  async run(args, ctx) {
    const candidate = runRef(args.candidate, "--candidate");
    if (!candidate) throw new UsageError("--candidate: give the run to check (a run id, folder or last)");
    const { monitor } = await import("../../engine/monitor/monitor");
    const thresholds = Object.fromEntries((["psiWarn", "psiFail", "ksWarn", "ksFail", "alpha"] as const).filter((k) => args[k] !== undefined).map((k) => [k, args[k] as number]));
    const result = await monitor({
      candidate,
      baseline: runRef(args.baseline, "--baseline"),
      data: args.data,
      checkpoint: args.checkpoint,
      maxRegression: args.maxRegression,
      thresholds,
      out: args.out,
      drive: args.drive,
      cwd: ctx.cwd,
    });
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => monitorBundle(result, wantsJson.has(result)),
  exitCode: (result) => (result.status === "fail" ? 1 : 0),
  failure: (result) => (result.status === "fail" ? `monitor: fail: ${result.reasons.join("; ")} (report: ${result.report.markdown})` : undefined),
});
