// Exp and Erf on wasm: large tensors natively (vectorised), the rest stock.
import { Erf, Exp, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { nativeUnary, type NativeUnaryOp } from "../native/native_unary";
import { callStock } from "./stock";
import type { WasmBackendLike } from "./wasm_heap";

function unaryConfig(kernelName: typeof Exp | typeof Erf, op: NativeUnaryOp, setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  const kernelFunc: KernelFunc = (args) =>
    nativeUnary(args.backend as unknown as WasmBackendLike, op, args.inputs.x as TensorInfo) ?? callStock(kernelName, "wasm", args.inputs, args.backend, args.attrs);
  return { kernelName, backendName: "wasm", kernelFunc, setupFunc };
}

export const expConfig = (setupFunc?: KernelConfig["setupFunc"]) => unaryConfig(Exp, "Exp", setupFunc);
export const erfConfig = (setupFunc?: KernelConfig["setupFunc"]) => unaryConfig(Erf, "Erf", setupFunc);
