// Elementwise functions whose wasm kernels are scalar loops (exp and erf:
// ~20 and ~10 ns an element, the GELU of a transformer's MLP and its
// softmax) computed by onnxruntime's vectorised MLAS versions in place on
// the wasm heap. Large tensors only, by size alone, so a resume takes the
// same path at every step.
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { DataType, encodeModel } from "../../export/onnx/onnx_messages";
import type { WasmBackendLike } from "../kernels/wasm_heap";
import { countCall, nativeRuntime, sessionFor } from "./sessions";

export const NATIVE_UNARY_OPS = ["Exp", "Erf"] as const;
export type NativeUnaryOp = (typeof NATIVE_UNARY_OPS)[number];

/** Below this many elements a native call's ~10 µs costs more than the scalar loop. */
export const NATIVE_MIN_ELEMENTS = 1 << 15;

function unaryModel(op: NativeUnaryOp): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: "tscolab-native-kernels",
    producerVersion: "1",
    graphName: op,
    nodes: [{ opType: op, name: op, inputs: ["X"], outputs: ["Y"], attributes: {} }],
    initializers: [],
    inputs: [{ name: "X", elemType: DataType.FLOAT, shape: ["n"] }],
    outputs: [{ name: "Y", elemType: DataType.FLOAT, shape: ["n"] }],
    metadata: {},
  });
}

/** op(x) natively into a new tensor, or null when it should stay on wasm. */
export function nativeUnary(backend: WasmBackendLike, op: NativeUnaryOp, x: TensorInfo): TensorInfo | null {
  const rt = nativeRuntime();
  if (!rt || x.dtype !== "float32") return null;
  const n = x.shape.reduce((p, d) => p * d, 1);
  if (n < NATIVE_MIN_ELEMENTS) return null;
  const session = sessionFor(rt, `unary:${op}`, () => unaryModel(op));
  const out = backend.makeOutput(x.shape, "float32");
  const heap = backend.wasm.HEAPU8.buffer; // after the allocation above: it may have grown the heap
  const view = (t: TensorInfo) => new Float32Array(heap, backend.dataIdMap.get(t.dataId).memoryOffset, n);
  try {
    session.run({ X: rt.tensor(view(x), [n]) }, { Y: rt.tensor(view(out), [n]) }, {});
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  countCall(`unary:${op}`);
  return out;
}
