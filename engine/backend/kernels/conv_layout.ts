// Shared by the conv backprop kernels: geometry from tfjs's own conv-info
// helper (so 'same'/'valid'/explicit padding and rounding match stock tfjs),
// and NCHW↔NHWC moves so the im2col code only ever sees channels-last.
import { Transpose, backend_util, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock } from "./stock";
import type { WasmBackendLike } from "./wasm_heap";
import type { ConvGeometryArgs } from "./simd";

/** Attributes shared by Conv2DBackpropFilter and Conv2DBackpropInput. */
export interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** Window geometry in NHWC; pooling uses it too (inC = channels, outC unused). */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fh: number;
  fw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** The geometry as the argument list of the SIMD kernels (simd/kernels.wat). */
export function geometryArgs(g: ConvGeometry): ConvGeometryArgs {
  return [g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.fh, g.fw, g.strideH, g.strideW, g.padTop, g.padLeft];
}

export function convGeometry(
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: backend_util.ExplicitPadding | "valid" | "same" | number,
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
  dataFormat: "NHWC" | "NCHW",
): ConvGeometry {
  const info = backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** NCHW → NHWC copy (caller disposes). */
export function toChannelsLast(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  return callStock(Transpose, "wasm", { x }, backend, { perm: [0, 2, 3, 1] });
}

/** NHWC → NCHW copy (caller disposes). */
export function toChannelsFirst(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  return callStock(Transpose, "wasm", { x }, backend, { perm: [0, 3, 1, 2] });
}
