// Add, Multiply, Average, Maximum, Minimum and Concatenate.
import type { Value } from "../graph_builder";
import { physicalAxis } from "../graph_builder";
import { notSupported, outputValue, type LayerConversion, type LayerConverter } from "../layer_conversion";
import { attr } from "../onnx_messages";

/** All inputs in one physical layout: the first input's when ranks agree, else Keras order. */
function aligned(c: LayerConversion): Value[] {
  if (c.inputs.length < 2) throw notSupported(c, `needs at least two inputs, got ${c.inputs.length}`, "pass a list of tensors");
  const first = c.inputs[0]!;
  const sameRank = c.inputs.every((v) => v.shape.length === first.shape.length);
  return c.inputs.map((v) => (sameRank ? c.g.withPerm(v, first.perm) : c.g.keras(v)));
}

function elementwise(op: "Add" | "Mul" | "Max" | "Min", average = false): LayerConverter {
  return (c) => {
    const xs = aligned(c);
    let y = xs[0]!.name;
    for (const x of xs.slice(1)) y = c.g.node(op, c.layer.name, [y, x.name]);
    if (average) y = c.g.node("Div", c.layer.name, [y, c.g.scalar(xs.length)]);
    return outputValue(c, y, xs[0]!.perm);
  };
}

const concatenate: LayerConverter = (c) => {
  const xs = aligned(c);
  const axis = physicalAxis(xs[0]!, c.config.axis ?? -1);
  return outputValue(
    c,
    c.g.node(
      "Concat",
      c.layer.name,
      xs.map((x) => x.name),
      { axis: attr.int(axis) },
    ),
    xs[0]!.perm,
  );
};

export const mergeConverters: Record<string, LayerConverter> = {
  Add: elementwise("Add"),
  Multiply: elementwise("Mul"),
  Average: elementwise("Add", true),
  Maximum: elementwise("Max"),
  Minimum: elementwise("Min"),
  Concatenate: concatenate,
};
