// TimeDistributed: the wrapped layer applied to every time step, converted
// once by folding time into the batch ([N, T, ...] → [N·T, ...] → back).
import type * as tf from "@tensorflow/tfjs";
import { identityPerm, type KerasShape } from "../graph_builder";
import { notSupported, onlyInput, outputValue, type LayerConverter } from "../layer_conversion";
import { attr } from "../onnx_messages";

const timeDistributed: LayerConverter = (c) => {
  const inner = (c.layer as unknown as { layer: tf.layers.Layer }).layer;
  const x = c.g.keras(onlyInput(c));
  const [, steps, ...rest] = x.shape;
  if (rest.some((d) => d == null)) throw notSupported(c, `needs fixed feature sizes, got ${JSON.stringify(x.shape)}`, "give the input a fixed shape");
  const base = c.layer.name;
  const folded = c.g.node("Reshape", base, [x.name, c.g.int64s(`${base}/fold`, [-1, ...(rest as number[])])]);
  const innerShape = inner.computeOutputShape([null, ...rest]) as KerasShape;
  const [y] = c.convertLayer(inner, [{ name: folded, shape: [null, ...rest], perm: identityPerm(rest.length + 1), dtype: x.dtype }], [innerShape]);
  const yk = c.g.keras(y!);
  if (innerShape.slice(1).some((d) => d == null)) throw notSupported(c, `wraps a layer with unknown output size ${JSON.stringify(innerShape)}`, "give the input a fixed shape");
  const innerRest = innerShape.slice(1) as number[];
  // Unfold to [N, T, ...]: T from the model when fixed, else read at run time.
  const unfoldShape =
    steps != null
      ? c.g.int64s(`${base}/unfold`, [-1, steps, ...innerRest])
      : c.g.node("Concat", base, [c.g.node("Shape", base, [x.name], { start: attr.int(0), end: attr.int(2) }), c.g.int64s(`${base}/unfold_rest`, innerRest)], {
          axis: attr.int(0),
        });
  const out = c.g.node("Reshape", base, [yk.name, unfoldShape]);
  return outputValue(c, out, identityPerm(innerShape.length + 1));
};

export const wrapperConverters: Record<string, LayerConverter> = { TimeDistributed: timeDistributed };
