// Exports take raw inputs: the training normalisation x' = (x - mean) / std
// moves inside the exported graph, built only from stock layers so stock
// tfjs (and the ONNX converter) load it with no extra code.
//
// - Folded: when the first layer with weights is a Dense reading the input
//   (directly, or through InputLayer / Flatten / Dropout), the formula is
//   folded into its kernel and bias: W'[i,j] = W[i,j] / std[i] and
//   b'[j] = b[j] - sum_i mean[i] / std[i] * W[i,j] (computed in float64,
//   stored as float32). Same layers, same weight count; only float rounding
//   differs from normalising first.
// - Prepended: otherwise (a Conv2D first layer, whose zero padding and
//   shared weights rule folding out) a BatchNormalization layer in inference
//   form does it, behind Flatten and before a Reshape back for inputs of rank
//   above 1: moving_mean = mean, moving_variance = std², gamma =
//   sqrt(std² + epsilon) / std, beta = 0.
// The result is a new model built from the trained one's artifacts; the
// trained model is left untouched.
import * as tf from "@tensorflow/tfjs";
import { captureModel } from "./tfjs_files";

export interface Normalization {
  mean: number[];
  std: number[];
}

export interface RawInputModel {
  /** The model to export; the trained model itself when there is nothing to move. */
  model: tf.LayersModel;
  /** What was done: nothing to do, folded into a layer, prepended as layers, or impossible (the metadata keeps the formula). */
  how: "none" | "folded" | "prepended" | "kept-outside";
  /** The layer folded into, or the layers prepended. */
  layers: string[];
  message: string;
}

type LayerJson = { class_name: string; name?: string; config: Record<string, unknown>; inbound_nodes?: unknown[] };
type Topology = { class_name: string; config: { name?: string; layers: LayerJson[]; input_layers?: unknown[]; output_layers?: unknown[] } };

/** Layers that pass each example's values through unchanged at inference (Flatten keeps the row-major order the statistics use). */
const PASS_THROUGH = new Set(["InputLayer", "Flatten", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout"]);
const BN_EPSILON = 1e-3;
const PREFIX = "raw_input";

const layerName = (l: LayerJson) => String(l.config.name ?? l.name);

/** The layers in the order an input reaches them, when the graph is a simple chain from its single input (else null). */
function entryChain(topology: Topology): LayerJson[] | null {
  const layers = topology.config.layers;
  if (topology.class_name === "Sequential") return layers;
  const inputs = topology.config.input_layers ?? [];
  if (inputs.length !== 1) return null;
  const byName = new Map(layers.map((l) => [layerName(l), l]));
  const chain: LayerJson[] = [];
  let current = byName.get(String((inputs[0] as unknown[])[0]));
  while (current) {
    chain.push(current);
    const name = layerName(current);
    const consumers = layers.filter((l) => JSON.stringify(l.inbound_nodes ?? []).includes(`["${name}",`));
    if (consumers.length !== 1 || !PASS_THROUGH.has(current.class_name)) break;
    current = consumers[0];
  }
  return chain;
}

const byteSize = (s: tf.io.WeightsManifestEntry) => s.shape.reduce((a, b) => a * b, 1) * (s.dtype === "float32" || s.dtype === "int32" ? 4 : s.dtype === "bool" ? 1 : 8);

function decode(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const s of specs) {
    if (s.dtype === "float32") out.set(s.name, new Float32Array(data.slice(offset, offset + byteSize(s))));
    offset += byteSize(s);
  }
  return out;
}

/** The weight buffer for `specs`: changed or new weights from `values`, the others' bytes as captured. */
function encode(
  specs: tf.io.WeightsManifestEntry[],
  values: Map<string, Float32Array>,
  captured: { weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer },
): ArrayBuffer {
  const old = new Map<string, Uint8Array>();
  let offset = 0;
  for (const s of captured.weightSpecs) {
    old.set(s.name, new Uint8Array(captured.weightData, offset, byteSize(s)));
    offset += byteSize(s);
  }
  const parts = specs.map((s) => {
    const v = values.get(s.name);
    return v ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : old.get(s.name)!;
  });
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

async function load(topology: Topology, specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, trainingConfig?: tf.io.TrainingConfig): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology as unknown as tf.io.ModelJSON["modelTopology"], weightSpecs: specs, weightData: data, trainingConfig }));
}

/** Folds the normalisation into a Dense layer reading the flat input of `size` values. */
function fold(dense: LayerJson, specs: tf.io.WeightsManifestEntry[], values: Map<string, Float32Array>, norm: Normalization): tf.io.WeightsManifestEntry[] | null {
  const name = layerName(dense);
  const kernelSpec = specs.find((s) => s.name.endsWith("/kernel") && s.name.slice(0, -"/kernel".length).split("/").pop() === name);
  if (!kernelSpec || kernelSpec.shape.length !== 2 || kernelSpec.shape[0] !== norm.mean.length) return null;
  const [rows, units] = kernelSpec.shape;
  const kernel = values.get(kernelSpec.name)!;
  const biasName = kernelSpec.name.replace(/kernel$/, "bias");
  let bias = values.get(biasName);
  let out = specs;
  if (!bias) {
    // A Dense without bias (before a BatchNormalization) gets one: the shift needs it.
    dense.config.use_bias = true;
    bias = new Float32Array(units);
    out = [...specs];
    out.splice(specs.indexOf(kernelSpec) + 1, 0, { name: biasName, shape: [units], dtype: "float32" });
  }
  const newKernel = new Float32Array(kernel.length);
  const newBias = new Float32Array(units);
  for (let j = 0; j < units; j++) {
    let shift = bias[j];
    for (let i = 0; i < rows; i++) {
      const w = kernel[i * units + j];
      newKernel[i * units + j] = w / norm.std[i];
      shift -= (norm.mean[i] / norm.std[i]) * w;
    }
    newBias[j] = shift;
  }
  values.set(kernelSpec.name, newKernel);
  values.set(biasName, newBias);
  return out;
}

/** BatchNormalization (and Flatten / Reshape around it for inputs of rank > 1) in front of the first layer. */
function prepend(topology: Topology, inputShape: number[], norm: Normalization, specs: tf.io.WeightsManifestEntry[], values: Map<string, Float32Array>): string[] {
  const size = norm.mean.length;
  const layers = topology.config.layers;
  const bnName = `${PREFIX}_normalization`;
  const flat = inputShape.length > 1;
  const bn: LayerJson = {
    class_name: "BatchNormalization",
    config: { axis: -1, momentum: 0.99, epsilon: BN_EPSILON, center: true, scale: true, name: bnName, trainable: false },
  };
  const added: LayerJson[] = flat
    ? [
        { class_name: "Flatten", config: { name: `${PREFIX}_flatten`, trainable: false } },
        bn,
        { class_name: "Reshape", config: { name: `${PREFIX}_reshape`, target_shape: inputShape, trainable: false } },
      ]
    : [bn];
  if (topology.class_name === "Sequential") {
    const first = layers[0];
    const batchInputShape = first.config.batch_input_shape ?? [null, ...inputShape];
    delete first.config.batch_input_shape;
    added[0].config.batch_input_shape = batchInputShape;
    added[0].config.dtype = "float32";
    layers.unshift(...added);
  } else {
    const inputName = String((topology.config.input_layers![0] as unknown[])[0]);
    let previous = inputName;
    for (const l of added) {
      l.name = layerName(l);
      l.inbound_nodes = [[[previous, 0, 0, {}]]];
      previous = layerName(l);
    }
    const last = previous;
    for (const l of layers) {
      if (l.inbound_nodes) l.inbound_nodes = JSON.parse(JSON.stringify(l.inbound_nodes).split(`["${inputName}",`).join(`["${last}",`));
    }
    const at = layers.findIndex((l) => layerName(l) === inputName);
    layers.splice(at + 1, 0, ...added);
  }
  const variance = new Float32Array(size);
  const gamma = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    variance[i] = norm.std[i] * norm.std[i];
    gamma[i] = Math.sqrt(variance[i] + BN_EPSILON) / norm.std[i];
  }
  const entries: [string, Float32Array][] = [
    ["gamma", gamma],
    ["beta", new Float32Array(size)],
    ["moving_mean", Float32Array.from(norm.mean)],
    ["moving_variance", variance],
  ];
  for (const [w, v] of entries) {
    specs.push({ name: `${bnName}/${w}`, shape: [size], dtype: "float32" });
    values.set(`${bnName}/${w}`, v);
  }
  return added.map(layerName);
}

/**
 * The model with `norm` inside its graph, taking raw inputs. `how` says
 * which way; "kept-outside" (several inputs, integer inputs, a size that does
 * not match) leaves the model as it is and the metadata's formula to the consumer.
 */
export async function rawInputModel(model: tf.LayersModel, norm: Normalization | null | undefined): Promise<RawInputModel> {
  if (!norm) return { model, how: "none", layers: [], message: "no normalisation: the model takes its inputs as they are" };
  const keep = (why: string): RawInputModel => ({
    model,
    how: "kept-outside",
    layers: [],
    message: `normalisation kept outside the graph: ${why}; apply (x - mean) / std from the metadata`,
  });
  if (model.inputs.length !== 1) return keep(`the model has ${model.inputs.length} inputs`);
  const input = model.inputs[0];
  if (input.dtype !== "float32") return keep(`its input is ${input.dtype}`);
  const inputShape = input.shape.slice(1) as (number | null)[];
  if (inputShape.some((d) => d === null)) return keep("its input has a dimension of unknown size");
  const size = (inputShape as number[]).reduce((a, b) => a * b, 1);
  if (size !== norm.mean.length || norm.std.length !== norm.mean.length) return keep(`the statistics have ${norm.mean.length} values but the input has ${size} per example`);

  const captured = await captureModel(model);
  const topology = JSON.parse(JSON.stringify(captured.modelTopology)) as Topology;
  let specs = [...captured.weightSpecs];
  const values = decode(specs, captured.weightData);
  const chain = entryChain(topology);
  const firstReal = chain?.find((l) => !PASS_THROUGH.has(l.class_name));
  // A Dense reading the flat input (rank 1, or through Flatten) folds; anything else gets a prepended layer.
  const flatBefore = inputShape.length === 1 || !!chain?.slice(0, chain.indexOf(firstReal!)).some((l) => l.class_name === "Flatten");
  const folded = firstReal?.class_name === "Dense" && flatBefore ? fold(firstReal, specs, values, norm) : null;
  let how: RawInputModel["how"];
  let layers: string[];
  if (folded) {
    specs = folded;
    how = "folded";
    layers = [layerName(firstReal!)];
  } else {
    if (!chain) return keep("the model's graph has no single entry chain");
    layers = prepend(topology, inputShape as number[], norm, specs, values);
    how = "prepended";
  }
  const rebuilt = await load(topology, specs, encode(specs, values, captured), captured.trainingConfig);
  const message =
    how === "folded"
      ? `normalisation (x - mean) / std folded into the kernel and bias of layer "${layers[0]}": the export takes raw inputs`
      : `normalisation (x - mean) / std added as stock layers ${layers.map((l) => `"${l}"`).join(", ")} in front of the model: the export takes raw inputs`;
  return { model: rebuilt, how, layers, message };
}
