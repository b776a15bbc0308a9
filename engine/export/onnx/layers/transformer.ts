// tscolab's transformer layers (engine/models/transformer/layers.ts) as
// plain ONNX ops, so onnxruntime runs the export with no custom operator:
//   TscolabTiedEmbedding      ids → Gather of the token matrix; vectors →
//                             MatMul with its transpose (the tied LM head)
//   TscolabPositionEmbedding  Add of the position matrix
//   TscolabLayerNorm          LayerNormalization (same as tfjs' own layer)
//   TscolabSelfAttention      Split → per head Reshape/Transpose → MatMul
//                             (q·kᵀ, q pre-scaled by 1/√dh) → Add of the
//                             causal mask (0 / -1e9, as in tfjs) → Softmax →
//                             MatMul with v → Transpose/Reshape back
import { identityPerm } from "../graph_builder";
import { notSupported, onlyInput, outputValue, requireWeight, transposeWeight, type LayerConverter } from "../layer_conversion";
import { attr, DataType } from "../onnx_messages";
import { normalizationConverters } from "./normalization";

const tiedEmbedding: LayerConverter = (c) => {
  const g = c.g;
  const x = g.keras(onlyInput(c));
  const table = requireWeight(c, "embeddings");
  const base = c.layer.name;
  if (x.shape.length === 2) {
    const ids = x.dtype === "int32" ? x.name : g.node("Cast", base, [x.name], { to: attr.int(DataType.INT32) });
    const y = g.node("Gather", base, [g.constant(`${base}/embeddings`, table.data, table.shape), ids], { axis: attr.int(0) });
    return outputValue(c, y, identityPerm(3));
  }
  if (x.shape.length !== 3) throw notSupported(c, `is called on a rank-${x.shape.length} input`, "call it on token ids [batch, T] or vectors [batch, T, d]");
  const transposed = transposeWeight(table, [1, 0]);
  const y = g.node("MatMul", base, [x.name, g.constant(`${base}/embeddings_T`, transposed.data, transposed.shape)]);
  return outputValue(c, y, identityPerm(3));
};

const positionEmbedding: LayerConverter = (c) => {
  const g = c.g;
  const x = g.keras(onlyInput(c));
  const positions = requireWeight(c, "positions");
  const y = g.node("Add", c.layer.name, [x.name, g.constant(`${c.layer.name}/positions`, positions.data, positions.shape)]);
  return outputValue(c, y, x.perm);
};

const selfAttention: LayerConverter = (c) => {
  const g = c.g;
  const x = g.keras(onlyInput(c));
  const [, t, packed] = x.shape;
  if (x.shape.length !== 3 || !t || !packed) throw notSupported(c, "needs a fixed sequence length and width", "build the model with a fixed seqLen");
  const heads = Number(c.config.heads);
  const d = packed / 3;
  const dh = d / heads;
  const base = c.layer.name;
  const [q, k, v] = g.nodeOutputs("Split", base, [x.name, g.int64s(`${base}/split`, [d, d, d])], [true, true, true], { axis: attr.int(2) });
  const headShape = g.int64s(`${base}/head_shape`, [0, t, heads, dh]);
  // [b, T, d] → [b, heads, T, dh]
  const split = (name: string) => g.node("Transpose", base, [g.node("Reshape", base, [name, headShape])], { perm: attr.ints([0, 2, 1, 3]) });
  const qh = g.node("Mul", base, [split(q!), g.scalar(1 / Math.sqrt(dh))]);
  const kt = g.node("Transpose", base, [g.node("Reshape", base, [k!, headShape])], { perm: attr.ints([0, 2, 3, 1]) });
  let scores = g.node("MatMul", base, [qh, kt]);
  if (c.config.causal) {
    const mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -1e9;
    scores = g.node("Add", base, [scores, g.constant(`${base}/causal_mask`, mask, [t, t])]);
  }
  const probs = g.node("Softmax", base, [scores], { axis: attr.int(3) });
  const out = g.node("MatMul", base, [probs, split(v!)]);
  const merged = g.node("Reshape", base, [g.node("Transpose", base, [out], { perm: attr.ints([0, 2, 1, 3]) }), g.int64s(`${base}/out_shape`, [0, t, d])]);
  return outputValue(c, merged, identityPerm(3));
};

export const transformerConverters: Record<string, LayerConverter> = {
  TscolabTiedEmbedding: tiedEmbedding,
  TscolabPositionEmbedding: positionEmbedding,
  TscolabSelfAttention: selfAttention,
  TscolabLayerNorm: normalizationConverters.LayerNormalization!,
};
