// The two models the training-speed bench measures, built the same way in tfjs here and in
// PyTorch in bench/torch_train_speed.py (same layers, same shapes, same loss).
import type * as tfType from "@tensorflow/tfjs";

type TF = typeof tfType;

export type BenchModelName = "mlp" | "cnn";

export interface BenchModel {
  name: BenchModelName;
  title: string;
  model: tfType.LayersModel;
  /** Loss of a batch, as a scalar tensor. */
  loss(pred: tfType.Tensor, y: tfType.Tensor): tfType.Scalar;
  /** One epoch of synthetic data, already split into batches. */
  batches: { x: tfType.Tensor; y: tfType.Tensor }[];
}

export const MODEL_TITLES: Record<BenchModelName, string> = {
  mlp: "MLP 2056→1024→512→256→1",
  cnn: "CNN 28×28 conv32-pool-conv64-pool-dense128-10",
};

/** Regression MLP, MSE loss. */
export function buildMlp(tf: TF, samples: number, batchSize: number, seed = 1): BenchModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [2056], units: 1024, activation: "relu" }),
      tf.layers.dense({ units: 512, activation: "relu" }),
      tf.layers.dense({ units: 256, activation: "relu" }),
      tf.layers.dense({ units: 1 }),
    ],
  });
  const batches = makeBatches(samples, batchSize, (n) => ({
    x: tf.randomNormal([n, 2056], 0, 1, "float32", seed),
    y: tf.randomNormal([n, 1], 0, 1, "float32", seed + 1),
  }));
  return { name: "mlp", title: MODEL_TITLES.mlp, model, batches, loss: (p, y) => tf.losses.meanSquaredError(y, p) as tfType.Scalar };
}

/** MNIST-shaped classifier, softmax cross-entropy over 10 classes. */
export function buildCnn(tf: TF, samples: number, batchSize: number, seed = 1): BenchModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: "relu" }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const batches = makeBatches(samples, batchSize, (n) => ({
    x: tf.randomUniform([n, 28, 28, 1], 0, 1, "float32", seed),
    y: tf.oneHot(tf.randomUniform([n], 0, 10, "int32", seed + 1), 10),
  }));
  return { name: "cnn", title: MODEL_TITLES.cnn, model, batches, loss: (p, y) => tf.losses.softmaxCrossEntropy(y, p) as tfType.Scalar };
}

function makeBatches(samples: number, batchSize: number, make: (n: number) => { x: tfType.Tensor; y: tfType.Tensor }) {
  const out: { x: tfType.Tensor; y: tfType.Tensor }[] = [];
  for (let start = 0; start < samples; start += batchSize) out.push(make(Math.min(batchSize, samples - start)));
  return out;
}

export function disposeBenchModel(m: BenchModel): void {
  for (const b of m.batches) {
    b.x.dispose();
    b.y.dispose();
  }
  m.model.dispose();
}
