// %verify_env and `tscolab verify-env`: parse (the schema below is both the
// magic's and the CLI's flags), call the engine, render.
import { z } from "zod";
import { registerMagic } from "../registry";
import type { DisplayHandle, MimeBundle } from "../types";
import { renderReport } from "./render";
import type { VerifyEnvReport } from "../../engine/env/report";

export const verifyEnvArgs = z.object({
  json: z.boolean().default(false).describe("print the report as one JSON object"),
  drive: z
    .string()
    .optional()
    .meta({ description: "Drive root whose free disk is checked", complete: { dirs: true } }),
});

// Reports for which --json was asked. Kept outside the report, so the value
// bound with --as is exactly the engine's report.
const asJson = new WeakSet<VerifyEnvReport>();

registerMagic({
  name: "verify_env",
  summary: "Check the environment without installing anything: versions, backends, GPU, resources, profile.",
  args: verifyEnvArgs,
  examples: [
    "%verify_env",
    "%verify_env --json --as env        # the report as a value: env.backend.selected, env.profile.name",
    "%verify_env --drive /content/drive/MyDrive",
    "tscolab verify-env --json          # exit 0 for ok/warn, 1 for fail",
    "TSCOLAB_BACKEND=wasm tscolab verify-env        # check the backend you will force",
    "TSCOLAB_PROBE_TIMEOUT=300 tscolab verify-env   # give a first GPU start (PTX JIT) more time",
  ],
  resultType: { name: "VerifyEnvReport", module: "engine/env/report" },
  async run(args, ctx) {
    // Native probes can take seconds (up to their timeout when a binding
    // hangs): past one second, say what is going on, in place.
    let progress: DisplayHandle | undefined;
    const slow = ctx.rich ? setTimeout(() => (progress = ctx.display({ "text/plain": "verify_env: probing backends in child processes, GPU and resources…" })), 1_000) : undefined;
    try {
      // Loaded on first use: the engine pulls in tfjs, which registering the
      // magic (at kernel or CLI start) should not pay for.
      const { verifyEnv } = await import("../../engine/env/verify_env");
      const report = await verifyEnv({ drive: args.drive, cwd: ctx.cwd, signal: ctx.signal });
      if (args.json) asJson.add(report);
      return report;
    } finally {
      clearTimeout(slow);
      progress?.update({ "text/plain": "", "text/html": "" });
    }
  },
  render(report): MimeBundle {
    return renderReport(report, asJson.has(report));
  },
  exitCode(report) {
    return report.status === "fail" ? 1 : 0;
  },
  // As the CLI exits 1, a failing check stops a notebook's run-all here (after the report is shown).
  failure(report) {
    const failed = report.checks.filter((c) => c.status === "fail");
    return failed.length ? failed.map((c) => `${c.id}: ${c.message}${c.fix ? ` (fix: ${c.fix})` : ""}`).join("; ") : undefined;
  },
});
