// Zoo "transformer": pre-layer-norm blocks (x + Attn(LN(x)), x + MLP(LN(x))),
// a GELU MLP four times as wide as the model, learned positions.
//   language-modeling:  decoder-only, causal self-attention, logits
//                       [b, T, vocab] from the token matrix itself (tied).
//   text-classification: encoder (attention sees the whole text), mean
//                       pooling over positions, a softmax head.
// Dropout layers are stock tf.layers.dropout, drawn from the training
// step's seeded stream like every other model's.
import type * as tfType from "@tensorflow/tfjs";
import { TscolabError } from "../../errors";
import type { ModelConfig, ModelFactoryArgs } from "../schema";
import { transformerLayers } from "./layers";

type TF = typeof tfType;

export const TRANSFORMER_DEFAULTS = { layers: 2, heads: 4, dModel: 64, seqLen: 64, dropout: 0 } as const;

export interface TransformerShape {
  layers: number;
  heads: number;
  dModel: number;
  seqLen: number;
  dropout: number;
}

/** The model options with their defaults; seqLen is also what the data windows use. */
export function transformerShape(cfg: Partial<Pick<ModelConfig, "layers" | "heads" | "dModel" | "seqLen" | "dropout">>): TransformerShape {
  const shape = {
    layers: cfg.layers ?? TRANSFORMER_DEFAULTS.layers,
    heads: cfg.heads ?? TRANSFORMER_DEFAULTS.heads,
    dModel: cfg.dModel ?? TRANSFORMER_DEFAULTS.dModel,
    seqLen: cfg.seqLen ?? TRANSFORMER_DEFAULTS.seqLen,
    dropout: cfg.dropout ?? TRANSFORMER_DEFAULTS.dropout,
  };
  if (shape.dModel % shape.heads !== 0)
    throw new TscolabError(`model.dModel ${shape.dModel} is not divisible by model.heads ${shape.heads}`, "pick dModel as a multiple of heads (e.g. dModel 64 with 4 heads)");
  return shape;
}

export function transformer(tf: TF, cfg: ModelConfig, args: ModelFactoryArgs<TF>): tfType.LayersModel {
  const vocabSize = args.vocabSize;
  if (!vocabSize || (args.task !== "language-modeling" && args.task !== "text-classification")) {
    throw new TscolabError(
      `model zoo "transformer" needs text data (task language-modeling or text-classification); this run's task is ${args.task}`,
      'give data.text (a text column), a .txt file or { "builtin": "genesis" }, or use "zoo": "mlp"',
    );
  }
  const s = transformerShape(cfg);
  if (args.inputShape.length !== 1 || args.inputShape[0] !== s.seqLen)
    throw new TscolabError(`model zoo "transformer": the data has windows of [${args.inputShape.join(", ")}] tokens, the model takes ${s.seqLen}`, "train with one model.seqLen");
  const L = transformerLayers(tf);
  const lm = args.task === "language-modeling";
  const d = s.dModel;
  const drop = (x: tfType.SymbolicTensor, name: string) => (s.dropout > 0 ? (tf.layers.dropout({ rate: s.dropout, name }).apply(x) as tfType.SymbolicTensor) : x);
  const ln = (x: tfType.SymbolicTensor, name: string) => new L.LayerNorm({ epsilon: 1e-5, name }).apply(x) as tfType.SymbolicTensor;
  const dense = (x: tfType.SymbolicTensor, units: number, name: string, activation?: "gelu") =>
    tf.layers.dense({ units, name, ...(activation ? { activation } : {}) }).apply(x) as tfType.SymbolicTensor;

  const tokens = tf.input({ shape: [s.seqLen], dtype: "int32", name: "tokens" });
  const embedding = new L.TiedEmbedding({ vocabSize, dModel: d, name: "token_embedding" });
  let x = embedding.apply(tokens) as tfType.SymbolicTensor;
  x = new L.PositionEmbedding({ seqLen: s.seqLen, dModel: d, name: "position_embedding" }).apply(x) as tfType.SymbolicTensor;
  x = drop(x, "embedding_dropout");
  for (let i = 1; i <= s.layers; i++) {
    const b = `block${i}`;
    const qkv = dense(ln(x, `${b}_ln1`), 3 * d, `${b}_qkv`);
    const attended = new L.SelfAttention({ heads: s.heads, causal: lm, name: `${b}_attention` }).apply(qkv) as tfType.SymbolicTensor;
    x = tf.layers.add({ name: `${b}_residual1` }).apply([x, drop(dense(attended, d, `${b}_attention_out`), `${b}_dropout1`)]) as tfType.SymbolicTensor;
    const mlp = dense(dense(ln(x, `${b}_ln2`), 4 * d, `${b}_mlp_in`, "gelu"), d, `${b}_mlp_out`);
    x = tf.layers.add({ name: `${b}_residual2` }).apply([x, drop(mlp, `${b}_dropout2`)]) as tfType.SymbolicTensor;
  }
  x = ln(x, "final_ln");
  let out: tfType.SymbolicTensor;
  if (lm)
    out = embedding.apply(x) as tfType.SymbolicTensor; // tied: logits over the vocabulary at every position
  else {
    const pooled = tf.layers.globalAveragePooling1d({ name: "pool" }).apply(x) as tfType.SymbolicTensor;
    out = tf.layers.dense({ units: args.outputs, activation: "softmax", name: "output" }).apply(pooled) as tfType.SymbolicTensor;
  }
  return tf.model({ inputs: tokens, outputs: out, name: lm ? "transformer_lm" : "transformer_classifier" });
}
