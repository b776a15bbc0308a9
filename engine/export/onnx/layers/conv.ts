// Conv1D/2D/3D, DepthwiseConv2D, SeparableConv2D and Conv2DTranspose as ONNX
// Conv / ConvTranspose (channels-first).
// Weights are transposed once here from tfjs' [kh, kw, in, out] to ONNX's
// [out, in, kh, kw]; activations flow in channels-first between convs.
import { applyActivation } from "../activations";
import type { Value } from "../graph_builder";
import { notSupported, onlyInput, outputValue, requireWeight, transposeWeight, weight, type LayerConversion, type LayerConverter, type LayerWeight } from "../layer_conversion";
import { attr } from "../onnx_messages";
import { channelsFirstLayout, paddingAttributes, perAxis } from "./spatial";

interface ConvGeometry {
  x: Value;
  kernel: number[];
  strides: number[];
  dilations: number[];
  padding: string;
  perm: number[];
}

function geometry(c: LayerConversion, spatialRank: number, kernelShape: number[]): ConvGeometry {
  const v = onlyInput(c);
  const rank = v.shape.length;
  if (rank !== spatialRank + 2) throw notSupported(c, `got an input of rank ${rank}`, `give it inputs of rank ${spatialRank + 2}`);
  const perm = channelsFirstLayout(c.config.dataFormat, rank);
  const ones = new Array<number>(spatialRank).fill(1);
  const strides = perAxis(c.config.strides, spatialRank, ones);
  const dilations = perAxis(c.config.dilationRate, spatialRank, ones);
  if (strides.some((s) => s !== 1) && dilations.some((d) => d !== 1)) throw notSupported(c, "combines strides and dilation", "use strides or dilation, not both");
  const padding = c.config.padding ?? "valid";
  if (padding !== "valid" && padding !== "same") throw notSupported(c, `uses padding "${padding}"`, 'use padding "valid" or "same" (tfjs cannot run the others either)');
  return { x: c.g.withPerm(v, perm), kernel: kernelShape.slice(0, spatialRank), strides, dilations, padding, perm };
}

function conv(c: LayerConversion, geo: ConvGeometry, x: string, w: LayerWeight, group: number, bias: LayerWeight | undefined, suffix = ""): string {
  const g = c.g;
  const inputs = [x, g.constant(`${c.layer.name}/${suffix || "kernel"}`, w.data, w.shape)];
  if (bias) inputs.push(g.constant(`${c.layer.name}/bias`, bias.data, bias.shape));
  return g.node("Conv", c.layer.name, inputs, {
    kernel_shape: attr.ints(w.shape.slice(2)),
    strides: attr.ints(geo.strides),
    dilations: attr.ints(geo.dilations),
    group: attr.int(group),
    ...paddingAttributes(geo.padding, geo.x, geo.kernel, geo.strides, geo.dilations),
  });
}

const useBias = (c: LayerConversion): LayerWeight | undefined => (c.config.useBias === false ? undefined : weight(c.layer, "bias"));

function plainConv(spatialRank: number): LayerConverter {
  return (c) => {
    const k = requireWeight(c, "kernel");
    const geo = geometry(c, spatialRank, k.shape);
    // tfjs [k..., in, out] → ONNX [out, in, k...]
    const w = transposeWeight(k, [spatialRank + 1, spatialRank, ...geo.kernel.map((_, i) => i)]);
    const y = conv(c, geo, geo.x.name, w, 1, useBias(c));
    return applyActivation(c.g, outputValue(c, y, geo.perm), c.config.activation, c.layer.name, c.className);
  };
}

/** tfjs depthwise [kh, kw, in, mult] → ONNX grouped [in·mult, 1, kh, kw] (channel c·mult+m). */
function depthwiseWeight(k: LayerWeight): LayerWeight {
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  const t = transposeWeight(k, [2, 3, 0, 1]);
  return { data: t.data, shape: [cin * mult, 1, kh, kw] };
}

const depthwiseConv2d: LayerConverter = (c) => {
  const k = requireWeight(c, "depthwise_kernel");
  const geo = geometry(c, 2, k.shape);
  const y = conv(c, geo, geo.x.name, depthwiseWeight(k), k.shape[2]!, useBias(c), "depthwise_kernel");
  return applyActivation(c.g, outputValue(c, y, geo.perm), c.config.activation, c.layer.name, c.className);
};

const separableConv2d: LayerConverter = (c) => {
  const dk = requireWeight(c, "depthwise_kernel");
  const pk = requireWeight(c, "pointwise_kernel");
  const geo = geometry(c, 2, dk.shape);
  const depthwise = conv(c, geo, geo.x.name, depthwiseWeight(dk), dk.shape[2]!, undefined, "depthwise_kernel");
  // The pointwise 1×1 conv runs with stride 1 and no padding on the depthwise output.
  const pointGeo: ConvGeometry = { ...geo, kernel: [1, 1], strides: [1, 1], dilations: [1, 1], padding: "valid" };
  const y = conv(c, pointGeo, depthwise, transposeWeight(pk, [3, 2, 0, 1]), 1, useBias(c), "pointwise_kernel");
  return applyActivation(c.g, outputValue(c, y, geo.perm), c.config.activation, c.layer.name, c.className);
};

/**
 * Conv2DTranspose. tfjs' kernel is [kh, kw, out, in] → ONNX [in, out, kh, kw].
 * Output size follows tfjs' deconvLength: same → in·s, valid → in·s + max(k − s, 0);
 * ONNX gives s·(in − 1) + k + output_padding − pads, so pads = max(k − s, 0)
 * for same (the odd one at the end, as TensorFlow crops) and
 * output_padding = max(s − k, 0) in both modes.
 */
const conv2dTranspose: LayerConverter = (c) => {
  const k = requireWeight(c, "kernel");
  const geo = geometry(c, 2, k.shape);
  if (geo.dilations.some((d) => d !== 1)) throw notSupported(c, "uses dilation", "use dilationRate 1 (tfjs' own Conv2DTranspose ignores it)");
  const w = transposeWeight(k, [3, 2, 0, 1]);
  const outputPadding = geo.kernel.map((kk, i) => Math.max(geo.strides[i]! - kk, 0));
  const total = geo.kernel.map((kk, i) => (geo.padding === "same" ? Math.max(kk - geo.strides[i]!, 0) : 0));
  const pads = [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))];
  const inputs = [geo.x.name, c.g.constant(`${c.layer.name}/kernel`, w.data, w.shape)];
  const bias = useBias(c);
  if (bias) inputs.push(c.g.constant(`${c.layer.name}/bias`, bias.data, bias.shape));
  const y = c.g.node("ConvTranspose", c.layer.name, inputs, {
    kernel_shape: attr.ints(geo.kernel),
    strides: attr.ints(geo.strides),
    pads: attr.ints(pads),
    output_padding: attr.ints(outputPadding),
  });
  return applyActivation(c.g, outputValue(c, y, geo.perm), c.config.activation, c.layer.name, c.className);
};

export const convConverters: Record<string, LayerConverter> = {
  Conv1D: plainConv(1),
  Conv2D: plainConv(2),
  Conv3D: plainConv(3),
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
};
