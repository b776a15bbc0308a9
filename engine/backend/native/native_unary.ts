// Elementwise functions whose wasm kernels are scalar loops (exp and erf:
// ~20 and ~10 ns an element, the GELU of a transformer's MLP and its
// softmax) computed by onnxruntime's vectorised MLAS versions in place on
// the wasm heap. Large tensors only, by size alone, so a resume takes the
// same path at every step.
import { util, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackendLike } from "../kernels/wasm_heap";
import { f32, nativeModel } from "./model";
import { runGraph } from "./run_graph";
import { nativeRuntime } from "./sessions";

export const NATIVE_UNARY_OPS = ["Exp", "Erf"] as const;
export type NativeUnaryOp = (typeof NATIVE_UNARY_OPS)[number];

/** Below this many elements a native call's ~10 µs costs more than the scalar loop. */
export const NATIVE_MIN_ELEMENTS = 1 << 15;

function unaryModel(op: NativeUnaryOp): Uint8Array {
  return nativeModel(op, {
    nodes: [{ opType: op, name: op, inputs: ["X"], outputs: ["Y"], attributes: {} }],
    inputs: [f32("X", ["n"])],
    outputs: [f32("Y", ["n"])],
  });
}

/** op(x) natively into a new tensor, or null when it should stay on wasm. */
export function nativeUnary(backend: WasmBackendLike, op: NativeUnaryOp, x: TensorInfo): TensorInfo | null {
  if (!nativeRuntime() || x.dtype !== "float32") return null;
  const n = util.sizeFromShape(x.shape);
  if (n < NATIVE_MIN_ELEMENTS) return null;
  return runGraph(backend, `unary:${op}`, () => unaryModel(op), [{ name: "X", tensor: x, dims: [n] }], [{ name: "Y", shape: x.shape, dims: [n] }])[0];
}
