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
// not): the filter gradient, the bias's sum and the input gradient. A deep
// convolution whose input needs a gradient keeps the patch matrix its Gemm
// read and takes its filter gradient from it (convKeepingPatches). One
// native graph for the filter and bias gradients with the mask inside was
// measured slower on both of the bench CNN's layers (6.0 against 5.2 ms and
// 6.9 against 4.6 ms): onnxruntime's Where and ReduceSum over the output are
// slower than the wasm SIMD passes (its ReduceSum over the first layer's
// [43264, 32] gradient alone took 0.6 ms, twice its Gemm).
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
  sum,
  customGrad,
  matMul,
  reshape,
  type GradSaveFunc,
  type GradConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { gemmConvPlan } from "../kernels/conv2d";
import { convGeometry, geometryArgs, type ConvGeometry } from "../kernels/conv_layout";
import { reluMasked, reluMaskedWithBiasGradient } from "../kernels/relu_grad";
import { simdKernelsFor } from "../kernels/simd";
import { offsetOf, type WasmBackendLike } from "../kernels/wasm_heap";
import { DENSE_ACTIVATIONS, type DenseActivation } from "./dense_models";
import { routeLayerCall, upstreamTrains, type RoutedLayer } from "./layer_routing";
import { FUSED_DENSE } from "./native_dense";
import { nativeMatMulOn } from "./native_matmul";
import { registerOnWasm, unregisterFromWasm, type KernelList } from "./wasm_registry";

export const FUSED_CONV2D = "TscolabFusedConv2D";
export const CONV_PATCHES = "TscolabConvPatches";
/** The layer kernels that hand work to native code (the patch matrix is a wasm SIMD pass, registered beside them). */
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

/** The patch matrix [batch·outH·outW, fh·fw·inC] of x (NHWC) for a filter of `filterShape`. */
const convPatches: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x } = inputs as { x: TensorInfo };
  const a = attrs as unknown as ConvLayerAttrs & { filterShape: [number, number, number, number] };
  const simd = simdKernelsFor(backend);
  if (!simd) throw new Error(`${CONV_PATCHES} needs wasm SIMD`);
  const g = convGeometry(x.shape as [number, number, number, number], a.filterShape, a.strides, a.pad, undefined, "NHWC");
  const patches = b.makeOutput([g.batch * g.outH * g.outW, g.fh * g.fw * g.inC], "float32");
  simd.im2col(offsetOf(b, x), offsetOf(b, patches), ...geometryArgs(g));
  return patches;
};

/** A convolution's input gradient from the (masked) gradient of its output: this backend's Conv2DBackpropInput. */
const inputGradient = (dz: Tensor, filter: Tensor, attrs: ConvLayerAttrs, inputShape: number[]): Tensor =>
  engine().runKernel(
    Conv2DBackpropInput,
    { dy: dz, filter } as NamedTensorMap,
    {
      strides: attrs.strides,
      pad: attrs.pad,
      dataFormat: "NHWC",
      inputShape,
    } as unknown as NamedAttrMap,
  ) as Tensor;

/**
 * The gradient of the convolution before its activation, and after a ReLU with a bias, that
 * gradient's sum over positions from the same pass (null otherwise: the caller sums when asked).
 */
const preActivationGradient = (dy: Tensor, y: Tensor, activation: DenseActivation, bias: boolean): [Tensor, Tensor | null] =>
  activation !== "relu" ? [dy, null] : bias ? reluMaskedWithBiasGradient(dy, y) : [reluMasked(dy, y), null];

const GRADIENTS: GradConfig[] = [
  {
    kernelName: FUSED_CONV2D,
    inputsToSave: ["x", "filter"],
    outputsToSave: [true],
    // The masked gradient once, here (the gradient computation's scope disposes it); each input's gradient only when asked for.
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const a = attrs as unknown as ConvLayerAttrs;
      const [dz, db] = preActivationGradient(dy as Tensor, y, a.activation, a.bias);
      const geometry = { strides: a.strides, pad: a.pad, dataFormat: "NHWC" };
      const grads: Record<string, () => Tensor> = {
        x: () => inputGradient(dz, filter, a, x.shape),
        filter: () => engine().runKernel(Conv2DBackpropFilter, { x, dy: dz } as NamedTensorMap, { ...geometry, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor,
      };
      if (a.bias) grads.bias = () => db ?? sum(dz, [0, 1, 2]);
      return grads;
    },
  },
];

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

/** The geometry when FusedConv2D runs this convolution as one native Gemm over a patch matrix it builds (kernels/conv2d.ts' rule), else null. */
function patchedGeometry(x: Tensor, attrs: ConvLayerAttrs, filterShape: [number, number, number, number]): ConvGeometry | null {
  const plan = gemmConvPlan(x.shape as [number, number, number, number], filterShape, attrs);
  return plan && !plan.pointwise && nativeMatMulOn() && simdKernelsFor(engine().backend) ? plan.g : null;
}

/**
 * A deep convolution (one native Gemm over its patch matrix) whose input needs a gradient: the patch
 * matrix the forward Gemm read is kept for the filter's gradient (Pᵀ·dZ) instead of being built again
 * from x (1.0 ms of 8.9 MB for the bench CNN's second layer). Its gradients are all needed, so they are
 * computed together, as tf.customGrad does.
 */
function convKeepingPatches(attrs: ConvLayerAttrs, filterShape: [number, number, number, number], g: ConvGeometry) {
  const [fh, fw, inC, outC] = filterShape;
  const patchAttrs = { ...attrs, filterShape } as unknown as NamedAttrMap;
  const convolve = (x: Tensor, filter: Tensor, bias: Tensor | null, save: GradSaveFunc) => {
    const patches = engine().runKernel(CONV_PATCHES, { x } as NamedTensorMap, patchAttrs) as Tensor;
    const kernel = reshape(filter, [fh * fw * inC, outC]);
    const operands = (bias ? { x: patches, kernel, bias } : { x: patches, kernel }) as NamedTensorMap;
    const product = engine().runKernel(FUSED_DENSE, operands, { activation: attrs.activation, bias: !!bias, inputGrad: false } as unknown as NamedAttrMap) as Tensor;
    const y = reshape(product, [g.batch, g.outH, g.outW, outC]);
    save([filter, y, patches]);
    const inputShape = x.shape;
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [f, out, p] = saved;
        const [dz, db] = preActivationGradient(dy, out, attrs.activation, !!bias);
        const rows = reshape(dz, [-1, outC]);
        const dx = inputGradient(dz, f, attrs, inputShape);
        const dFilter = reshape(matMul(p, rows, true, false), filterShape);
        return bias ? [dx, dFilter, db ?? sum(rows, 0)] : [dx, dFilter];
      },
    };
  };
  // customGrad passes the inputs, then the function that keeps tensors for the gradient.
  return customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const save = args.pop() as GradSaveFunc;
    const [x, filter, bias] = args as Tensor[];
    return convolve(x, filter, bias ?? null, save);
  });
}

function routeConv2D(layer: Conv2DLayer, x: Tensor): ((x: Tensor) => Tensor) | null {
  const attrs = fusedConvAttrs(layer, x);
  if (!attrs) return null;
  const filterShape = layer.kernel.read().shape as [number, number, number, number];
  const g = patchedGeometry(x, attrs, filterShape);
  if (g && upstreamTrains(layer)) {
    const conv = convKeepingPatches(attrs, filterShape, g);
    return (input) => {
      const bias = layer.bias?.read();
      return bias ? conv(input, layer.kernel.read(), bias) : conv(input, layer.kernel.read());
    };
  }
  return (input) => {
    const bias = layer.bias?.read();
    const operands = (bias ? { x: input, filter: layer.kernel.read(), bias } : { x: input, filter: layer.kernel.read() }) as NamedTensorMap;
    return engine().runKernel(FUSED_CONV2D, operands, attrs as unknown as NamedAttrMap) as Tensor;
  };
}

const KERNELS: KernelList = [
  [FUSED_CONV2D, convForward],
  [CONV_PATCHES, convPatches],
];

/** Registers the Conv2D layer kernels on wasm (native on) and routes tfjs-layers' Conv2D to them. */
export function registerConvLayerKernels(): void {
  registerOnWasm(KERNELS, GRADIENTS);
  routeLayerCall("Conv2D", routeConv2D);
}

/** Removes them again (native off): Conv2D layers take their own call. */
export function unregisterConvLayerKernels(): void {
  unregisterFromWasm(KERNELS);
}
