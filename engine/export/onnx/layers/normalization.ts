// BatchNormalization (inference form, moving statistics) and LayerNormalization.
import { physicalAxis } from "../graph_builder";
import { notSupported, onlyInput, outputValue, requireWeight, weight, type LayerConverter } from "../layer_conversion";
import { attr } from "../onnx_messages";

const batchNormalization: LayerConverter = (c) => {
  const g = c.g;
  const v = onlyInput(c);
  const rank = v.shape.length;
  const axis = c.config.axis ?? -1;
  if (Array.isArray(axis)) throw notSupported(c, `normalizes over several axes ${JSON.stringify(axis)}`, "use a single axis");
  const p = physicalAxis(v, axis);
  const mean = requireWeight(c, "moving_mean");
  const variance = requireWeight(c, "moving_variance");
  const channels = mean.data.length;
  const gamma = c.config.scale === false ? undefined : weight(c.layer, "gamma");
  const beta = c.config.center === false ? undefined : weight(c.layer, "beta");
  const eps = c.config.epsilon ?? 1e-3;
  const gammaData = gamma?.data ?? new Float32Array(channels).fill(1);
  const betaData = beta?.data ?? new Float32Array(channels);
  const base = c.layer.name;

  if (p === 1) {
    // Channels on axis 1 (NCHW after a conv, or [N, C] after Dense): ONNX's
    // own BatchNormalization, which runtimes fuse into the preceding Conv.
    const y = g.node(
      "BatchNormalization",
      base,
      [
        v.name,
        g.constant(`${base}/gamma`, gammaData, [channels]),
        g.constant(`${base}/beta`, betaData, [channels]),
        g.constant(`${base}/moving_mean`, mean.data, [channels]),
        g.constant(`${base}/moving_variance`, variance.data, [channels]),
      ],
      { epsilon: attr.float(eps) },
    );
    return outputValue(c, y, v.perm);
  }
  // Channels elsewhere (e.g. [N, T, C]): y = x · s + t with
  // s = γ / sqrt(var + ε), t = β − mean · s, broadcast on physical axis p.
  const s = new Float32Array(channels);
  const t = new Float32Array(channels);
  for (let i = 0; i < channels; i++) {
    s[i] = gammaData[i]! / Math.sqrt(variance.data[i]! + eps);
    t[i] = betaData[i]! - mean.data[i]! * s[i]!;
  }
  const dims = [channels, ...new Array<number>(rank - 1 - p).fill(1)];
  const scaled = g.node("Mul", base, [v.name, g.constant(`${base}/scale`, s, dims)]);
  return outputValue(c, g.node("Add", base, [scaled, g.constant(`${base}/shift`, t, dims)]), v.perm);
};

const layerNormalization: LayerConverter = (c) => {
  const g = c.g;
  const x = g.keras(onlyInput(c));
  const rank = x.shape.length;
  const axes = (Array.isArray(c.config.axis) ? c.config.axis : [c.config.axis ?? -1]).map((a: number) => (a < 0 ? rank + a : a)).sort((a: number, b: number) => a - b);
  const first = axes[0]!;
  // ONNX normalizes over [axis, rank): Keras' axes must be that trailing run.
  if (axes.some((a: number, i: number) => a !== first + i) || axes[axes.length - 1] !== rank - 1) {
    throw notSupported(c, `normalizes over axes ${JSON.stringify(c.config.axis)}, not a trailing run`, "normalize over the last axes (axis: -1)");
  }
  const normShape = x.shape.slice(first).map((d) => d ?? -1);
  if (normShape.some((d) => d < 0)) throw notSupported(c, "normalizes over an axis of unknown size", "give the input a fixed shape");
  const size = normShape.reduce((a, b) => a * b, 1);
  const base = c.layer.name;
  const gamma = c.config.scale === false ? undefined : weight(c.layer, "gamma");
  const beta = c.config.center === false ? undefined : weight(c.layer, "beta");
  const inputs = [x.name, g.constant(`${base}/gamma`, gamma?.data ?? new Float32Array(size).fill(1), normShape)];
  if (beta) inputs.push(g.constant(`${base}/beta`, beta.data, normShape));
  const y = g.node("LayerNormalization", base, inputs, { axis: attr.int(first), epsilon: attr.float(c.config.epsilon ?? 1e-3) });
  return outputValue(c, y, x.perm);
};

export const normalizationConverters: Record<string, LayerConverter> = {
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
};
