// Built-in architectures. Classification heads end in softmax (probabilities,
// as Keras users expect and as export compares), regression heads are linear.
// Dropout layers are stock tf.layers.dropout: the training step draws their
// masks from its own seeded stream (withSeededMathRandom in ../util/rng.ts),
// so saved models stay loadable by stock tfjs.
import type * as tfType from "@tensorflow/tfjs";
import { TscolabError } from "../errors";
import type { ModelConfig, ModelFactoryArgs } from "./schema";
import { transformer } from "./transformer/model";

type TF = typeof tfType;

function head(tf: TF, model: tfType.Sequential, args: ModelFactoryArgs<TF>): void {
  model.add(tf.layers.dense({ units: args.outputs, activation: args.task === "classification" ? "softmax" : "linear", name: "output" }));
}

function hiddenBlock(tf: TF, model: tfType.Sequential, units: number, index: number, cfg: ModelConfig, first: { inputShape?: number[] }): void {
  const batchNorm = cfg.batchNorm ?? false;
  model.add(tf.layers.dense({ units, useBias: !batchNorm, name: `dense_${index}`, ...first }));
  if (batchNorm) model.add(tf.layers.batchNormalization({ name: `batch_norm_${index}` }));
  model.add(tf.layers.activation({ activation: cfg.activation ?? "relu", name: `act_${index}` }));
  if ((cfg.dropout ?? 0) > 0) model.add(tf.layers.dropout({ rate: cfg.dropout!, name: `dropout_${index}` }));
}

export function mlp(tf: TF, cfg: ModelConfig, args: ModelFactoryArgs<TF>): tfType.LayersModel {
  const model = tf.sequential({ name: "mlp" });
  let first: { inputShape?: number[] } = { inputShape: args.inputShape };
  if (args.inputShape.length > 1) {
    model.add(tf.layers.flatten({ inputShape: args.inputShape, name: "flatten" }));
    first = {};
  }
  const hidden = cfg.hidden ?? [64, 32];
  if (hidden.length === 0 && first.inputShape) {
    model.add(tf.layers.dense({ units: args.outputs, activation: args.task === "classification" ? "softmax" : "linear", name: "output", inputShape: args.inputShape }));
    return model;
  }
  hidden.forEach((units, i) => {
    hiddenBlock(tf, model, units, i + 1, cfg, first);
    first = {};
  });
  head(tf, model, args);
  return model;
}

export function cnn(tf: TF, cfg: ModelConfig, args: ModelFactoryArgs<TF>): tfType.LayersModel {
  if (args.inputShape.length !== 3) {
    throw new TscolabError(
      `model zoo "cnn" needs image-shaped input [height, width, channels]; this data has shape [${args.inputShape.join(", ")}]`,
      'use "zoo": "mlp", or give an array column holding images',
    );
  }
  const model = tf.sequential({ name: "cnn" });
  const batchNorm = cfg.batchNorm ?? false;
  (cfg.filters ?? [16, 32]).forEach((filters, i) => {
    const k = i + 1;
    model.add(
      tf.layers.conv2d({ filters, kernelSize: cfg.kernelSize ?? 3, padding: "same", useBias: !batchNorm, name: `conv_${k}`, ...(i === 0 ? { inputShape: args.inputShape } : {}) }),
    );
    if (batchNorm) model.add(tf.layers.batchNormalization({ name: `batch_norm_${k}` }));
    model.add(tf.layers.activation({ activation: cfg.activation ?? "relu", name: `act_${k}` }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, name: `pool_${k}` }));
  });
  model.add(tf.layers.flatten({ name: "flatten" }));
  const dense = cfg.dense ?? 64;
  if (dense > 0) {
    model.add(tf.layers.dense({ units: dense, activation: cfg.activation ?? "relu", name: "dense" }));
    if ((cfg.dropout ?? 0) > 0) model.add(tf.layers.dropout({ rate: cfg.dropout!, name: "dropout" }));
  }
  head(tf, model, args);
  return model;
}

export const ZOO = { mlp, cnn, transformer } as const;
