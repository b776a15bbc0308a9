// %train: placeholder registration until the engine lands (issue 4).
import { z } from "zod";
import { registerMagic } from "../registry";
import { NotAvailableError } from "../types";

export const trainArgs = z.object({
  model: z.any().optional().describe("a notebook variable holding a tf.LayersModel"),
  config: z.string().optional().describe("JSON config file"),
  epochs: z.number().int().positive().optional().describe("epochs to train"),
  batchSize: z.number().int().positive().optional().describe("batch size"),
  lr: z.number().positive().optional().describe("learning rate"),
  seed: z.number().int().optional().describe("random seed"),
  tier: z.enum(["1", "2", "3", "all"]).optional().describe("which tiers to run"),
  preset: z.enum(["fast_dev", "standard", "ablation"]).optional().describe("budget preset"),
  drive: z.string().optional().describe("Drive root"),
  resume: z.string().optional().describe("run id, run folder or 'last'"),
  json: z.boolean().default(false).describe("print the summary as JSON"),
});

registerMagic({
  name: "train",
  summary: "Train a model in tiers (smoke, dev, full) with checkpoints in the Drive folder.",
  args: trainArgs,
  positionals: [{ name: "model" }],
  acceptsBody: true,
  async run() {
    throw new NotAvailableError("%train is not available yet in this build (its engine has not landed)");
  },
});
