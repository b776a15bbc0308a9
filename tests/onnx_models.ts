// Models the ONNX tests convert: an MLP, CNNs, a functional model and the zoo's
// models, plus coverage of every supported layer family. Weights (and BatchNorm's moving statistics)
// are set to seeded random values so no parameter is a trivial 0 or 1.
import * as tf from "@tensorflow/tfjs";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomizeWeights(model: tf.LayersModel, seed = 1): void {
  const rand = mulberry32(seed);
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      const shape = w.read().shape; // a weight's shape is concrete, unlike LayerVariable.shape's (number | null)[]
      const n = shape.reduce((a, b) => a * b, 1);
      const variance = w.originalName.endsWith("moving_variance");
      const data = Float32Array.from({ length: n }, () => (variance ? 0.5 + rand() : (rand() - 0.5) * 0.8));
      return tf.tensor(data, shape);
    });
    if (values.length) layer.setWeights(values);
  }
}

type DenseActivation = NonNullable<Parameters<typeof tf.layers.dense>[0]["activation"]>;

export interface Case {
  name: string;
  model: tf.LayersModel;
  /** One input batch per model input. */
  inputs: (batch: number) => tf.Tensor[];
}

function randomInput(shape: number[], seed: number): tf.Tensor {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rand() * 4 - 2),
    shape,
  );
}

function randomIds(shape: number[], vocab: number, seed: number, dtype: "float32" | "int32"): tf.Tensor {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, () => Math.floor(rand() * vocab)),
    shape,
    dtype,
  );
}

export function mlp(): Case {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [10], units: 32, activation: "relu" }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 16, activation: "tanh" }),
      tf.layers.dense({ units: 4, activation: "softmax" }),
    ],
  });
  randomizeWeights(model, 11);
  return { name: "mlp", model, inputs: (b) => [randomInput([b, 10], 101)] };
}

export function cnn(): Case {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [14, 14, 3], filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 12, kernelSize: [3, 2], strides: 2, padding: "valid" }),
      tf.layers.batchNormalization({ center: false }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: "same" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: "softmax" }),
    ],
  });
  randomizeWeights(model, 12);
  return { name: "cnn", model, inputs: (b) => [randomInput([b, 14, 14, 3], 102)] };
}

/** Global pooling, depthwise and separable convs, dilation, elu. */
export function cnnGlobal(): Case {
  const model = tf.sequential({
    layers: [
      tf.layers.rescaling({ inputShape: [11, 9, 2], scale: 1 / 255, offset: -0.5 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: "same", activation: "elu" }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same", activation: "relu6" }),
      tf.layers.separableConv2d({ filters: 7, kernelSize: 3, strides: 2, padding: "same", activation: "swish" }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: "same" }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 3, activation: "sigmoid" }),
    ],
  });
  randomizeWeights(model, 13);
  return { name: "cnn_global", model, inputs: (b) => [randomInput([b, 11, 9, 2], 103)] };
}

/** Embedding + LayerNormalization + residual Add + Concatenate, two inputs. */
export function functional(): Case {
  const ids = tf.input({ shape: [6], name: "token_ids" });
  const feats = tf.input({ shape: [5], name: "features" });
  let h = tf.layers.embedding({ inputDim: 20, outputDim: 8 }).apply(ids) as tf.SymbolicTensor;
  h = tf.layers.layerNormalization().apply(h) as tf.SymbolicTensor;
  const ff = tf.layers.dense({ units: 8, activation: "gelu" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.add().apply([h, ff]) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor; // channels on axis 2: folded Mul/Add
  const pooled = tf.layers.globalAveragePooling1d({}).apply(h) as tf.SymbolicTensor;
  const f = tf.layers.dense({ units: 8, activation: "elu" }).apply(feats) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate().apply([pooled, f]) as tf.SymbolicTensor;
  const ln = tf.layers.layerNormalization({ center: false }).apply(joined) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: "softmax", name: "probs" }).apply(ln) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [ids, feats], outputs: out });
  randomizeWeights(model, 14);
  return { name: "functional", model, inputs: (b) => [randomIds([b, 6], 20, 104, "float32"), randomInput([b, 5], 105)] };
}

/** Every activation by name, Conv1D/pools 1-D, Permute, Reshape, merges, nested model. */
export function zoo(): Case {
  const x = tf.input({ shape: [8, 4], name: "sequence" });
  let c = tf.layers.conv1d({ filters: 6, kernelSize: 3, padding: "same", dilationRate: 2, activation: "mish" }).apply(x) as tf.SymbolicTensor;
  c = tf.layers.maxPooling1d({ poolSize: 2 }).apply(c) as tf.SymbolicTensor;
  c = tf.layers.averagePooling1d({ poolSize: 2, strides: 1, padding: "same" }).apply(c) as tf.SymbolicTensor;
  const p = tf.layers.permute({ dims: [2, 1] }).apply(c) as tf.SymbolicTensor; // [6, 4]
  // Both the permuted tensor and the original need Keras order: one name, two layouts.
  const r = tf.layers
    .add()
    .apply([tf.layers.reshape({ targetShape: [24] }).apply(p) as tf.SymbolicTensor, tf.layers.reshape({ targetShape: [24] }).apply(c) as tf.SymbolicTensor]) as tf.SymbolicTensor;
  const g = tf.layers.globalMaxPooling1d({}).apply(c) as tf.SymbolicTensor;
  const acts = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "hardSigmoid",
    "gelu",
    "gelu_new",
    "logSoftmax",
    "swish",
    "mish",
    "relu6",
    "linear",
  ] as const;
  // tfjs registers logSoftmax as an activation but leaves it out of its ActivationIdentifier type.
  const branches = acts.map((a) => tf.layers.dense({ units: 3, activation: a as DenseActivation }).apply(r) as tf.SymbolicTensor);
  const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 5 }), tf.layers.reLU({ maxValue: 0.5 }), tf.layers.prelu({})] });
  const n = inner.apply(g) as tf.SymbolicTensor;
  const m1 = tf.layers.multiply().apply([branches[0]!, branches[1]!]) as tf.SymbolicTensor;
  const m2 = tf.layers.average().apply([branches[2]!, branches[3]!, branches[4]!]) as tf.SymbolicTensor;
  const m3 = tf.layers.maximum().apply([branches[5]!, branches[6]!]) as tf.SymbolicTensor;
  const m4 = tf.layers.minimum().apply([branches[7]!, branches[8]!]) as tf.SymbolicTensor;
  const all = tf.layers.concatenate({ axis: 1 }).apply([m1, m2, m3, m4, ...branches.slice(9), n]) as tf.SymbolicTensor;
  const t = tf.layers.thresholdedReLU({ theta: 0.1 }).apply(all) as tf.SymbolicTensor;
  const e = tf.layers.elu({}).apply(t) as tf.SymbolicTensor;
  const s = tf.layers.softmax({ axis: -1 }).apply(e) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: [s, g] });
  randomizeWeights(model, 15);
  randomizeWeights(inner, 16);
  return { name: "zoo", model, inputs: (b) => [randomInput([b, 8, 4], 106)] };
}

/** channelsFirst convolution and Flatten (Keras' channels_first ordering rule). */
export function channelsFirst(): Case {
  const model = tf.sequential({
    layers: [
      tf.layers.permute({ inputShape: [6, 6, 2], dims: [3, 1, 2] }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, dataFormat: "channelsFirst", padding: "same", activation: "relu" }),
      tf.layers.flatten({ dataFormat: "channelsFirst" }),
      tf.layers.dense({ units: 2 }),
    ],
  });
  randomizeWeights(model, 17);
  return { name: "channels_first", model, inputs: (b) => [randomInput([b, 6, 6, 2], 107)] };
}

/** Padding, cropping, upsampling (nearest and bilinear), transposed convs, TimeDistributed, RepeatVector. */
export function imaging(): Case {
  const x = tf.input({ shape: [5, 6, 2], name: "image" });
  let h = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 2],
        [0, 1],
      ],
    })
    .apply(x) as tf.SymbolicTensor; // 8×7
  h = tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }).apply(h) as tf.SymbolicTensor; // 16×14
  h = tf.layers
    .cropping2D({
      cropping: [
        [1, 0],
        [2, 3],
      ],
    })
    .apply(h) as tf.SymbolicTensor; // 15×9
  h = tf.layers.upSampling2d({ size: [2, 1] }).apply(h) as tf.SymbolicTensor; // 30×9
  h = tf.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3, padding: "valid" }).apply(h) as tf.SymbolicTensor; // k < s
  h = tf.layers.upSampling2d({ size: [1, 2], interpolation: "bilinear" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2dTranspose({ filters: 2, kernelSize: [4, 3], strides: [1, 2], padding: "same" }).apply(h) as tf.SymbolicTensor;
  // h is channels-first inside the graph; its H/W-swapped twin shares its ONNX name
  // with another layout, and both need a Transpose back for Flatten.
  const swapped = tf.layers.permute({ dims: [2, 1, 3] }).apply(h) as tf.SymbolicTensor;
  const pooled = tf.layers
    .add()
    .apply([
      tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(swapped)) as tf.SymbolicTensor,
      tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(h)) as tf.SymbolicTensor,
      tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor,
    ]) as tf.SymbolicTensor;
  let seq = tf.layers.repeatVector({ n: 4 }).apply(pooled) as tf.SymbolicTensor; // [4, 2]
  seq = tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3, activation: "tanh" }) }).apply(seq) as tf.SymbolicTensor;
  const out = tf.layers.flatten().apply(seq) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: out });
  randomizeWeights(model, 18);
  return { name: "imaging", model, inputs: (b) => [randomInput([b, 5, 6, 2], 108)] };
}

/** LSTM, GRU, SimpleRNN, and Bidirectional with each merge mode. */
export function recurrent(): Case {
  const x = tf.input({ shape: [7, 3], name: "series" });
  let h = tf.layers.lstm({ units: 5, returnSequences: true }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.gru({ units: 4, returnSequences: true, activation: "relu", recurrentActivation: "sigmoid" }).apply(h) as tf.SymbolicTensor;
  const b1 = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true }), mergeMode: "concat" }).apply(h) as tf.SymbolicTensor;
  const b2 = tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3 }), mergeMode: "sum" }).apply(b1) as tf.SymbolicTensor;
  const b3 = tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 2 }), mergeMode: "ave" }).apply(h) as tf.SymbolicTensor;
  const b4 = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2 }), mergeMode: "mul" }).apply(x) as tf.SymbolicTensor;
  const s = tf.layers.simpleRNN({ units: 4 }).apply(b1) as tf.SymbolicTensor;
  const out = tf.layers.concatenate().apply([b2, b3, b4, s]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: out });
  randomizeWeights(model, 19);
  return { name: "recurrent", model, inputs: (b) => [randomInput([b, 7, 3], 109)] };
}

/** int32 token ids, and one Dense layer shared by two inputs (two calls of one layer). */
export function sharedInt(): Case {
  const a = tf.input({ shape: [4], dtype: "int32", name: "ids" });
  const b = tf.input({ shape: [4], name: "other" });
  const emb = tf.layers.flatten().apply(tf.layers.embedding({ inputDim: 11, outputDim: 2 }).apply(a)) as tf.SymbolicTensor; // [8]
  const shared = tf.layers.dense({ units: 6, activation: "relu", name: "shared" });
  const left = shared.apply(tf.layers.dense({ units: 4 }).apply(emb)) as tf.SymbolicTensor;
  const right = shared.apply(b) as tf.SymbolicTensor;
  const out = tf.layers.add().apply([left, right]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [a, b], outputs: out });
  randomizeWeights(model, 20);
  return { name: "shared_int", model, inputs: (n) => [randomIds([n, 4], 11, 110, "int32"), randomInput([n, 4], 111)] };
}

/** Sequences of any length (time dimension unknown) and volumes (Conv3D, 3-D pools). */
export function variableLength(): Case {
  const seq = tf.input({ shape: [null, 3], name: "any_length" });
  const vol = tf.input({ shape: [6, 5, 4, 2], name: "volume" });
  const g = tf.layers.gru({ units: 4 }).apply(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3 }) }).apply(seq) ?? seq) as tf.SymbolicTensor;
  let v = tf.layers.conv3d({ filters: 3, kernelSize: [3, 2, 2], padding: "same", activation: "relu" }).apply(vol) as tf.SymbolicTensor;
  v = tf.layers.maxPooling3d({ poolSize: 2 }).apply(v) as tf.SymbolicTensor;
  v = tf.layers.averagePooling3d({ poolSize: [1, 2, 2], padding: "same" }).apply(v) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(v) as tf.SymbolicTensor;
  // Fully convolutional on images of any size: "same" padding becomes auto_pad SAME_UPPER.
  const img = tf.input({ shape: [null, null, 2], name: "image_any_size" });
  let i = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }).apply(img) as tf.SymbolicTensor;
  i = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(i) as tf.SymbolicTensor;
  i = tf.layers.averagePooling2d({ poolSize: 2, padding: "same" }).apply(i) as tf.SymbolicTensor;
  const gi = tf.layers.globalAveragePooling2d({}).apply(i) as tf.SymbolicTensor;
  const out = tf.layers.concatenate().apply([g, flat, gi]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [seq, vol, img], outputs: out });
  randomizeWeights(model, 21);
  return {
    name: "variable_length",
    model,
    inputs: (b) => [randomInput([b, 3 + b, 3], 112), randomInput([b, 6, 5, 4, 2], 113), randomInput([b, 9 + b, 12 - b, 2], 114)],
  };
}

export const allCases = (): Case[] => [mlp(), cnn(), cnnGlobal(), functional(), zoo(), channelsFirst(), imaging(), recurrent(), sharedInt(), variableLength()];
