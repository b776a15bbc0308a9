// MaxPoolGrad for wasm. The stock kernel is a generic 3-D pooling loop that is
// slow (≈65 ms for the bench CNN's first pool at batch 64) and, unlike the cpu
// kernel, sends the gradient of a tie to the last maximum (and of an all-zero
// window after relu to element 0). This one follows the cpu kernel: each
// output's gradient goes to the FIRST maximum of its window.
import { MaxPoolGrad, backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { simdKernelsFor } from "./simd";
import { geometryArgs, type ConvGeometry } from "./conv_layout";
import { f32, offsetOf, type WasmBackendLike } from "./wasm_heap";

interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** dx (zero-filled by the caller) += dy routed to each window's first maximum in x (all NHWC). */
export function maxPoolBackprop(x: Float32Array, dy: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { batch, inH, inW, inC: c, outH, outW, fh, fw, strideH, strideW, padTop, padLeft } = g;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * inH * inW * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(inH, y0 + fh);
      for (let ox = 0; ox < outW; ox++, o += c) {
        const x0 = ox * strideW - padLeft;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(inW, x0 + fw);
        best.fill(-Infinity);
        where.fill(-1);
        // Row-major scan of the window, strictly greater: the first maximum wins.
        for (let iy = yLo; iy < yHi; iy++) {
          for (let ix = xLo; ix < xHi; ix++) {
            const p = base + (iy * inW + ix) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[p + ch];
              if (v > best[ch]) {
                best[ch] = v;
                where[ch] = p + ch;
              }
            }
          }
        }
        for (let ch = 0; ch < c; ch++) if (where[ch] >= 0) dx[where[ch]] += dy[o + ch];
      }
    }
  }
}

const maxPoolGrad: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const attrs = args.attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const g: ConvGeometry = {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    fh: info.effectiveFilterHeight,
    fw: info.effectiveFilterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  const dx = backend.makeOutput(input.shape, "float32");
  const simd = simdKernelsFor(backend);
  if (simd) {
    // Windows that tile the input (2×2 stride 2 and the like): each element is written once, no zero fill and scatter.
    const tiles = g.strideH === g.fh && g.strideW === g.fw && g.padTop === 0 && g.padLeft === 0 && g.outH * g.fh <= g.inH && g.outW * g.fw <= g.inW;
    if (tiles) simd.maxPoolGradTiles(offsetOf(backend, input), offsetOf(backend, dy), offsetOf(backend, dx), g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.fh, g.fw);
    else simd.maxPoolGrad(offsetOf(backend, input), offsetOf(backend, dy), offsetOf(backend, dx), ...geometryArgs(g));
    return dx;
  }
  const dxData = f32(backend, dx);
  dxData.fill(0);
  maxPoolBackprop(f32(backend, input), f32(backend, dy), dxData, g);
  return dx;
};

export function wasmMaxPoolGradConfig(): KernelConfig {
  return { kernelName: MaxPoolGrad, backendName: "wasm", kernelFunc: maxPoolGrad };
}
