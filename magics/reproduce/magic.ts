// %reproduce / `tscolab reproduce FILE.zip`: parses the flags and renders; reproduce() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import type { ReproduceResult } from "../../engine/bundle/reproduce";
import { reproduceBundle } from "./render";

export const reproduceArgs = z.object({
  bundle: z.string().meta({ description: "a zip written by tscolab bundle", metavar: "FILE.zip" }),
  dataDir: z.string().optional().meta({ description: "folder holding the data files (by name), when they moved since the run", metavar: "DIR" }),
  drive: z.string().optional().meta({ description: "Drive root for the reproduced run (default: a fresh temporary folder)", metavar: "DIR" }),
  json: z.boolean().default(false).describe("print the result as JSON"),
});

const wantsJson = new WeakSet<ReproduceResult>();

registerMagic({
  name: "reproduce",
  summary: "Re-run a bundled run on its fingerprinted data: identical (final weights bit for bit) or the first step where the weights diverged.",
  resultType: { name: "ReproduceResult", module: "engine/bundle/reproduce" },
  args: reproduceArgs,
  positionals: [{ name: "bundle" }],
  examples: ["tscolab reproduce iris.zip", "tscolab reproduce iris.zip --data-dir data/ --json   # exit 1 when it diverges"],
  async run(args, ctx) {
    const { reproduce } = await import("../../engine/bundle/reproduce");
    const result = await reproduce({ bundle: args.bundle, dataDir: args.dataDir, drive: args.drive, cwd: ctx.cwd, signal: ctx.signal });
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => reproduceBundle(result, wantsJson.has(result)),
  exitCode: (result) => (result.status === "identical" ? 0 : 1),
  failure: (result) =>
    result.status === "identical"
      ? undefined
      : `reproduce: diverged${result.firstDivergence ? ` at step ${result.firstDivergence.step} (epoch ${result.firstDivergence.epoch})` : ""}`,
});
