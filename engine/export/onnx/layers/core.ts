// Dense, Activation, Flatten, Reshape, Permute, Rescaling and the layers that are the
// identity at inference (Dropout and the noise layers).
import { applyActivation } from "../activations";
import { identityPerm } from "../graph_builder";
import { notSupported, onlyInput, outputValue, requireWeight, weight, type LayerConverter } from "../layer_conversion";
import { attr, DataType } from "../onnx_messages";

/** Layers whose inference-time output is their input (training-only noise). */
const identity: LayerConverter = (c) => onlyInput(c);

const dense: LayerConverter = (c) => {
  const g = c.g;
  // Dense contracts Keras' last axis, so the input must be in Keras order.
  const x = g.keras(onlyInput(c));
  const kernel = requireWeight(c, "kernel");
  let y = g.node("MatMul", c.layer.name, [x.name, g.constant(`${c.layer.name}/kernel`, kernel.data, kernel.shape)]);
  const bias = c.config.useBias === false ? undefined : weight(c.layer, "bias");
  if (bias) y = g.node("Add", c.layer.name, [y, g.constant(`${c.layer.name}/bias`, bias.data, bias.shape)]);
  return applyActivation(g, outputValue(c, y, identityPerm(x.perm.length)), c.config.activation, c.layer.name, c.className);
};

const activation: LayerConverter = (c) => applyActivation(c.g, onlyInput(c), c.config.activation, c.layer.name, c.className);

const flatten: LayerConverter = (c) => {
  const v = onlyInput(c);
  const rank = v.shape.length;
  // tfjs' Flatten with dataFormat channelsFirst first moves channels last, so
  // the flattened order is always H, W, C; channels-last flattens Keras order.
  const order = c.config.dataFormat === "channelsFirst" && rank > 2 ? [0, ...identityPerm(rank).slice(2), 1] : identityPerm(rank);
  const x = c.g.withPerm(v, order);
  const y = c.g.node("Flatten", c.layer.name, [x.name], { axis: attr.int(1) });
  return outputValue(c, y, [0, 1]);
};

const reshape: LayerConverter = (c) => {
  const x = c.g.keras(onlyInput(c));
  const target = c.config.targetShape as (number | null)[];
  // 0 copies the (dynamic) batch dimension; the rest is Keras' target shape.
  const shape = c.g.int64s(`${c.layer.name}/shape`, [0, ...target.map((d) => d ?? -1)]);
  const y = c.g.node("Reshape", c.layer.name, [x.name, shape]);
  return outputValue(c, y, identityPerm(target.length + 1));
};

const permute: LayerConverter = (c) => {
  const v = onlyInput(c);
  const dims = c.config.dims as number[];
  if (!Array.isArray(dims) || dims.length !== v.shape.length - 1) throw notSupported(c, `has dims ${JSON.stringify(dims)}`, "give Permute one 1-based index per non-batch axis");
  // Keras axis j of the output is Keras axis P[j] of the input: rather than
  // moving data, relabel the physical axes; a Transpose appears only if a
  // later layer needs Keras order.
  const P = [0, ...dims];
  return { ...v, shape: c.outputShapes[0]!, perm: v.perm.map((k) => P.indexOf(k)) };
};

const rescaling: LayerConverter = (c) => {
  const v = onlyInput(c);
  const x = v.dtype === "float32" ? v.name : c.g.node("Cast", c.layer.name, [v.name], { to: attr.int(DataType.FLOAT) });
  const scaled = c.g.node("Mul", c.layer.name, [x, c.g.scalar(c.config.scale ?? 1)]);
  return outputValue(c, c.g.node("Add", c.layer.name, [scaled, c.g.scalar(c.config.offset ?? 0)]), v.perm);
};

export const coreConverters: Record<string, LayerConverter> = {
  Dense: dense,
  Activation: activation,
  Flatten: flatten,
  Reshape: reshape,
  Permute: permute,
  Rescaling: rescaling,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};
