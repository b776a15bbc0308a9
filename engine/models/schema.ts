// The `model` section of a training config: a zoo entry, a file exporting
// createModel, or a model file in a git repository (../git).
import { z } from "zod";
import type { Task } from "../data/schema";

export const ZOO_NAMES = ["mlp", "cnn", "transformer"] as const;

export const modelConfig = z
  .object({
    zoo: z.enum(ZOO_NAMES).optional().describe("a built-in architecture"),
    file: z.string().min(1).optional().describe("a .ts or .js file exporting createModel({ tf, inputShape, outputs, task })"),
    git: z
      .object({ repo: z.string().min(1), rev: z.string().min(1).default("HEAD"), path: z.string().min(1) })
      .strict()
      .optional()
      .describe("a model file in a git repository, at a revision"),
    trust: z.boolean().optional().describe("model files (local or from git): run the code even when the scan finds child processes, eval, network or file writes"),
    hidden: z.array(z.number().int().positive()).min(0).optional().describe("mlp: units of each hidden layer (default [64, 32])"),
    dropout: z.number().min(0).lt(1).optional().describe("dropout rate after each hidden block (default 0)"),
    batchNorm: z.boolean().optional().describe("batch normalisation in each hidden block (default false)"),
    activation: z.enum(["relu", "tanh", "elu", "selu", "sigmoid"]).optional().describe("hidden activation (default relu)"),
    filters: z.array(z.number().int().positive()).min(1).optional().describe("cnn: filters of each conv block (default [16, 32])"),
    kernelSize: z.number().int().positive().optional().describe("cnn: convolution kernel size (default 3)"),
    dense: z.number().int().nonnegative().optional().describe("cnn: units of the dense layer before the output (default 64, 0 for none)"),
    layers: z.number().int().positive().optional().describe("transformer: blocks (default 2)"),
    heads: z.number().int().positive().optional().describe("transformer: attention heads (default 4)"),
    dModel: z.number().int().positive().optional().describe("transformer: width of the model (default 64)"),
    seqLen: z.number().int().min(2).optional().describe("transformer: tokens per window (default 64)"),
  })
  .strict()
  .refine((m) => [m.zoo, m.file, m.git].filter((v) => v !== undefined).length <= 1, {
    message: 'give exactly one of "zoo", "file" or "git"',
  });

export type ModelConfig = z.infer<typeof modelConfig>;

/** What a model factory receives (the kernel's own tf, so there is one tfjs instance). */
export interface ModelFactoryArgs<TF = unknown> {
  tf: TF;
  inputShape: number[];
  outputs: number;
  task: Task;
  /** Text tasks: the tokenizer's vocabulary size. */
  vocabSize?: number;
}
