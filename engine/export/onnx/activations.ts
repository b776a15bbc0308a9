// Keras activation functions (by their tfjs serialized names) as ONNX nodes.
// Each one is elementwise except (log)softmax, so it works in any physical
// layout; softmax is taken over the physical axis holding Keras' last axis.
import { TscolabError } from "../../errors";
import { physicalAxis, type GraphBuilder, type Value } from "./graph_builder";
import { attr } from "./onnx_messages";

/** Opset in which ONNX added the op (below it we spell the formula out). */
const GELU_OPSET = 20;
const MISH_OPSET = 18;

export const SUPPORTED_ACTIVATIONS = [
  "linear",
  "relu",
  "relu6",
  "sigmoid",
  "hardSigmoid",
  "tanh",
  "softmax",
  "logSoftmax",
  "elu",
  "selu",
  "softplus",
  "softsign",
  "swish",
  "mish",
  "gelu",
  "gelu_new",
] as const;

const unary = (g: GraphBuilder, v: Value, op: string, base: string, attributes = {}): Value => ({
  ...v,
  name: g.node(op, base, [v.name], attributes),
});

/** x * 0.5 * (1 + erf(x / sqrt(2))), tfjs' exact GELU. */
function geluErf(g: GraphBuilder, v: Value, base: string): Value {
  const scaled = g.node("Div", base, [v.name, g.scalar(Math.SQRT2)]);
  const erf = g.node("Erf", base, [scaled]);
  const onePlus = g.node("Add", base, [erf, g.scalar(1)]);
  const half = g.node("Mul", base, [onePlus, g.scalar(0.5)]);
  return { ...v, name: g.node("Mul", base, [v.name, half]) };
}

/** 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), tfjs' gelu_new. */
function geluTanh(g: GraphBuilder, v: Value, base: string): Value {
  const x3 = g.node("Mul", base, [g.node("Mul", base, [v.name, v.name]), v.name]);
  const inner = g.node("Add", base, [v.name, g.node("Mul", base, [x3, g.scalar(0.044715)])]);
  const t = g.node("Tanh", base, [g.node("Mul", base, [inner, g.scalar(Math.sqrt(2 / Math.PI))])]);
  const onePlus = g.node("Add", base, [t, g.scalar(1)]);
  const halfX = g.node("Mul", base, [v.name, g.scalar(0.5)]);
  return { ...v, name: g.node("Mul", base, [halfX, onePlus]) };
}

/** Softmax (or LogSoftmax) over Keras axis `kerasAxis`. */
export function softmax(g: GraphBuilder, v: Value, base: string, kerasAxis = -1, log = false): Value {
  return unary(g, v, log ? "LogSoftmax" : "Softmax", base, { axis: attr.int(physicalAxis(v, kerasAxis)) });
}

/** Applies a Keras activation by name; "linear" (or none) returns `v` unchanged. */
export function applyActivation(g: GraphBuilder, v: Value, activation: string | null | undefined, base: string, layerClass: string): Value {
  switch (activation ?? "linear") {
    case "linear":
      return v;
    case "relu":
      return unary(g, v, "Relu", base);
    case "relu6":
      return { ...v, name: g.node("Clip", base, [v.name, g.scalar(0), g.scalar(6)]) };
    case "sigmoid":
      return unary(g, v, "Sigmoid", base);
    case "hardSigmoid": // tfjs: clip(0.2 x + 0.5, 0, 1), ONNX's defaults
      return unary(g, v, "HardSigmoid", base, { alpha: attr.float(0.2), beta: attr.float(0.5) });
    case "tanh":
      return unary(g, v, "Tanh", base);
    case "softmax":
      return softmax(g, v, base);
    case "logSoftmax":
      return softmax(g, v, base, -1, true);
    case "elu":
      return unary(g, v, "Elu", base, { alpha: attr.float(1) });
    case "selu": // ONNX's default alpha/gamma equal tfjs' constants in float32
      return unary(g, v, "Selu", base);
    case "softplus":
      return unary(g, v, "Softplus", base);
    case "softsign":
      return unary(g, v, "Softsign", base);
    case "swish":
      return { ...v, name: g.node("Mul", base, [v.name, g.node("Sigmoid", base, [v.name])]) };
    case "mish":
      if (g.opset >= MISH_OPSET) return unary(g, v, "Mish", base);
      return { ...v, name: g.node("Mul", base, [v.name, g.node("Tanh", base, [g.node("Softplus", base, [v.name])])]) };
    case "gelu":
      return g.opset >= GELU_OPSET ? unary(g, v, "Gelu", base, { approximate: attr.string("none") }) : geluErf(g, v, base);
    case "gelu_new":
      return g.opset >= GELU_OPSET ? unary(g, v, "Gelu", base, { approximate: attr.string("tanh") }) : geluTanh(g, v, base);
    default:
      throw new TscolabError(
        `ONNX export: layer "${base}" (${layerClass}) uses activation "${activation}", which the ONNX converter does not support`,
        `use one of ${SUPPORTED_ACTIVATIONS.join(", ")}, or export with --formats tfjs`,
      );
  }
}
