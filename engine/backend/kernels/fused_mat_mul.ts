// _FusedMatMul (a Dense layer's forward: x·W + b, then its activation) on
// wasm: large products with a per-column bias and an activation ONNX has as
// one op run natively in one call; everything else runs the stock kernel.
import { _FusedMatMul, type _FusedMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { nativeMatMul } from "../native/native_matmul";
import { callStock } from "./stock";
import type { WasmBackendLike } from "./wasm_heap";

const fusedMatMul: KernelFunc = (args) => {
  const { a, b, bias, preluActivationWeights } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as _FusedMatMulAttrs;
  if (!preluActivationWeights) {
    const out = nativeMatMul(args.backend as unknown as WasmBackendLike, { a, b, transposeA, transposeB, bias, activation, leakyAlpha: leakyreluAlpha });
    if (out) return out;
  }
  return callStock(_FusedMatMul, "wasm", args.inputs, args.backend, args.attrs);
};

export function fusedMatMulConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: _FusedMatMul, backendName: "wasm", kernelFunc: fusedMatMul, setupFunc };
}
