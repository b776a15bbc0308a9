// Max/Average pooling (1D, 2D, 3D) and the global 1D/2D variants.
import { notSupported, onlyInput, outputValue, type LayerConverter } from "../layer_conversion";
import { attr } from "../onnx_messages";
import { channelsFirstLayout, paddingAttributes, perAxis } from "./spatial";

function pool(op: "MaxPool" | "AveragePool", spatialRank: number): LayerConverter {
  return (c) => {
    const v = onlyInput(c);
    if (v.shape.length !== spatialRank + 2) throw notSupported(c, `got an input of rank ${v.shape.length}`, `give it inputs of rank ${spatialRank + 2}`);
    // tfjs' 1-D pools have no dataFormat: always [batch, steps, channels].
    const perm = channelsFirstLayout(spatialRank === 1 ? "channelsLast" : c.config.dataFormat, v.shape.length);
    const x = c.g.withPerm(v, perm);
    const kernel = perAxis(c.config.poolSize, spatialRank, new Array<number>(spatialRank).fill(2));
    const strides = perAxis(c.config.strides, spatialRank, kernel);
    const ones = new Array<number>(spatialRank).fill(1);
    const y = c.g.node(op, c.layer.name, [x.name], {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      // TensorFlow averages over the real pixels only, never the padding.
      ...(op === "AveragePool" ? { count_include_pad: attr.int(0) } : {}),
      ...paddingAttributes(c.config.padding ?? "valid", x, kernel, strides, ones),
    });
    return outputValue(c, y, perm);
  };
}

function globalPool(op: "GlobalAveragePool" | "GlobalMaxPool", spatialRank: number): LayerConverter {
  return (c) => {
    const v = onlyInput(c);
    if (v.shape.length !== spatialRank + 2) throw notSupported(c, `got an input of rank ${v.shape.length}`, `give it inputs of rank ${spatialRank + 2}`);
    const x = c.g.withPerm(v, channelsFirstLayout(c.config.dataFormat, v.shape.length));
    const pooled = c.g.node(op, c.layer.name, [x.name]);
    // [N, C, 1, 1] → [N, C], Keras' output.
    const y = c.g.node("Flatten", c.layer.name, [pooled], { axis: attr.int(1) });
    return outputValue(c, y, [0, 1]);
  };
}

export const poolingConverters: Record<string, LayerConverter> = {
  MaxPooling1D: pool("MaxPool", 1),
  MaxPooling2D: pool("MaxPool", 2),
  AveragePooling1D: pool("AveragePool", 1),
  AveragePooling2D: pool("AveragePool", 2),
  MaxPooling3D: pool("MaxPool", 3),
  AveragePooling3D: pool("AveragePool", 3),
  GlobalAveragePooling1D: globalPool("GlobalAveragePool", 1),
  GlobalAveragePooling2D: globalPool("GlobalAveragePool", 2),
  GlobalMaxPooling1D: globalPool("GlobalMaxPool", 1),
  GlobalMaxPooling2D: globalPool("GlobalMaxPool", 2),
};
