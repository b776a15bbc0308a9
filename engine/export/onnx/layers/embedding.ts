// Embedding: a Gather of rows of the embedding matrix.
import { identityPerm } from "../graph_builder";
import { onlyInput, outputValue, requireWeight, type LayerConverter } from "../layer_conversion";
import { attr, DataType } from "../onnx_messages";

const embedding: LayerConverter = (c) => {
  const g = c.g;
  const x = g.keras(onlyInput(c));
  const table = requireWeight(c, "embeddings");
  // tfjs casts float ids to int32 (truncating) before gathering; so do we.
  const ids = x.dtype === "int32" ? x.name : g.node("Cast", c.layer.name, [x.name], { to: attr.int(DataType.INT32) });
  const y = g.node("Gather", c.layer.name, [g.constant(`${c.layer.name}/embeddings`, table.data, table.shape), ids], { axis: attr.int(0) });
  const out = outputValue(c, y, identityPerm(x.shape.length + 1));
  return c.config.maskZero ? { ...out, masked: true } : out;
};

export const embeddingConverters: Record<string, LayerConverter> = { Embedding: embedding };
