// SimpleRNN, GRU, LSTM and Bidirectional as ONNX's RNN / GRU / LSTM ops.
//
// ONNX recurrent ops read X as [time, batch, features] (layout 0, which every
// runtime implements); the Keras [batch, time, features] input becomes that by
// a relabelling of axes (perm [1, 0, 2]), and returned sequences stay
// time-major until a later layer needs Keras order.
import type * as tf from "@tensorflow/tfjs";
import { identityPerm, type Value } from "../graph_builder";
import { notSupported, onlyInput, outputValue, weight, type LayerConversion, type LayerConverter, type LayerWeight } from "../layer_conversion";
import { attr } from "../onnx_messages";

interface CellKind {
  op: "RNN" | "GRU" | "LSTM";
  gates: number;
  /** ONNX gate j is Keras gate order[j]: LSTM Keras i,f,c,o → ONNX i,o,f,c; GRU z,r,h in both. */
  order: number[];
  /** The ONNX activation list from the Keras config. */
  activations(config: Record<string, any>): (string | undefined)[];
}

const ONNX_ACTIVATION: Record<string, string> = {
  tanh: "Tanh",
  sigmoid: "Sigmoid",
  hardSigmoid: "HardSigmoid", // ONNX's default alpha 0.2, beta 0.5 = tfjs' hardSigmoid
  relu: "Relu",
  softsign: "Softsign",
  softplus: "Softplus",
};

const KINDS: Record<string, CellKind> = {
  SimpleRNN: { op: "RNN", gates: 1, order: [0], activations: (k) => [ONNX_ACTIVATION[k.activation ?? "tanh"]] },
  GRU: { op: "GRU", gates: 3, order: [0, 1, 2], activations: (k) => [ONNX_ACTIVATION[k.recurrentActivation ?? "hardSigmoid"], ONNX_ACTIVATION[k.activation ?? "tanh"]] },
  LSTM: {
    op: "LSTM",
    gates: 4,
    order: [0, 3, 1, 2],
    activations: (k) => [ONNX_ACTIVATION[k.recurrentActivation ?? "hardSigmoid"], ONNX_ACTIVATION[k.activation ?? "tanh"], ONNX_ACTIVATION[k.activation ?? "tanh"]],
  },
};

/** Keras [rows, gates·units] (gate blocks side by side) → ONNX [gates·units, rows] in ONNX gate order. */
function gateMajor(w: LayerWeight, kind: CellKind, units: number): Float32Array {
  const rows = w.shape[0]!;
  const cols = kind.gates * units;
  const out = new Float32Array(cols * rows);
  kind.order.forEach((kg, j) => {
    for (let u = 0; u < units; u++) for (let r = 0; r < rows; r++) out[(j * units + u) * rows + r] = w.data[r * cols + kg * units + u]!;
  });
  return out;
}

function gateBias(b: Float32Array, kind: CellKind, units: number): Float32Array {
  const out = new Float32Array(kind.gates * units);
  kind.order.forEach((kg, j) => out.set(b.subarray(kg * units, (kg + 1) * units), j * units));
  return out;
}

/** W, R, B of one direction, flattened in ONNX order. */
function directionWeights(c: LayerConversion, cell: tf.layers.Layer, kind: CellKind, units: number) {
  const kernel = weight(cell, "kernel");
  const recurrent = weight(cell, "recurrent_kernel");
  if (!kernel || !recurrent) throw notSupported(c, "has no kernel or recurrent_kernel (is the model built?)", "build the model before exporting");
  const bias = (cell.getConfig() as Record<string, any>).useBias === false ? undefined : weight(cell, "bias");
  const B = new Float32Array(2 * kind.gates * units); // [Wb, Rb]; Keras has one bias, Rb stays 0
  if (bias) B.set(gateBias(bias.data, kind, units), 0);
  return { W: gateMajor(kernel, kind, units), R: gateMajor(recurrent, kind, units), B, inputSize: kernel.shape[0]! };
}

function checkCell(c: LayerConversion, cell: tf.layers.Layer, kind: CellKind, x: Value): Record<string, any> {
  const k = cell.getConfig() as Record<string, any>;
  if (x.masked) throw notSupported(c, "receives a mask (Embedding maskZero), which ONNX's recurrent ops cannot honour", "use maskZero: false, or export with --formats tfjs");
  if (k.stateful) throw notSupported(c, "is stateful", "export a stateless copy of the model");
  if (k.returnState) throw notSupported(c, "returns its state", "use returnState: false");
  if (k.goBackwards && c.className !== "Bidirectional") throw notSupported(c, "runs backwards (goBackwards)", "wrap the layer in Bidirectional or use goBackwards: false");
  if (k.resetAfter) throw notSupported(c, "uses resetAfter", "use resetAfter: false");
  const acts = kind.activations(k);
  if (acts.some((a) => a === undefined)) {
    throw notSupported(c, `uses activations ${k.recurrentActivation ?? ""}/${k.activation} that ONNX recurrent ops lack`, `use ${Object.keys(ONNX_ACTIVATION).join(", ")}`);
  }
  return k;
}

/**
 * Runs `cells` (one, or forward + backward) over x and merges like Keras:
 * the sequence [N, T, H·d] or the last output [N, H·d].
 */
function recurrent(c: LayerConversion, cells: tf.layers.Layer[], mergeMode: string): Value {
  const g = c.g;
  const className = cells[0]!.getClassName();
  const kind = KINDS[className];
  if (!kind) throw notSupported(c, `wraps ${className}, which the converter does not support`, "use SimpleRNN, GRU or LSTM");
  const v = onlyInput(c);
  if (v.shape.length !== 3) throw notSupported(c, `got an input of rank ${v.shape.length}`, "give it [batch, time, features]");
  const configs = cells.map((cell) => checkCell(c, cell, kind, v));
  const units = configs[0]!.units as number;
  const returnSequences = !!configs[0]!.returnSequences;
  const dirs = cells.map((cell) => directionWeights(c, cell, kind, units));
  const D = dirs.length;
  const cat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), (at += p.length));
    return out;
  };
  const base = c.layer.name;
  const x = g.withPerm(v, [1, 0, 2]); // time-major
  const inputSize = dirs[0]!.inputSize;
  const inputs = [
    x.name,
    g.constant(`${base}/W`, cat(dirs.map((d) => d.W)), [D, kind.gates * units, inputSize]),
    g.constant(`${base}/R`, cat(dirs.map((d) => d.R)), [D, kind.gates * units, units]),
    g.constant(`${base}/B`, cat(dirs.map((d) => d.B)), [D, 2 * kind.gates * units]),
  ];
  const [Y, Yh] = g.nodeOutputs(kind.op, base, inputs, [returnSequences, !returnSequences], {
    hidden_size: attr.int(units),
    direction: attr.string(D === 2 ? "bidirectional" : "forward"),
    // one activation list per direction, forward first
    activations: attr.strings(configs.flatMap((k) => kind.activations(k) as string[])),
    ...(kind.op === "GRU" ? { linear_before_reset: attr.int(0) } : {}),
  });
  // Y: [T, D, N, H]; Y_h: [D, N, H]. Pick each direction (Gather with a scalar index drops the axis).
  const axis = returnSequences ? 1 : 0;
  const source = returnSequences ? Y! : Yh!;
  const parts = Array.from({ length: D }, (_, d) =>
    g.node("Gather", base, [source, g.constant(`${base}/direction${d}`, BigInt64Array.from([BigInt(d)]), [])], { axis: attr.int(axis) }),
  );
  const lastAxis = returnSequences ? 2 : 1;
  let y = parts[0]!;
  if (D === 2) {
    if (mergeMode === "concat") y = g.node("Concat", base, parts, { axis: attr.int(lastAxis) });
    else if (mergeMode === "sum") y = g.node("Add", base, parts);
    else if (mergeMode === "mul") y = g.node("Mul", base, parts);
    else if (mergeMode === "ave") y = g.node("Mul", base, [g.node("Add", base, parts), g.scalar(0.5)]);
    else throw notSupported(c, `merges directions with "${mergeMode}"`, "use mergeMode concat, sum, mul or ave");
  }
  return outputValue(c, y, returnSequences ? [1, 0, 2] : identityPerm(2));
}

const plain: LayerConverter = (c) => {
  // SimpleRNN/GRU/LSTM keep their weights on the layer itself (the cell's live there too).
  return recurrent(c, [c.layer], "concat");
};

const bidirectional: LayerConverter = (c) => {
  const b = c.layer as unknown as { forwardLayer: tf.layers.Layer; backwardLayer: tf.layers.Layer };
  if (!b.forwardLayer || !b.backwardLayer) throw notSupported(c, "has no forward/backward layers", "build the model before exporting");
  return recurrent(c, [b.forwardLayer, b.backwardLayer], c.config.mergeMode ?? "concat");
};

export const recurrentConverters: Record<string, LayerConverter> = {
  SimpleRNN: plain,
  GRU: plain,
  LSTM: plain,
  Bidirectional: bidirectional,
};
