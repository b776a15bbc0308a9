// What a text model's export carries besides the model, in each format's
// folder: tokenizer.json (the run's own tokenizer), text.json (task, window
// length, vocabulary, padding id) and, for the tfjs formats of a model with
// tscolab's transformer layers, tscolab_layers.js: the one small module that
// registers those layers with a stock tfjs before tf.loadLayersModel.
import { promises as fs } from "node:fs";
import path from "node:path";
import type * as tfType from "@tensorflow/tfjs";
import { check, type HealthCheck } from "../export/health";
import type { ModelSource } from "../export/source";
import { defineTransformerLayers, LAYER_CLASS_NAMES } from "../models/transformer/layers";
import { readRunTokenizer } from "./dataset";
import { TOKENIZER_FILE } from "./tokenizer";

export const LOADER_FILE = "tscolab_layers.js";
export const TEXT_META_FILE = "text.json";

/** The loader module's source: defineTransformerLayers itself, wrapped for CommonJS and browsers. */
export function loaderSource(): string {
  return [
    "// Registers tscolab's transformer layers (" + LAYER_CLASS_NAMES.join(", ") + ") with TensorFlow.js,",
    "// so that a stock tf.loadLayersModel reads the model.json beside this file.",
    '//   Node:    const tf = require("@tensorflow/tfjs"); require("./' + LOADER_FILE + '")(tf);',
    '//   Browser: <script src="' + LOADER_FILE + '"></script> after tfjs registers them with the global tf.',
    "(function (root, register) {",
    '  if (typeof module === "object" && module.exports) module.exports = register;',
    "  else if (root && root.tf) register(root.tf);",
    '})(typeof self !== "undefined" ? self : this, function registerTscolabLayers(tf) {',
    "  return (" + defineTransformerLayers.toString() + ")(tf);",
    "});",
    "",
  ].join("\n");
}

const usesTranformerLayers = (model: tfType.LayersModel) => model.layers.some((l) => (LAYER_CLASS_NAMES as readonly string[]).includes(l.getClassName()));

export async function writeTextExportFiles(formatDir: string, format: string, source: ModelSource): Promise<HealthCheck[]> {
  const checks: HealthCheck[] = [];
  const task = source.dataset?.task;
  const isText = task === "language-modeling" || task === "text-classification";
  const custom = usesTranformerLayers(source.model);
  if (!isText && !custom) return checks;
  try {
    await fs.access(formatDir);
  } catch {
    return checks; // the format failed before writing its folder; its own checks say why
  }
  if (custom && format !== "onnx") {
    const text = loaderSource();
    await fs.writeFile(path.join(formatDir, LOADER_FILE), text);
    checks.push(
      check(`${format}.loader`, "passed", `${LOADER_FILE} (${text.length} bytes) beside model.json registers the custom layers for a stock tf.loadLayersModel`, {
        layers: [...LAYER_CLASS_NAMES],
      }),
    );
  }
  if (!isText) return checks;
  const tokenizer = source.runDir ? await readRunTokenizer(source.runDir) : undefined;
  if (!tokenizer) {
    checks.push(
      check(`${format}.tokenizer`, "warning", `no tokenizer to ship: ${source.runDir ? `${source.runDir} has no ${TOKENIZER_FILE}` : "export from the run (--run) to carry it"}`),
    );
    return checks;
  }
  const seqLen = source.model.inputs[0]?.shape[1] ?? null;
  const meta = { task, seqLen, vocabSize: tokenizer.vocabSize, tokenizer: tokenizer.type, padId: tokenizer.padId, labels: source.dataset?.labels ?? null };
  await fs.writeFile(path.join(formatDir, TOKENIZER_FILE), JSON.stringify(tokenizer.toJSON()));
  await fs.writeFile(path.join(formatDir, TEXT_META_FILE), JSON.stringify(meta, null, 2));
  checks.push(check(`${format}.tokenizer`, "passed", `${TOKENIZER_FILE} (${tokenizer.type}, ${tokenizer.vocabSize} tokens) and ${TEXT_META_FILE} beside the model`, meta));
  return checks;
}
