// Conv2D and FusedConv2D on wasm, a Conv2D layer's forward: tfjs runs
// FusedConv2D (bias and activation in the kernel) outside gradients and for a
// linear activation, and Conv2D then Add and the activation while training
// with another one. With the native kernels on, a large enough convolution is
// one GEMM,
//
//   y[(b,oy,ox), o] = act(Σ_{fy,fx,c} P[(b,oy,ox), (fy,fx,c)] · W[fy,fx,c,o] + bias[o])
//
// with P the im2col patch matrix [batch·outH·outW, fh·fw·inC] and the filter
// read as [fh·fw·inC, outC] (its NHWC layout already is that matrix), so the
// product is y in NHWC as it stands. A 1×1, stride-1, unpadded convolution
// needs no P at all: x itself is [batch·H·W, inC].
//
// Everything else runs the stock kernel: NCHW, dilations, prelu, native off,
// and shapes where XNNPACK's direct convolution wins. The choice depends on
// the shape alone, never on timing, so a run and its resume take one path.
import { Conv2D, FusedConv2D, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from "@tensorflow/tfjs-core";
import { nativeMatMul, nativeMatMulOn, NATIVE_MIN_MACS } from "../native/native_matmul";
import { NATIVE_ACTIVATIONS, type NativeActivation } from "../native/matmul_models";
import { convGeometry, geometryArgs, type ConvBackpropAttrs, type ConvGeometry } from "./conv_layout";
import { simdKernelsFor } from "./simd";
import { callStock } from "./stock";
import { offsetOf, withShape, type WasmBackendLike } from "./wasm_heap";

/**
 * Shallower patches (fh·fw·inC) than this stay on XNNPACK: with few
 * multiply-adds per output the GEMM is bound by writing its output and the
 * patch matrix, where XNNPACK's direct convolution is not. Measured with
 * bench/conv_forward.ts (batch 64, fresh filter per call, ms per call,
 * median of 15, on a shared 2-core x86 machine, so ranges over runs):
 *   bench CNN conv32 3×3 on 28×28×1 (depth 9):   XNNPACK 1.7–2.1, im2col+MLAS 5.5–9.0 (0.2–0.4×)
 *   bench CNN conv64 3×3 on 13×13×32 (depth 288): XNNPACK 9.9–14.1, im2col+MLAS 5.9–10.0 (1.3–2.2×)
 * and over depths (Conv2D, outC 32/64): 18, 27, 36 lose (0.3–0.6×), 72 is
 * even (0.9–1.05×), 144 and up win (1.2–2.2×); 1×1 with no patch matrix
 * loses at 32 input channels (0.8×) and wins at 64 (1.35×).
 */
export const NATIVE_CONV_MIN_DEPTH = 64;

export interface ConvAttrs extends ConvBackpropAttrs {
  dilations: number | [number, number];
  activation?: string;
  leakyreluAlpha?: number;
}

const isOne = (d: number | [number, number] | undefined) => d == null || (typeof d === "number" ? d === 1 : d.every((v) => v === 1));

/**
 * The geometry of a convolution deep and large enough for one native GEMM over its patch matrix
 * (none is needed when `pointwise`: x itself is that matrix), or null when XNNPACK should keep it.
 */
export function gemmConvPlan(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Pick<ConvAttrs, "strides" | "pad" | "dimRoundingMode">,
  minDepth = NATIVE_CONV_MIN_DEPTH,
): { g: ConvGeometry; depth: number; positions: number; pointwise: boolean } | null {
  const g = convGeometry(xShape, filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode, "NHWC");
  const depth = g.fh * g.fw * g.inC;
  const positions = g.batch * g.outH * g.outW;
  if (depth < minDepth || positions * depth * g.outC < NATIVE_MIN_MACS) return null;
  const pointwise = g.fh === 1 && g.fw === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && g.outH === g.inH && g.outW === g.inW;
  return { g, depth, positions, pointwise };
}

/**
 * act(conv(x, filter) + bias) by im2col and one native GEMM, or null when this
 * call belongs to the stock kernel. `minDepth` is there for the bench, which
 * times shallow layers on both paths.
 */
export function nativeConv2d(
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: ConvAttrs,
  bias?: TensorInfo,
  minDepth = NATIVE_CONV_MIN_DEPTH,
): TensorInfo | null {
  if (!nativeMatMulOn() || attrs.dataFormat === "NCHW" || !isOne(attrs.dilations)) return null;
  if (x.shape.length !== 4 || filter.shape.length !== 4 || x.dtype !== "float32" || filter.dtype !== "float32") return null;
  const activation = (attrs.activation ?? "linear") as NativeActivation;
  if (!NATIVE_ACTIVATIONS.includes(activation)) return null;
  const plan = gemmConvPlan(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs, minDepth);
  if (!plan) return null;
  const { g, depth, positions, pointwise } = plan;
  // One bias value per output channel, as a Conv2D layer has; other broadcasts go to the stock kernel.
  if (bias && (bias.shape.reduce((p, d) => p * d, 1) !== g.outC || bias.shape.slice(0, -1).some((d) => d !== 1))) return null;

  const simd = pointwise ? null : simdKernelsFor(backend);
  if (!pointwise && !simd) return null;
  const cols = simd ? backend.makeOutput([positions, depth], "float32") : null;
  try {
    if (simd && cols) simd.im2col(offsetOf(backend, x), offsetOf(backend, cols), ...geometryArgs(g));
    const a = cols ?? withShape(x, [positions, depth]);
    const b = withShape(filter, [depth, g.outC]);
    const y = nativeMatMul(backend, { a, b, transposeA: false, transposeB: false, bias, activation, leakyAlpha: attrs.leakyreluAlpha });
    return y && withShape(y, [g.batch, g.outH, g.outW, g.outC]);
  } finally {
    if (cols) backend.disposeData(cols.dataId);
  }
}

const conv2d: KernelFunc = (args) => {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  // Conv2D carries no activation attribute; a stray one must not leak into the product.
  const out = nativeConv2d(args.backend as unknown as WasmBackendLike, x, filter, { ...attrs, activation: "linear" });
  return out ?? callStock(Conv2D, "wasm", args.inputs, args.backend, args.attrs as NamedAttrMap);
};

const fusedConv2d: KernelFunc = (args) => {
  const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const out = preluActivationWeights ? null : nativeConv2d(args.backend as unknown as WasmBackendLike, x, filter, attrs, bias);
  return out ?? callStock(FusedConv2D, "wasm", args.inputs, args.backend, args.attrs as NamedAttrMap);
};

export function wasmConv2DConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Conv2D, backendName: "wasm", kernelFunc: conv2d, setupFunc };
}

export function wasmFusedConv2DConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: FusedConv2D, backendName: "wasm", kernelFunc: fusedConv2d, setupFunc };
}
