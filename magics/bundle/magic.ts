// %bundle / `tscolab bundle RUN --out FILE.zip`: parses the flags and renders; bundleRun() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import { runRef } from "../run_ref";
import type { BundleResult } from "../../engine/bundle/bundle";
import { bundleBundle } from "./render";

export const bundleArgs = z.object({
  run: z.any().describe("run id, run folder, 'last', or a notebook variable holding a %train result"),
  out: z.string().meta({ description: "the zip to write (config, environment, data sha256, metrics, plots, model, package-lock hash)", metavar: "FILE.zip" }),
  drive: z.string().optional().describe("Drive root holding the runs"),
  json: z.boolean().default(false).describe("print the result as JSON"),
});

const wantsJson = new WeakSet<BundleResult>();

registerMagic({
  name: "bundle",
  summary: "Zip a run for reproduction: config, environment, data fingerprints, metrics, plots, model, package-lock hash.",
  resultType: { name: "BundleResult", module: "engine/bundle/bundle" },
  args: bundleArgs,
  positionals: [{ name: "run" }],
  examples: ["%bundle last --out iris.zip", "tscolab bundle 20261130-101500-iris --out iris.zip && tscolab reproduce iris.zip"],
  async run(args, ctx) {
    const { bundleRun } = await import("../../engine/bundle/bundle");
    const result = await bundleRun({ run: runRef(args.run) ?? "", out: args.out, drive: args.drive, cwd: ctx.cwd });
    if (args.json) wantsJson.add(result);
    return result;
  },
  render: (result) => bundleBundle(result, wantsJson.has(result)),
});
