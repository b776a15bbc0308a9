// %verify_env: placeholder registration until the engine lands (issue 3).
import { z } from "zod";
import { registerMagic } from "../registry";
import { NotAvailableError } from "../types";

export const verifyEnvArgs = z.object({
  json: z.boolean().default(false).describe("print the report as one JSON object"),
  drive: z.string().optional().describe("Drive root whose free disk is checked"),
});

registerMagic({
  name: "verify_env",
  summary: "Check the environment without installing anything: versions, backends, GPU, resources, profile.",
  args: verifyEnvArgs,
  async run() {
    throw new NotAvailableError("%verify_env is not available yet in this build (its engine has not landed)");
  },
});
