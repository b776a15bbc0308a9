// What a layer converter receives and returns, and the shared error helper.
import type * as tf from "@tensorflow/tfjs";
import { TscolabError } from "../../errors";
import type { GraphBuilder, KerasShape, Value } from "./graph_builder";

export interface LayerWeight {
  data: Float32Array;
  shape: number[];
}

export interface LayerConversion {
  g: GraphBuilder;
  layer: tf.layers.Layer;
  className: string;
  /** `layer.getConfig()`: camelCase keys, activations by serialized name. */
  config: Record<string, any>;
  /** The converted inputs of this call of the layer. */
  inputs: Value[];
  /** Keras output shapes of this call (batch = null). */
  outputShapes: KerasShape[];
  /** Converts a call of another layer (for wrappers such as TimeDistributed). */
  convertLayer(layer: tf.layers.Layer, inputs: Value[], outputShapes: KerasShape[]): Value[];
}

/** Converts one call of a layer; returns one Value per output tensor. */
export type LayerConverter = (c: LayerConversion) => Value | Value[];

export function notSupported(c: Pick<LayerConversion, "layer" | "className">, what: string, fix: string): TscolabError {
  return new TscolabError(`ONNX export: layer "${c.layer.name}" (${c.className}) ${what}`, fix);
}

/** A layer's weight by its short name ("kernel", "bias", "gamma", ...), or undefined. */
export function weight(layer: tf.layers.Layer, shortName: string): LayerWeight | undefined {
  const v = layer.weights.find((w) => w.originalName.split("/").pop() === shortName);
  if (!v) return undefined;
  const t = v.read();
  return { data: Float32Array.from(t.dataSync() as Float32Array), shape: [...t.shape] };
}

export function requireWeight(c: LayerConversion, shortName: string): LayerWeight {
  const w = weight(c.layer, shortName);
  if (!w) throw notSupported(c, `has no weight "${shortName}" (is the model built?)`, "call model.predict once or build the model before exporting");
  return w;
}

/** The single input of a one-input layer. */
export function onlyInput(c: LayerConversion): Value {
  if (c.inputs.length !== 1) throw notSupported(c, `expects one input, got ${c.inputs.length}`, "export a model where this layer has one input");
  return c.inputs[0]!;
}

/** A Value for a new tensor with the given Keras shape. */
export function outputValue(c: LayerConversion, name: string, perm: number[], index = 0, dtype: Value["dtype"] = "float32"): Value {
  const shape = c.outputShapes[index];
  if (!shape) throw notSupported(c, "has no known output shape", "build the model before exporting");
  return { name, shape, perm, dtype, masked: c.inputs.some((v) => v.masked) || undefined };
}

/** Transposes a [rows, cols, ...] weight by `perm` (row-major), e.g. HWIO → OIHW. */
export function transposeWeight(w: LayerWeight, perm: number[]): LayerWeight {
  const inShape = w.shape;
  const outShape = perm.map((p) => inShape[p]!);
  const inStrides = inShape.map((_, i) => inShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(w.data.length);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * inStrides[perm[d]!]!;
    out[o] = w.data[src]!;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}
