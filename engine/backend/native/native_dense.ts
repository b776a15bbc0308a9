// A Dense layer as two native kernels while the native runtime is on:
//   forward   x·W + b in one Gemm, with a ReLU inside it (any other
//             activation runs after it, as the layer's own would), and
//   backward  dW, db and, when something upstream trains, dx in one call.
// tfjs runs the same layer in training as a product, a bias add and the
// activation (its fused matMul does not fuse under a gradient tape), and its
// backward as the activation's gradient, two products and a column sum, each
// crossing into native code and back.
//
// tfjs-layers' Dense.call is wrapped (layer_routing.ts) so a layer takes
// these kernels when they are registered for the active backend, it trains
// (a frozen layer's weight gradients would be wasted work) and the product
// is large enough for native code to win. That choice depends on the
// shapes, the model, the backend and the native switch alone, so a resumed
// run takes the same path at every step as the uninterrupted one.
import { engine, getKernel, matMul, reshape, type GradConfig, type KernelFunc, type NamedAttrMap, type NamedTensorMap, type Tensor, type TensorInfo } from "@tensorflow/tfjs-core";
import { reluMasked } from "../kernels/relu_grad";
import { withShape, type WasmBackendLike } from "../kernels/wasm_heap";
import { DENSE_ACTIVATIONS, denseGradKey, denseGradModel, type DenseActivation, type DenseVariant } from "./dense_models";
import { NATIVE_MIN_MACS, nativeMatMul } from "./native_matmul";
import { routeLayerCall, upstreamTrains, type RoutedLayer } from "./layer_routing";
import { registerOnWasm, unregisterFromWasm, type KernelList } from "./wasm_registry";
import { rowsOf, runGraph, type GraphFeed } from "./run_graph";

export const FUSED_DENSE = "TscolabFusedDense";
export const FUSED_DENSE_GRAD = "TscolabFusedDenseGrad";
export const DENSE_KERNEL_NAMES = [FUSED_DENSE, FUSED_DENSE_GRAD] as const;

const dense: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, kernel, bias } = inputs as { x: TensorInfo; kernel: TensorInfo; bias?: TensorInfo };
  const { activation } = attrs as unknown as DenseVariant;
  const [rows, inSize] = rowsOf(x);
  // x seen as [rows, in]: the native _FusedMatMul's one Gemm, its product seen with x's leading axes again.
  const y = nativeMatMul(backend as unknown as WasmBackendLike, { a: withShape(x, [rows, inSize]), b: kernel, transposeA: false, transposeB: false, bias, activation });
  if (!y) throw new Error(`${FUSED_DENSE} runs only where a native product does (native on, float32, large enough); got [${x.shape}]·[${kernel.shape}]`);
  return withShape(y, [...x.shape.slice(0, -1), kernel.shape[1] as number]);
};

/** Outputs: dW, then db (with a bias), then dx (when the input needs a gradient). */
const denseGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, kernel, y } = inputs as { dy: TensorInfo; x: TensorInfo; kernel?: TensorInfo; y?: TensorInfo };
  const v = attrs as unknown as DenseVariant;
  const [rows, inSize] = rowsOf(x);
  const units = dy.shape[dy.shape.length - 1];
  const feeds: GraphFeed[] = [
    { name: "DY", tensor: dy, dims: [rows, units] },
    { name: "X", tensor: x, dims: [rows, inSize] },
  ];
  if (v.inputGrad) feeds.push({ name: "W", tensor: kernel as TensorInfo, dims: [inSize, units] });
  if (v.activation === "relu") feeds.push({ name: "Y", tensor: y as TensorInfo, dims: [rows, units] });
  return runGraph(backend as unknown as WasmBackendLike, denseGradKey(v), () => denseGradModel(v), feeds, [
    { name: "DW", shape: [inSize, units], dims: [inSize, units] },
    ...(v.bias ? [{ name: "DB", shape: [units], dims: [units] }] : []),
    ...(v.inputGrad ? [{ name: "DX", shape: x.shape, dims: [rows, inSize] }] : []),
  ]);
};

const GRADIENTS: GradConfig[] = [
  {
    kernelName: FUSED_DENSE,
    inputsToSave: ["x", "kernel"],
    outputsToSave: [true],
    // Every gradient the layer will be asked for runs here, in one call,
    // outside the tidy each input's gradient function runs in (the gradient
    // computation's own scope disposes any not asked for). When nothing
    // upstream trains (the first layer, whose input is the data) the input's
    // gradient is left out of that call; should it be asked for all the same
    // (a gradient with respect to the data), its thunk computes it.
    gradFunc: (dy, saved, attrs) => {
      const [x, kernel, y] = saved;
      const v = attrs as unknown as DenseVariant;
      const relu = v.activation === "relu";
      const inputs = { dy, x, ...(v.inputGrad ? { kernel } : {}), ...(relu ? { y } : {}) } as NamedTensorMap;
      const outs = engine().runKernel(FUSED_DENSE_GRAD, inputs, attrs as unknown as NamedAttrMap) as Tensor[];
      const dx = v.inputGrad ? outs[outs.length - 1] : null;
      const units = kernel.shape[1] as number;
      const inputGradient = () => {
        const dz = relu ? reluMasked(dy as Tensor, y) : (dy as Tensor);
        return reshape(matMul(reshape(dz, [-1, units]), kernel, false, true), x.shape);
      };
      const grads: Record<string, () => Tensor> = { x: dx ? () => dx : inputGradient, kernel: () => outs[0] };
      if (v.bias) grads.bias = () => outs[1];
      return grads;
    },
  },
];

/**
 * The activation the fused kernel applies when this call should take it, else null (the layer's own
 * call runs). ReLU runs inside the Gemm; any other activation (GELU, tanh, sigmoid…) runs after a
 * linear kernel as the layer's own activation would, so its gradient is tfjs's (or a fused one).
 */
function fusedActivation(layer: RoutedLayer, x: Tensor): DenseActivation | null {
  if (!layer.trainable || x.dtype !== "float32" || x.rank < 2 || !getKernel(FUSED_DENSE, engine().backendName)) return null;
  const kernel = layer.kernel.read();
  if (kernel.dtype !== "float32" || kernel.shape[0] !== x.shape[x.rank - 1] || x.size * (kernel.shape[1] ?? 0) < NATIVE_MIN_MACS) return null;
  const activation = layer.activation?.getClassName() ?? "linear";
  return DENSE_ACTIVATIONS.includes(activation as DenseActivation) ? (activation as DenseActivation) : "linear";
}

function routeDense(layer: RoutedLayer, x: Tensor): ((x: Tensor) => Tensor) | null {
  const activation = fusedActivation(layer, x);
  if (!activation) return null;
  const after = activation === "linear" && layer.activation && layer.activation.getClassName() !== "linear" ? layer.activation : null;
  return (input) => {
    const bias = layer.bias?.read();
    const operands = (bias ? { x: input, kernel: layer.kernel.read(), bias } : { x: input, kernel: layer.kernel.read() }) as NamedTensorMap;
    const attrs: DenseVariant = { activation, bias: !!bias, inputGrad: upstreamTrains(layer) };
    const z = engine().runKernel(FUSED_DENSE, operands, attrs as unknown as NamedAttrMap) as Tensor;
    return after ? after.apply(z) : z;
  };
}

const KERNELS: KernelList = [
  [FUSED_DENSE, dense],
  [FUSED_DENSE_GRAD, denseGrad],
];

/** Registers the Dense kernels on wasm (native on) and routes tfjs-layers' Dense to them. */
export function registerDenseKernels(): void {
  registerOnWasm(KERNELS, GRADIENTS);
  routeLayerCall("Dense", routeDense);
}

/** Removes them again (native off): Dense layers take their own call. */
export function unregisterDenseKernels(): void {
  unregisterFromWasm(KERNELS);
}
