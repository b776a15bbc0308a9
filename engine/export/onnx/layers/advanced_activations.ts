// Activation layers with parameters: ReLU, LeakyReLU, ELU, Softmax,
// ThresholdedReLU, PReLU.
import { softmax } from "../activations";
import { onlyInput, outputValue, requireWeight, type LayerConverter } from "../layer_conversion";
import { attr } from "../onnx_messages";

const relu: LayerConverter = (c) => {
  const v = onlyInput(c);
  const max = c.config.maxValue;
  if (max == null) return { ...v, name: c.g.node("Relu", c.layer.name, [v.name]) };
  return { ...v, name: c.g.node("Clip", c.layer.name, [v.name, c.g.scalar(0), c.g.scalar(max)]) };
};

const leakyRelu: LayerConverter = (c) => {
  const v = onlyInput(c);
  return { ...v, name: c.g.node("LeakyRelu", c.layer.name, [v.name], { alpha: attr.float(c.config.alpha ?? 0.3) }) };
};

const elu: LayerConverter = (c) => {
  const v = onlyInput(c);
  return { ...v, name: c.g.node("Elu", c.layer.name, [v.name], { alpha: attr.float(c.config.alpha ?? 1) }) };
};

const softmaxLayer: LayerConverter = (c) => softmax(c.g, onlyInput(c), c.layer.name, c.config.axis ?? -1);

const thresholdedRelu: LayerConverter = (c) => {
  const v = onlyInput(c);
  return { ...v, name: c.g.node("ThresholdedRelu", c.layer.name, [v.name], { alpha: attr.float(c.config.theta ?? 1) }) };
};

const prelu: LayerConverter = (c) => {
  // The slope has Keras' non-batch shape, so the input must be in Keras order.
  const x = c.g.keras(onlyInput(c));
  const alpha = requireWeight(c, "alpha");
  const y = c.g.node("PRelu", c.layer.name, [x.name, c.g.constant(`${c.layer.name}/alpha`, alpha.data, alpha.shape)]);
  return outputValue(c, y, x.perm);
};

export const advancedActivationConverters: Record<string, LayerConverter> = {
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  Softmax: softmaxLayer,
  ThresholdedReLU: thresholdedRelu,
  PReLU: prelu,
};
