// %export: placeholder registration until the engine lands (issue 6).
import { z } from "zod";
import { registerMagic } from "../registry";
import { NotAvailableError } from "../types";

export const exportArgs = z.object({
  model: z.any().optional().describe("a notebook variable holding a tf.LayersModel"),
  run: z.string().optional().describe("run id, run folder or 'last'"),
  checkpoint: z.enum(["best", "last"]).default("best").describe("which checkpoint to export"),
  formats: z.array(z.enum(["tfjs", "tfjs-float16", "tfjs-uint8", "onnx"])).default(["tfjs"]).describe("formats to write"),
  out: z.string().optional().describe("output folder"),
  json: z.boolean().default(false).describe("print the report as JSON"),
});

registerMagic({
  name: "export",
  summary: "Export a trained model (tfjs, float16, uint8, onnx) and prove each artifact loads and agrees.",
  args: exportArgs,
  positionals: [{ name: "model" }],
  async run() {
    throw new NotAvailableError("%export is not available yet in this build (its engine has not landed)");
  },
});
