// %compare / `tscolab compare RUN RUN...`: compareRuns() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { UsageError } from "../types";
import type { CompareResult } from "../../engine/experiments/compare";
import { compareBundle } from "./render";

export const compareArgs = z.object({
  runs: z
    .array(z.any())
    .default([])
    .describe("two or more runs: run ids (or a unique part of one), run folders, last, or notebook variables holding %train / %sweep results or %runs rows"),
  drive: z.string().optional().describe("Drive root holding the runs"),
  out: z.string().optional().describe("also write the learning curves to this .svg file"),
  json: z.boolean().default(false).describe("print the comparison as JSON"),
});

/** Run references from words or notebook values: a string, a %train result / %runs row ({ runDir } or { runId }), a list of them, a %runs result. */
export function runRefs(values: unknown[]): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === "object") {
      const o = v as { runDir?: unknown; runId?: unknown; runs?: unknown; trials?: unknown };
      if (typeof o.runDir === "string") out.push(o.runDir);
      else if (typeof o.runId === "string") out.push(o.runId);
      else if (Array.isArray(o.runs)) o.runs.forEach(add);
      else if (Array.isArray(o.trials)) (o.trials as { runId?: unknown }[]).filter((t) => typeof t.runId === "string").forEach(add);
      else throw new UsageError("<runs>: a notebook value to compare must be a run id, a %train result, a %runs row or a list of them");
    } else throw new UsageError(`<runs>: expected run ids, got ${v === null ? "null" : typeof v}`);
  };
  values.forEach(add);
  return out;
}

registerMagic({
  name: "compare",
  summary: "Compare runs: config keys that differ, final and best metrics with deltas, learning curves overlaid.",
  args: compareArgs,
  positionals: [{ name: "runs", rest: true }],
  examples: [
    "%compare 20261130-101500-iris-t00 20261130-101502-iris-t01",
    "%compare {sw.trials[0].runId} {sw.best.runId} --out curves.svg",
    "tscolab compare RUN_A RUN_B --json --out curves.svg",
  ],
  async run(args, ctx): Promise<CompareResult> {
    const { compareRuns } = await import("../../engine/experiments/compare");
    return compareRuns(runRefs(args.runs), { drive: args.drive, cwd: ctx.cwd, out: args.out });
  },
  render: compareBundle,
});
