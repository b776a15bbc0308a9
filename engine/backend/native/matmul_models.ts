// The one-node ONNX models the native matMul kernels run: each shape of a
// call is free (symbolic dimensions), so one session serves every size of a
// variant. Variants differ by transposes, bias and fused activation only.
import { attr, type NodeDef, type ValueInfoDef } from "../../export/onnx/onnx_messages";
import { f32, floatScalar, nativeModel } from "./model";

/** Activations tfjs fuses into _FusedMatMul that ONNX has as one op with the same definition. */
export const NATIVE_ACTIVATIONS = ["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu"] as const;
export type NativeActivation = (typeof NATIVE_ACTIVATIONS)[number];

export interface MatMulVariant {
  transposeA: boolean;
  transposeB: boolean;
  /** True for rank-3 operands [batch, rows, cols] (batch may be 1 on one side: it broadcasts). */
  batched: boolean;
  bias: boolean;
  activation: NativeActivation;
  /** LeakyRelu's slope (part of the model: ONNX takes it as an attribute). */
  leakyAlpha?: number;
}

export const variantKey = (v: MatMulVariant): string =>
  `${v.batched ? "bmm" : "gemm"}:${+v.transposeA}${+v.transposeB}:${v.bias ? "bias" : "nobias"}:${v.activation}${v.activation === "leakyrelu" ? `(${v.leakyAlpha})` : ""}`;

function activationNode(v: MatMulVariant, input: string, output: string): NodeDef | null {
  const node = (opType: string, attributes: NodeDef["attributes"] = {}): NodeDef => ({ opType, name: "activation", inputs: [input], outputs: [output], attributes });
  switch (v.activation) {
    case "linear":
      return null;
    case "relu":
      return node("Relu");
    case "sigmoid":
      return node("Sigmoid");
    case "elu":
      return node("Elu", { alpha: attr.float(1) });
    case "leakyrelu":
      return node("LeakyRelu", { alpha: attr.float(v.leakyAlpha ?? 0.2) });
    case "relu6":
      // Clip takes its bounds as inputs from opset 11: constants in the graph.
      return { opType: "Clip", name: "activation", inputs: [input, "zero", "six"], outputs: [output], attributes: {} };
  }
}

/** The ONNX model (opset 17) computing act(op(A)·op(B) + C) for one variant. */
export function matMulModel(v: MatMulVariant): Uint8Array {
  const nodes: NodeDef[] = [];
  const inputs: ValueInfoDef[] = [];
  const act = activationNode(v, "product", "Y");
  const productName = act ? "product" : "Y";
  if (!v.batched) {
    inputs.push(f32("A", ["a0", "a1"]), f32("B", ["b0", "b1"]));
    if (v.bias) inputs.push(f32("C", ["c0"]));
    nodes.push({
      opType: "Gemm",
      name: "gemm",
      inputs: v.bias ? ["A", "B", "C"] : ["A", "B"],
      outputs: [productName],
      attributes: { transA: attr.int(+v.transposeA), transB: attr.int(+v.transposeB) },
    });
  } else {
    // onnxruntime's FusedMatMul takes the transposes as attributes and packs them like Gemm does
    // (a Transpose node before a MatMul would copy the operand first).
    inputs.push(f32("A", ["ab", "a1", "a2"]), f32("B", ["bb", "b1", "b2"]));
    const matmul = (output: string): NodeDef => ({
      opType: "FusedMatMul",
      domain: "com.microsoft",
      name: "matmul",
      inputs: ["A", "B"],
      outputs: [output],
      attributes: { transA: attr.int(+v.transposeA), transB: attr.int(+v.transposeB), alpha: attr.float(1) },
    });
    if (v.bias) {
      inputs.push(f32("C", ["c0"]));
      nodes.push(matmul("unbiased"));
      nodes.push({ opType: "Add", name: "bias", inputs: ["unbiased", "C"], outputs: [productName], attributes: {} });
    } else {
      nodes.push(matmul(productName));
    }
  }
  if (act) nodes.push(act);
  return nativeModel(variantKey(v), {
    nodes,
    initializers: v.activation === "relu6" ? [floatScalar("zero", 0), floatScalar("six", 6)] : [],
    inputs,
    outputs: [f32("Y", v.batched ? ["yb", "y1", "y2"] : ["y0", "y1"])],
  });
}
