// layersModelToOnnx: a tfjs LayersModel (Sequential or functional, nested
// models included) → the bytes of an ONNX ModelProto.
//
// The walk follows tfjs' own graph: every call of a layer is an inbound node
// whose input SymbolicTensors are mapped to already-converted ONNX values;
// nodes are converted as soon as all their inputs are known, so any
// topological order (and shared or nested layers) works.
import type * as tf from "@tensorflow/tfjs";
import { version as tfjsVersion } from "@tensorflow/tfjs";
import { TscolabError } from "../../errors";
import { GraphBuilder, identityPerm, type KerasShape, type Value } from "./graph_builder";
import { notSupported } from "./layer_conversion";
import { layerConverters, supportedLayerClasses } from "./layer_converters";
import { DataType, encodeModel, type Dim, type ValueInfoDef } from "./onnx_messages";
import { irVersionFor, onnxExportOptionsSchema, type OnnxExportOptions } from "./options";
import { tscolabVersion } from "./tscolab_version";

/** protobuf messages cannot exceed 2 GiB; ONNX external data is not supported here. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;

type SymbolicTensor = tf.SymbolicTensor;
type Container = tf.LayersModel;

function isContainer(layer: tf.layers.Layer): layer is tf.layers.Layer & Container {
  // Duck-typed so models made by another copy of tfjs (a notebook's) convert too.
  const l = layer as unknown as Partial<Container>;
  return Array.isArray(l.layers) && Array.isArray(l.inputs) && Array.isArray(l.outputs);
}

function convertLayerCall(g: GraphBuilder, layer: tf.layers.Layer, inputs: Value[], outputShapes: KerasShape[]): Value[] {
  const className = layer.getClassName();
  if (isContainer(layer)) return convertContainer(g, layer, inputs);
  const converter = layerConverters[className];
  if (!converter) {
    throw new TscolabError(
      `ONNX export: layer "${layer.name}" (${className}) is not supported by the ONNX converter`,
      `use layers the converter knows (${supportedLayerClasses().join(", ")}), or export with --formats tfjs`,
    );
  }
  const result = converter({
    g,
    layer,
    className,
    config: layer.getConfig() as Record<string, any>,
    inputs,
    outputShapes,
    convertLayer: (inner, innerInputs, innerShapes) => convertLayerCall(g, inner, innerInputs, innerShapes),
  });
  const values = Array.isArray(result) ? result : [result];
  if (values.length !== outputShapes.length)
    throw notSupported({ layer, className }, `has ${outputShapes.length} outputs, the converter made ${values.length}`, "report this model");
  return values;
}

function convertContainer(g: GraphBuilder, model: Container, inputs: Value[]): Value[] {
  const values = new Map<number, Value>();
  model.inputs.forEach((t, i) => values.set(t.id, inputs[i]!));
  const converted = new Set<string>();
  for (let progress = true; progress;) {
    progress = false;
    for (const layer of model.layers) {
      if (layer.getClassName() === "InputLayer") continue;
      layer.inboundNodes.forEach((node, index) => {
        const key = `${layer.name}#${index}`;
        if (converted.has(key) || !node.inputTensors.every((t) => values.has(t.id))) return;
        const outs = convertLayerCall(
          g,
          layer,
          node.inputTensors.map((t) => values.get(t.id)!),
          node.outputTensors.map((t) => t.shape),
        );
        node.outputTensors.forEach((t, i) => values.set(t.id, outs[i]!));
        converted.add(key);
        progress = true;
      });
    }
  }
  return model.outputs.map((t) => {
    const v = values.get(t.id);
    if (!v)
      throw new TscolabError(`ONNX export: model "${model.name}" output "${t.name}" is not reachable from its inputs`, "export a model whose outputs are computed from its inputs");
    return v;
  });
}

function elemType(dtype: string, what: string): typeof DataType.FLOAT | typeof DataType.INT32 {
  if (dtype === "float32") return DataType.FLOAT;
  if (dtype === "int32") return DataType.INT32;
  throw new TscolabError(`ONNX export: ${what} has dtype ${dtype}`, "use float32 or int32 model inputs");
}

function dims(shape: (number | null)[], batchDim: string, tensorName: string): Dim[] {
  return shape.map((d, i) => (d != null ? d : i === 0 ? batchDim : `${tensorName}_dim${i}`));
}

/**
 * Converts a tfjs LayersModel to an ONNX model (ModelProto bytes): default
 * opset 17, weights as raw_data initializers, a symbolic batch dimension,
 * producer and metadata_props filled. Inputs and outputs keep Keras' shapes
 * (channels-last images stay NHWC at the boundary). Throws TscolabError
 * naming the first layer it cannot convert.
 */
export function layersModelToOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  const opts = onnxExportOptionsSchema.parse(options);
  if (!model || !isContainer(model as unknown as tf.layers.Layer)) {
    throw new TscolabError("ONNX export: expected a tf.LayersModel (tf.sequential or tf.model)", "pass the model object, e.g. layersModelToOnnx(model)");
  }
  const g = new GraphBuilder(opts.opset);
  const names = (list: string[] | undefined, tensors: SymbolicTensor[], fallback: (t: SymbolicTensor) => string) => tensors.map((t, i) => list?.[i] || fallback(t));
  const inputNames = names(model.inputNames, model.inputs, (t) => t.name);
  const outputNames = names(model.outputNames, model.outputs, (t) => t.sourceLayer?.name ?? t.name);

  const inputs: ValueInfoDef[] = [];
  const inputValues = model.inputs.map((t, i) => {
    const name = g.reserve(inputNames[i]!);
    inputs.push({ name, elemType: elemType(t.dtype, `input "${name}"`), shape: dims(t.shape, opts.batchDimName, name) });
    return { name, shape: t.shape, perm: identityPerm(t.shape.length), dtype: t.dtype as Value["dtype"] } satisfies Value;
  });
  const reservedOutputs = outputNames.map((n) => g.uniqueName(n));

  const results = convertContainer(g, model, inputValues);
  const outputs: ValueInfoDef[] = [];
  const wiring = results.map((v, i) => {
    const k = g.keras(v);
    outputs.push({ name: reservedOutputs[i]!, elemType: elemType(k.dtype, `output "${reservedOutputs[i]}"`), shape: dims(k.shape, opts.batchDimName, reservedOutputs[i]!) });
    return { value: k.name, name: reservedOutputs[i]! };
  });
  g.finalize(wiring, new Set(inputs.map((v) => v.name)));

  const weightBytes = g.initializers.reduce((n, t) => n + t.raw.length, 0);
  if (weightBytes > MAX_PROTO_BYTES - 64 * 1024 * 1024) {
    throw new TscolabError(`ONNX export: the weights (${weightBytes} bytes) exceed protobuf's 2 GiB limit for one file`, "export with --formats tfjs for models this large");
  }
  return encodeModel({
    irVersion: irVersionFor(opts.opset),
    opsetVersion: opts.opset,
    producerName: opts.producer,
    producerVersion: opts.producerVersion ?? tscolabVersion(),
    docString: `Converted from a TensorFlow.js ${model.getClassName()} by tscolab's ONNX converter. Inputs and outputs keep Keras' (channels-last) layout.`,
    graphName: opts.graphName ?? model.name,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs,
    outputs,
    metadata: { tfjs_version: tfjsVersion.tfjs, ...opts.metadata },
  });
}
