// Helpers shared by convolutions and pools: layouts, sizes and padding.
import { channelsFirstPerm, identityPerm, physicalShape, type Value } from "../graph_builder";
import { attr, type AttributeValue } from "../onnx_messages";

/** A Keras int-or-list argument as one number per spatial axis. */
export function perAxis(value: number | number[] | undefined | null, spatialRank: number, fallback: number[]): number[] {
  if (value == null) return fallback;
  const list = Array.isArray(value) ? value : [value];
  return list.length === 1 && spatialRank > 1 ? new Array<number>(spatialRank).fill(list[0]!) : list;
}

/** The physical layout ONNX's Conv/Pool expect (N, C, spatial...) for a Keras tensor. */
export function channelsFirstLayout(dataFormat: string | undefined, rank: number): number[] {
  return dataFormat === "channelsFirst" ? identityPerm(rank) : channelsFirstPerm(rank);
}

/**
 * Padding attributes for Keras padding mode. "same" reproduces TensorFlow's
 * rule (the odd pixel goes at the end, i.e. SAME_UPPER); with a known input
 * size the pads are written explicitly, which every runtime agrees on.
 */
export function paddingAttributes(padding: string, x: Value, kernel: number[], strides: number[], dilations: number[]): Record<string, AttributeValue> {
  const spatial = physicalShape(x).slice(2);
  const rank = kernel.length;
  if (padding === "valid") return { pads: attr.ints(new Array<number>(rank * 2).fill(0)) };
  if (padding !== "same") throw new Error(`padding "${padding}" is not supported (tfjs itself runs only valid and same)`);
  if (spatial.some((d) => d == null)) return { auto_pad: attr.string("SAME_UPPER") };
  const begin: number[] = [];
  const end: number[] = [];
  spatial.forEach((size, i) => {
    const out = Math.ceil(size! / strides[i]!);
    const total = Math.max((out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size!, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  });
  return { pads: attr.ints([...begin, ...end]) };
}
