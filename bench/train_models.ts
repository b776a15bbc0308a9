// The three models the training-speed bench (and the step profiler) measure, built the
// same way in tfjs here and in PyTorch in bench/torch_train_speed.py (same layers, same
// shapes, same loss; the transformer's twin is bench/torch_lm_speed.py's build_lm).
import type * as tfType from "@tensorflow/tfjs";
import type { LoadedDataset } from "../engine/data/dataset";
import { transformer } from "../engine/models/transformer/model";
import { languageModelObjective } from "../engine/text/lm_objective";
import type { Objective } from "../engine/train/objective";
import { Rng, withSeededMathRandom } from "../engine/util/rng";

type TF = typeof tfType;

export const BENCH_MODEL_NAMES = ["mlp", "cnn", "transformer"] as const;
export type BenchModelName = (typeof BENCH_MODEL_NAMES)[number];

export interface BenchModel {
  name: BenchModelName;
  title: string;
  model: tfType.LayersModel;
  /** Loss of a batch, as a scalar tensor. */
  loss(pred: tfType.Tensor, y: tfType.Tensor): tfType.Scalar;
  /** One epoch of synthetic data, already split into batches. */
  batches: { x: tfType.Tensor; y: tfType.Tensor }[];
  /** Tokens in one sample: the sequence length for the language model, 1 otherwise. */
  tokensPerSample: number;
  /**
   * The language model's training rows and objective, so tscolab's column trains it
   * through engine/train/trainer.ts's step as `%train` does (bench/tfjs_epoch.ts).
   */
  lm?: { data: LoadedDataset; objective: Objective; batchSize: number };
}

/** The language model the bench trains: the zoo transformer at dModel 256, the built-in corpus' 73 characters. */
export const LM_SHAPE = { vocab: 73, seqLen: 64, dModel: 256, layers: 2, heads: 4 } as const;

export const MODEL_TITLES: Record<BenchModelName, string> = {
  mlp: "MLP 2056→1024→512→256→1",
  cnn: "CNN 28×28 conv32-pool-conv64-pool-dense128-10",
  transformer: `Transformer LM ${LM_SHAPE.layers}×(d${LM_SHAPE.dModel}, ${LM_SHAPE.heads} heads, GELU MLP ${4 * LM_SHAPE.dModel}), causal, T${LM_SHAPE.seqLen}, vocab ${LM_SHAPE.vocab}`,
};

export const TOKENS_PER_SAMPLE: Record<BenchModelName, number> = { mlp: 1, cnn: 1, transformer: LM_SHAPE.seqLen };

/**
 * Floating-point operations of one training step per sample, counted analytically from
 * the matmuls and convolutions alone (bias adds, activations, norms, softmax, gathers and
 * the optimizer are left out: they are a few percent of the work). A layer multiplying an
 * [m, k] input by a [k, n] weight costs 2·m·k·n forward; training costs 3× that (forward,
 * the input gradient, the weight gradient), except 2× for a layer whose input is the data:
 * neither tfjs nor PyTorch computes a gradient for an input nothing trainable feeds.
 *   MLP:  2·2·2056·1024 + 3·2·(1024·512 + 512·256 + 256·1)
 *   CNN:  2·2·26·26·32·(3·3·1) + 3·2·(11·11·64·(3·3·32) + 1600·128 + 128·10)
 *         (a conv costs 2 · output positions · filters · kernel area · input channels)
 *   Transformer LM, T tokens, width d, L blocks, vocabulary V, per sequence (the first
 *   matmul's input comes from the trainable embeddings, so everything counts 3×):
 *         3 · [ L · (2·T·12·d²  +  4·T²·d)  +  2·T·d·V ]
 *         12·d² = the qkv (3d²), attention output (d²) and MLP (4d² + 4d²) weights;
 *         4·T²·d = scores q·kᵀ and their product with v over all heads, computed in
 *         full (neither side skips the masked half); 2·T·d·V = the tied output head.
 */
export function trainFlopsPerSample(name: BenchModelName): number {
  if (name === "mlp") return 2 * 2 * 2056 * 1024 + 3 * 2 * (1024 * 512 + 512 * 256 + 256 * 1);
  if (name === "cnn") return 2 * 2 * 26 * 26 * 32 * (3 * 3 * 1) + 3 * 2 * (11 * 11 * 64 * (3 * 3 * 32) + 1600 * 128 + 128 * 10);
  const { seqLen: T, dModel: d, layers: L, vocab: V } = LM_SHAPE;
  return 3 * (L * (2 * T * 12 * d * d + 4 * T * T * d) + 2 * T * d * V);
}

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
  return { name: "mlp", title: MODEL_TITLES.mlp, model, batches, tokensPerSample: 1, loss: (p, y) => tf.losses.meanSquaredError(y, p) as tfType.Scalar };
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
  return { name: "cnn", title: MODEL_TITLES.cnn, model, batches, tokensPerSample: 1, loss: (p, y) => tf.losses.softmaxCrossEntropy(y, p) as tfType.Scalar };
}

/**
 * The zoo transformer as `%train` builds it for language modeling (bench/lm_speed.ts'
 * setup at LM_SHAPE), random token windows, the LM objective's loss (mean next-token
 * cross-entropy).
 */
export function buildTransformer(tf: TF, samples: number, batchSize: number, seed = 1): BenchModel {
  const { vocab, seqLen, dModel, layers, heads } = LM_SHAPE;
  const rng = Rng.create(seed, "bench");
  const ids = () => Float32Array.from({ length: samples * seqLen }, () => rng.nextInt(vocab));
  const train = { x: ids(), y: ids(), n: samples };
  const data = {
    info: { task: "language-modeling", inputShape: [seqLen] },
    outputs: vocab,
    train,
    valid: { x: new Float32Array(0), y: new Float32Array(0), n: 0 },
  } as unknown as LoadedDataset;
  const model = withSeededMathRandom(Rng.create(seed, "init"), () =>
    transformer(tf, { layers, heads, dModel, seqLen }, { tf, inputShape: [seqLen], outputs: vocab, task: "language-modeling", vocabSize: vocab }),
  );
  const objective = languageModelObjective(seqLen, vocab);
  const window = (a: Float32Array, start: number, n: number) => tf.tensor2d(Int32Array.from(a.subarray(start * seqLen, (start + n) * seqLen)), [n, seqLen], "int32");
  const batches = makeBatches(samples, batchSize, (n, start) => ({ x: window(train.x, start, n), y: window(train.y, start, n) }));
  return {
    name: "transformer",
    title: MODEL_TITLES.transformer,
    model,
    batches,
    tokensPerSample: seqLen,
    loss: (p, y) => objective.loss(tf, p, y),
    lm: { data, objective, batchSize },
  };
}

export const BUILDERS: Record<BenchModelName, (tf: TF, samples: number, batchSize: number, seed?: number) => BenchModel> = {
  mlp: buildMlp,
  cnn: buildCnn,
  transformer: buildTransformer,
};

function makeBatches(samples: number, batchSize: number, make: (n: number, start: number) => { x: tfType.Tensor; y: tfType.Tensor }) {
  const out: { x: tfType.Tensor; y: tfType.Tensor }[] = [];
  for (let start = 0; start < samples; start += batchSize) out.push(make(Math.min(batchSize, samples - start), start));
  return out;
}

export function disposeBenchModel(m: BenchModel): void {
  for (const b of m.batches) {
    b.x.dispose();
    b.y.dispose();
  }
  m.model.dispose();
}
