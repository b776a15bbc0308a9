// The `data` section of a training config, one zod schema (the API, %train's
// flags and the CLI all read it).
import { z } from "zod";
import { foldSelection } from "../folds/assign";
import { IMAGE_DATA_KEYS, imageInfo } from "./images/schema";

export const BUILTIN_DATASETS = ["iris", "mnist", "genesis"] as const;

export const builtinSource = z
  .object({
    builtin: z.enum(BUILTIN_DATASETS).describe("data shipped inside an npm package"),
    limit: z.number().int().positive().optional().describe("use only the first N examples (balanced across classes)"),
  })
  .strict();

export const dataSource = z.union([z.string().min(1).describe("a .csv (header row) or .jsonl path, or a folder with one subfolder of PNG/JPEG images per class"), builtinSource]);

export const dataConfig = z
  .object({
    train: dataSource,
    valid: dataSource.optional(),
    features: z
      .union([z.array(z.string().min(1)).min(1), z.string().min(1)])
      .optional()
      .describe("feature columns, or one column holding an array; default: every column but the label"),
    label: z.string().min(1).optional().describe("label column; default: label, y, target or class, else the last column"),
    text: z.string().min(1).optional().describe("text tasks: the column holding the text"),
    validationSplit: z.number().min(0).max(0.9).default(0.2).describe("fraction of training rows held out (seeded) when valid is absent"),
    normalize: z.boolean().default(true).describe("standardise features with mean/std of the training split"),
    ...IMAGE_DATA_KEYS,
    fold: foldSelection.optional(),
  })
  .strict();

export type DataSource = z.infer<typeof dataSource>;
export type DataConfig = z.infer<typeof dataConfig>;
export type DataConfigInput = z.input<typeof dataConfig>;

export const taskName = z.enum(["classification", "regression", "language-modeling", "text-classification"]);
export type Task = z.infer<typeof taskName>;

/** What run.json's `dataset` section holds; E reads it to export and serve the model. */
export const datasetInfo = z.object({
  task: taskName,
  features: z.array(z.string()),
  label: z.string(),
  labels: z.array(z.string()).nullable(),
  normalization: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }).nullable(),
  inputShape: z.array(z.number().int().positive()),
  trainExamples: z.number().int().nonnegative(),
  validExamples: z.number().int().nonnegative(),
  source: z.object({ train: z.string(), valid: z.string().nullable() }),
  /** Image folders: how files became input (size, channels, scale). */
  image: imageInfo.optional(),
  /** Text tasks: the tokenizer and the token counts (engine/text). */
  text: z.record(z.string(), z.unknown()).optional(),
});
export type DatasetInfo = z.infer<typeof datasetInfo>;
