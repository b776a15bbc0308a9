// Fused kernels that exist only while the native runtime is on: GELU,
// layer normalization and multi-head self-attention, forward and backward,
// each one call in place on the wasm heap: into the graphs of
// fused_models.ts, or for layer normalization one wasm SIMD pass (see
// layerNorm below). They are registered through
// tfjs's public kernel and gradient registries under names of their own;
// callers ask getKernel(name, backend) and fall back to the tfjs ops they
// replace when it is absent (another backend, native off, a loaded export).
//
// tfjs-layers' "gelu" activation is one of those callers: its apply is
// wrapped so a Dense layer's GELU takes the fused kernel when it is there.
// Which path runs depends on the backend and the native switch alone, both
// fixed for a process, so a resumed run takes the same path at every step.
import {
  engine,
  getKernel,
  serialization,
  util,
  type GradConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { simdKernelsFor } from "../kernels/simd";
import { offsetOf, type WasmBackendLike } from "../kernels/wasm_heap";
import { attentionGradModel, attentionModel, geluGradModel, geluModel, layerNormGradModel, layerNormModel, type AttentionShape } from "./fused_models";
import { registerOnWasm, unregisterFromWasm, type KernelList } from "./wasm_registry";
import { rowsOf, runGraph, type GraphFeed } from "./run_graph";

export const FUSED_GELU = "TscolabFusedGelu";
export const FUSED_GELU_GRAD = "TscolabFusedGeluGrad";
export const FUSED_LAYER_NORM = "TscolabFusedLayerNorm";
export const FUSED_LAYER_NORM_GRAD = "TscolabFusedLayerNormGrad";
export const FUSED_ATTENTION = "TscolabFusedAttention";
export const FUSED_ATTENTION_GRAD = "TscolabFusedAttentionGrad";
export const FUSED_KERNEL_NAMES = [FUSED_GELU, FUSED_GELU_GRAD, FUSED_LAYER_NORM, FUSED_LAYER_NORM_GRAD, FUSED_ATTENTION, FUSED_ATTENTION_GRAD] as const;

const gelu: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const n = [util.sizeFromShape(x.shape)];
  return runGraph(backend as unknown as WasmBackendLike, "fused:Gelu", geluModel, [{ name: "X", tensor: x, dims: n }], [{ name: "Y", shape: x.shape, dims: n }])[0];
};

const geluGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const n = [util.sizeFromShape(x.shape)];
  return runGraph(
    backend as unknown as WasmBackendLike,
    "fused:GeluGrad",
    geluGradModel,
    [
      { name: "DY", tensor: dy, dims: n },
      { name: "X", tensor: x, dims: n },
    ],
    [{ name: "DX", shape: x.shape, dims: n }],
  )[0];
};

/** A layer norm call's epsilon and the rows × d view of x and γ both directions feed. */
function layerNormPlan(x: TensorInfo, gamma: TensorInfo, attrs: unknown) {
  const { epsilon } = attrs as { epsilon: number };
  const [rows, d] = rowsOf(x);
  const feeds: GraphFeed[] = [
    { name: "X", tensor: x, dims: [rows, d] },
    { name: "G", tensor: gamma, dims: [d] },
  ];
  return { epsilon, rows, d, feeds };
}

// Layer norm streams its rows once or twice with a few operations per element: one wasm SIMD
// pass beats a native call, whose output the binding copies (on the bench transformer's [2048, 256]
// rows the native graph took 1.2 ms forward and 2.8 backward inside a step). The graphs serve a
// backend without SIMD.
const layerNorm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const p = layerNormPlan(x, gamma, attrs);
  const b = backend as unknown as WasmBackendLike;
  const simd = simdKernelsFor(backend);
  if (simd) {
    const out = b.makeOutput(x.shape, "float32");
    simd.layerNorm(offsetOf(b, x), offsetOf(b, gamma), offsetOf(b, beta), offsetOf(b, out), p.rows, p.d, p.epsilon);
    return out;
  }
  return runGraph(
    b,
    `fused:LayerNorm(${p.epsilon})`,
    () => layerNormModel(p.epsilon),
    [...p.feeds, { name: "B", tensor: beta, dims: [p.d] }],
    [{ name: "Y", shape: x.shape, dims: [p.rows, p.d] }],
  )[0];
};

const layerNormGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; gamma: TensorInfo };
  const p = layerNormPlan(x, gamma, attrs);
  const b = backend as unknown as WasmBackendLike;
  const simd = simdKernelsFor(backend);
  if (simd) {
    const [dx, dgamma, dbeta] = [b.makeOutput(x.shape, "float32"), b.makeOutput(gamma.shape, "float32"), b.makeOutput(gamma.shape, "float32")];
    simd.layerNormGrad(offsetOf(b, dy), offsetOf(b, x), offsetOf(b, gamma), offsetOf(b, dx), offsetOf(b, dgamma), offsetOf(b, dbeta), p.rows, p.d, p.epsilon);
    return [dx, dgamma, dbeta];
  }
  return runGraph(
    b,
    `fused:LayerNormGrad(${p.epsilon})`,
    () => layerNormGradModel(p.epsilon),
    [{ name: "DY", tensor: dy, dims: [p.rows, p.d] }, ...p.feeds],
    [
      { name: "DX", shape: x.shape, dims: [p.rows, p.d] },
      { name: "DG", shape: gamma.shape, dims: [p.d] },
      { name: "DB", shape: gamma.shape, dims: [p.d] },
    ],
  );
};

/** The additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above (what the attention layer adds). */
const causalMasks = new Map<number, Float32Array>();
function causalMask(t: number): Float32Array {
  let mask = causalMasks.get(t);
  if (!mask) {
    mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -1e9;
    causalMasks.set(t, mask);
  }
  return mask;
}

interface AttentionAttrs {
  heads: number;
  causal: boolean;
}

/** The graph's shape and feeds shared by the forward and backward kernels of attention over `qkv` [batch, T, 3·d]. */
function attentionPlan(qkv: TensorInfo, attrs: AttentionAttrs): { shape: AttentionShape; key: string; qkvFeed: GraphFeed; mask: GraphFeed[] } {
  const [b, t, packed] = qkv.shape;
  const shape: AttentionShape = { heads: attrs.heads, headSize: packed / 3 / attrs.heads, causal: !!attrs.causal };
  return {
    shape,
    key: `heads=${shape.heads},headSize=${shape.headSize},${shape.causal ? "causal" : "full"}`,
    qkvFeed: { name: "QKV", tensor: qkv, dims: [b, t, 3, shape.heads, shape.headSize] },
    mask: shape.causal ? [{ name: "MASK", tensor: causalMask(t), dims: [t, t] }] : [],
  };
}

const attention: KernelFunc = ({ inputs, backend, attrs }) => {
  const { qkv } = inputs as { qkv: TensorInfo };
  const plan = attentionPlan(qkv, attrs as unknown as AttentionAttrs);
  const [b, t, packed] = qkv.shape;
  return runGraph(
    backend as unknown as WasmBackendLike,
    `fused:Attention(${plan.key})`,
    () => attentionModel(plan.shape),
    [plan.qkvFeed, ...plan.mask],
    [{ name: "O", shape: [b, t, packed / 3], dims: [b, t, plan.shape.heads, plan.shape.headSize] }],
  )[0];
};

const attentionGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, qkv } = inputs as { dy: TensorInfo; qkv: TensorInfo };
  const plan = attentionPlan(qkv, attrs as unknown as AttentionAttrs);
  const [b, t, packed] = qkv.shape;
  return runGraph(
    backend as unknown as WasmBackendLike,
    `fused:AttentionGrad(${plan.key})`,
    () => attentionGradModel(plan.shape),
    [{ name: "DO", tensor: dy, dims: [b, t, plan.shape.heads, plan.shape.headSize] }, plan.qkvFeed, ...plan.mask],
    [{ name: "DQKV", shape: qkv.shape, dims: plan.qkvFeed.dims }],
  )[0];
};

const KERNELS: KernelList = [
  [FUSED_GELU, gelu],
  [FUSED_GELU_GRAD, geluGrad],
  [FUSED_LAYER_NORM, layerNorm],
  [FUSED_LAYER_NORM_GRAD, layerNormGrad],
  [FUSED_ATTENTION, attention],
  [FUSED_ATTENTION_GRAD, attentionGrad],
];

const GRADIENTS: GradConfig[] = [
  {
    kernelName: FUSED_GELU,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => engine().runKernel(FUSED_GELU_GRAD, { dy: dy as Tensor, x: saved[0] }, {}) as Tensor }),
  },
  {
    kernelName: FUSED_ATTENTION,
    inputsToSave: ["qkv"],
    gradFunc: (dy, saved, attrs) => ({
      qkv: () => engine().runKernel(FUSED_ATTENTION_GRAD, { dy: dy as Tensor, qkv: saved[0] }, attrs as unknown as NamedAttrMap) as Tensor,
    }),
  },
  {
    kernelName: FUSED_LAYER_NORM,
    inputsToSave: ["x", "gamma"],
    // One call gives all three gradients. It runs here, outside the tidy each
    // input's gradient function runs in, so the two not yet asked for survive
    // until theirs is (the gradient computation's own scope disposes any left).
    gradFunc: (dy, saved, attrs) => {
      const [dx, dgamma, dbeta] = engine().runKernel(FUSED_LAYER_NORM_GRAD, { dy: dy as Tensor, x: saved[0], gamma: saved[1] }, attrs as unknown as NamedAttrMap) as Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  },
];

/** The class tfjs-layers deserializes the "gelu" activation into, and its own apply. */
let geluActivation: { proto: { apply(x: Tensor): Tensor }; stockApply: (x: Tensor) => Tensor } | null = null;

function routeGeluActivation(): void {
  if (geluActivation) return;
  const entry = serialization.SerializationMap.getMap().classNameMap["gelu"] as unknown as [{ prototype: { apply(x: Tensor): Tensor } }] | undefined;
  if (!entry) return; // tfjs-layers not loaded: nothing deserializes "gelu" yet
  const proto = entry[0].prototype;
  const stockApply = proto.apply;
  geluActivation = { proto, stockApply };
  proto.apply = function (this: unknown, x: Tensor): Tensor {
    if (x.dtype === "float32" && getKernel(FUSED_GELU, engine().backendName)) return engine().runKernel(FUSED_GELU, { x } as NamedTensorMap, {}) as Tensor;
    return stockApply.call(this, x);
  };
}

/** Registers the fused kernels on wasm (native on). */
export function registerFusedKernels(): void {
  registerOnWasm(KERNELS, GRADIENTS);
  routeGeluActivation();
}

/** Removes them again (native off): callers take their tfjs ops. */
export function unregisterFusedKernels(): void {
  unregisterFromWasm(KERNELS);
}

/** True while `backendName` has the fused kernels. */
export const fusedKernelsOn = (backendName: string): boolean => !!getKernel(FUSED_LAYER_NORM, backendName);
