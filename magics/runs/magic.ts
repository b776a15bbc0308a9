// %runs / `tscolab runs`: every run under the Drive root in one table; listRuns() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import type { RunsList } from "../../engine/experiments/runs_index";
import { runsBundle } from "./render";

/** A repeatable flag whose values may hold commas (`--where a=1 --where b>2`): one word is one value. */
export const repeatable = (what: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe(what);
export const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : typeof v === "string" ? [v] : v);

export const runsArgs = z.object({
  drive: z.string().optional().describe("Drive root holding the runs (default: the mounted one, $TSCOLAB_DRIVE, ./drive)"),
  where: repeatable("KEY OP VALUE on a dotted key, OP one of = != > >= < <= (e.g. metrics.val_accuracy>0.9, status=completed); repeat to AND"),
  sort: z.string().optional().describe("dotted key to sort by; -KEY sorts descending (e.g. -metrics.val_accuracy); default: newest first"),
  limit: z.number().int().min(0).optional().describe("show at most N runs"),
  json: z.boolean().default(false).describe("print the list as JSON"),
});

registerMagic({
  name: "runs",
  summary: "List every run under the Drive root in one table: filter, sort, best metrics marked.",
  args: runsArgs,
  examples: [
    "%runs",
    "%runs --where status=completed --where metrics.val_accuracy>0.9 --sort -metrics.val_accuracy --limit 10",
    "%runs --where sweepId=20261130-101500-iris-sweep --as trials",
    "tscolab runs --drive ./drive --sort -metrics.val_accuracy --json",
  ],
  async run(args, ctx): Promise<RunsList> {
    const { listRuns } = await import("../../engine/experiments/runs_index");
    return listRuns({ drive: args.drive, cwd: ctx.cwd, where: asList(args.where), sort: args.sort, limit: args.limit });
  },
  render: runsBundle,
});
