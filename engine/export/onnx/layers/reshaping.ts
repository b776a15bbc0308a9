// ZeroPadding2D, Cropping2D, UpSampling2D and RepeatVector.
import { identityPerm, type Value } from "../graph_builder";
import { notSupported, onlyInput, outputValue, type LayerConversion, type LayerConverter } from "../layer_conversion";
import { attr } from "../onnx_messages";
import { channelsFirstLayout } from "./spatial";

/** [[top, bottom], [left, right]] per Keras spatial axis, from Keras' int / pair / pair-of-pairs forms. */
function perSide(value: unknown, c: LayerConversion): [number, number][] {
  if (typeof value === "number")
    return [
      [value, value],
      [value, value],
    ];
  if (Array.isArray(value) && value.length === 2) {
    return value.map((v) => (typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : null)) as [number, number][];
  }
  throw notSupported(c, `has amounts ${JSON.stringify(value)}`, "give two [before, after] pairs");
}

/** Keras axes of height and width for the layer's dataFormat. */
const spatialAxes = (dataFormat: string | undefined): [number, number] => (dataFormat === "channelsFirst" ? [2, 3] : [1, 2]);

/** Per physical axis [begins..., ends...] from per-Keras-axis (before, after) amounts. */
function physicalAmounts(v: Value, byKerasAxis: Map<number, [number, number]>): { begin: number[]; end: number[] } {
  const begin = v.perm.map((k) => byKerasAxis.get(k)?.[0] ?? 0);
  const end = v.perm.map((k) => byKerasAxis.get(k)?.[1] ?? 0);
  return { begin, end };
}

const zeroPadding2d: LayerConverter = (c) => {
  const v = onlyInput(c);
  const [h, w] = spatialAxes(c.config.dataFormat);
  const sides = perSide(c.config.padding, c);
  const { begin, end } = physicalAmounts(
    v,
    new Map([
      [h, sides[0]!],
      [w, sides[1]!],
    ]),
  );
  const y = c.g.node("Pad", c.layer.name, [v.name, c.g.int64s(`${c.layer.name}/pads`, [...begin, ...end])], { mode: attr.string("constant") });
  return outputValue(c, y, v.perm);
};

const cropping2d: LayerConverter = (c) => {
  const v = onlyInput(c);
  const [h, w] = spatialAxes(c.config.dataFormat);
  const sides = perSide(c.config.cropping, c);
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  [h, w].forEach((k, i) => {
    const [before, after] = sides[i]!;
    axes.push(v.perm.indexOf(k));
    starts.push(before);
    // A negative end counts from the back; "to the end" is any large number.
    ends.push(after > 0 ? -after : Number.MAX_SAFE_INTEGER);
  });
  const base = c.layer.name;
  const y = c.g.node("Slice", base, [v.name, c.g.int64s(`${base}/starts`, starts), c.g.int64s(`${base}/ends`, ends), c.g.int64s(`${base}/axes`, axes)]);
  return outputValue(c, y, v.perm);
};

const upSampling2d: LayerConverter = (c) => {
  const v = onlyInput(c);
  const perm = channelsFirstLayout(c.config.dataFormat, 4);
  const x = c.g.withPerm(v, perm);
  const size = (Array.isArray(c.config.size) ? c.config.size : [c.config.size ?? 2, c.config.size ?? 2]) as number[];
  const nearest = (c.config.interpolation ?? "nearest") === "nearest";
  // tfjs resizes with alignCorners = halfPixelCenters = false: source = floor(dest / scale)
  // for nearest, i.e. ONNX's "asymmetric" transform.
  const scales = c.g.constant(`${c.layer.name}/scales`, new Float32Array([1, 1, size[0]!, size[1]!]), [4]);
  const y = c.g.node("Resize", c.layer.name, [x.name, "", scales], {
    mode: attr.string(nearest ? "nearest" : "linear"),
    coordinate_transformation_mode: attr.string("asymmetric"),
    ...(nearest ? { nearest_mode: attr.string("floor") } : {}),
  });
  return outputValue(c, y, perm);
};

const repeatVector: LayerConverter = (c) => {
  const x = c.g.keras(onlyInput(c));
  if (x.shape.length !== 2 || x.shape[1] == null) throw notSupported(c, "needs a [batch, features] input of known width", "flatten first");
  const base = c.layer.name;
  const col = c.g.node("Reshape", base, [x.name, c.g.int64s(`${base}/shape`, [0, 1, x.shape[1]])]);
  const y = c.g.node("Expand", base, [col, c.g.int64s(`${base}/repeats`, [1, c.config.n, 1])]);
  return outputValue(c, y, identityPerm(3));
};

export const reshapingConverters: Record<string, LayerConverter> = {
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  UpSampling2D: upSampling2d,
  RepeatVector: repeatVector,
};
