// A Conv2D layer (channels last, no dilation, linear or ReLU) whose forward
// pass is one call while the native runtime is on: act(conv(x, W) + b) as
// this backend's FusedConv2D runs it (one native Gemm over the patch matrix
// for deep windows, XNNPACK's direct convolution with bias and ReLU inside
// for shallow ones). tfjs trains a Conv2D layer as a convolution, then a
// bias add, then a ReLU, each a pass over the layer's output (5.5 MB for the
// bench CNN's first layer at batch 64), because its fused convolution does
// not fuse under a gradient tape.
//
// The backward pass is tfjs's own kernels on the ReLU-masked gradient,
// each asked for only when needed (the first layer's input gradient is
// not): the filter gradient, the bias's sum and the input gradient. One
// native graph for the filter and bias gradients with the mask inside was
// measured slower on both of the bench CNN's layers (6.0 against 5.2 ms and
// 6.9 against 4.6 ms): onnxruntime's Where and ReduceSum over the output are
// slower than the wasm SIMD passes, and its Gemm is slow for the first
// layer's 9-deep patches.
//
// tfjs-layers' Conv2D.call is wrapped (layer_routing.ts); the choice
// depends on the layer, the backend and the native switch alone, so a
// resumed run takes the same path at every step.
import {
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  engine,
  getKernel,
  registerGradient,
  sum,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { reluMasked } from "../kernels/relu_grad";
import { DENSE_ACTIVATIONS, type DenseActivation } from "./dense_models";
import { routeLayerCall, type RoutedLayer } from "./layer_routing";
import { registerOnWasm, unregisterFromWasm, type KernelList } from "./wasm_registry";

export const FUSED_CONV2D = "TscolabFusedConv2D";
export const CONV_LAYER_KERNEL_NAMES = [FUSED_CONV2D] as const;

type Padding = "valid" | "same";

interface ConvLayerAttrs {
  strides: [number, number];
  pad: Padding;
  activation: DenseActivation;
  bias: boolean;
}

const convForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as ConvLayerAttrs;
  const fused = getKernel(FusedConv2D, "wasm");
  if (!fused) throw new Error(`${FUSED_CONV2D} needs the wasm FusedConv2D kernel`);
  const fusedAttrs = { strides: a.strides, pad: a.pad, dataFormat: "NHWC", dilations: [1, 1], activation: a.activation };
  return fused.kernelFunc({ inputs, backend, attrs: fusedAttrs as unknown as NamedAttrMap }) as TensorInfo;
};

let gradientRegistered = false;

function registerConvLayerGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  registerGradient({
    kernelName: FUSED_CONV2D,
    inputsToSave: ["x", "filter"],
    outputsToSave: [true],
    // The masked gradient once, here (the gradient computation's scope disposes it); each input's gradient only when asked for.
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const a = attrs as unknown as ConvLayerAttrs;
      const dz = a.activation === "relu" ? reluMasked(dy as Tensor, y) : (dy as Tensor);
      const geometry = { strides: a.strides, pad: a.pad, dataFormat: "NHWC" };
      const grads: Record<string, () => Tensor> = {
        x: () => engine().runKernel(Conv2DBackpropInput, { dy: dz, filter } as NamedTensorMap, { ...geometry, inputShape: x.shape } as unknown as NamedAttrMap) as Tensor,
        filter: () => engine().runKernel(Conv2DBackpropFilter, { x, dy: dz } as NamedTensorMap, { ...geometry, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor,
      };
      if (a.bias) grads.bias = () => sum(dz, [0, 1, 2]);
      return grads;
    },
  });
}

interface Conv2DLayer extends RoutedLayer {
  strides: [number, number];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
}

/** The attributes when this call should take the fused kernels, else null (the layer's own call runs). */
function fusedConvAttrs(layer: Conv2DLayer, x: Tensor): ConvLayerAttrs | null {
  if (!layer.trainable || x.dtype !== "float32" || x.rank !== 4 || layer.dataFormat !== "channelsLast") return null;
  if (!getKernel(FUSED_CONV2D, engine().backendName)) return null;
  if ([layer.dilationRate].flat().some((d) => d !== 1) || (layer.padding !== "valid" && layer.padding !== "same")) return null;
  const activation = (layer.activation?.getClassName() ?? "linear") as DenseActivation;
  if (!DENSE_ACTIVATIONS.includes(activation)) return null;
  const kernel = layer.kernel.read();
  if (kernel.dtype !== "float32" || kernel.rank !== 4 || kernel.shape[2] !== x.shape[3]) return null;
  return { strides: [layer.strides[0], layer.strides[1] ?? layer.strides[0]], pad: layer.padding as Padding, activation, bias: !!layer.bias };
}

function routeConv2D(layer: Conv2DLayer, x: Tensor): ((x: Tensor) => Tensor) | null {
  const attrs = fusedConvAttrs(layer, x);
  if (!attrs) return null;
  return (input) => {
    const bias = layer.bias?.read();
    const operands = (bias ? { x: input, filter: layer.kernel.read(), bias } : { x: input, filter: layer.kernel.read() }) as NamedTensorMap;
    return engine().runKernel(FUSED_CONV2D, operands, attrs as unknown as NamedAttrMap) as Tensor;
  };
}

const KERNELS: KernelList = [[FUSED_CONV2D, convForward]];

/** Registers the Conv2D layer kernels on wasm (native on) and routes tfjs-layers' Conv2D to them. */
export function registerConvLayerKernels(): void {
  registerConvLayerGradient();
  registerOnWasm(KERNELS);
  routeLayerCall("Conv2D", routeConv2D);
}

/** Removes them again (native off): Conv2D layers take their own call. */
export function unregisterConvLayerKernels(): void {
  unregisterFromWasm(KERNELS);
}
