// DepthwiseConv2dNative's two gradient kernels for wasm, which stock
// tfjs-backend-wasm lacks (so a MobileNet-style model cannot train there).
// Channels-last, channel multiplier `mult`: output channel c·mult+q is input
// channel c through filter[:, :, c, q].
//   dF[fy,fx,c,q] = Σ_{b,oy,ox} x[b, iy, ix, c] · dy[b, oy, ox, c·mult+q]
//   dx[b,iy,ix,c] = Σ_{fy,fx,q} dy[b, oy, ox, c·mult+q] · f[fy, fx, c, q]
// with iy = oy·sh − top + fy·dh, ix = ox·sw − left + fx·dw inside the image.
import { backend_util, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { ConvBackpropAttrs } from "./conv_layout";
import { f32, type WasmBackendLike } from "./wasm_heap";

interface DepthwiseAttrs extends Omit<ConvBackpropAttrs, "dataFormat"> {
  dilations: number | [number, number];
}

/** Visits every (output position, in-image window tap) with element offsets of dy, x and the filter row. */
function forEachTap(info: backend_util.Conv2DInfo, visit: (dyBase: number, xBase: number, fBase: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const dyBase = ((b * outHeight + oy) * outWidth + ox) * outChannels;
        for (let fy = 0; fy < filterHeight; fy++) {
          const iy = oy * strideHeight - top + fy * dilationHeight;
          if (iy < 0 || iy >= inHeight) continue;
          for (let fx = 0; fx < filterWidth; fx++) {
            const ix = ox * strideWidth - left + fx * dilationWidth;
            if (ix < 0 || ix >= inWidth) continue;
            visit(dyBase, ((b * inHeight + iy) * inWidth + ix) * inChannels, (fy * filterWidth + fx) * outChannels);
          }
        }
      }
    }
  }
}

export function depthwiseFilterGrad(x: Float32Array, dy: Float32Array, dF: Float32Array, info: backend_util.Conv2DInfo): void {
  const inC = info.inChannels;
  const mult = info.outChannels / inC;
  dF.fill(0);
  forEachTap(info, (dyBase, xBase, fBase) => {
    for (let c = 0; c < inC; c++) {
      const xv = x[xBase + c];
      const o = c * mult;
      for (let q = 0; q < mult; q++) dF[fBase + o + q] += xv * dy[dyBase + o + q];
    }
  });
}

export function depthwiseInputGrad(dy: Float32Array, filter: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo): void {
  const inC = info.inChannels;
  const mult = info.outChannels / inC;
  dx.fill(0);
  forEachTap(info, (dyBase, xBase, fBase) => {
    for (let c = 0; c < inC; c++) {
      const o = c * mult;
      let s = 0;
      for (let q = 0; q < mult; q++) s += dy[dyBase + o + q] * filter[fBase + o + q];
      dx[xBase + c] += s;
    }
  });
}

function convInfo(xShape: number[], filterShape: number[], attrs: DepthwiseAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

/**
 * A gradient kernel: `shapes` names the tensor shapes (x's and the filter's)
 * and the output shape; `compute` fills the output from two input views.
 */
function gradKernel(
  inputNames: [string, string],
  shapes: (inputs: TensorInfo[], attrs: Record<string, unknown>) => { x: number[]; filter: number[]; out: number[] },
  compute: (first: Float32Array, second: Float32Array, out: Float32Array, info: backend_util.Conv2DInfo) => void,
): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackendLike;
    const [first, second] = inputNames.map((n) => inputs[n] as TensorInfo);
    const a = attrs as unknown as DepthwiseAttrs;
    const s = shapes([first, second], attrs as Record<string, unknown>);
    const info = convInfo(s.x, s.filter, a);
    const out = b.makeOutput(s.out, "float32");
    compute(f32(b, first), f32(b, second), f32(b, out), info); // views after the allocation
    return out;
  };
}

const filterGrad = gradKernel(["x", "dy"], ([x], attrs) => ({ x: x.shape, filter: attrs.filterShape as number[], out: attrs.filterShape as number[] }), depthwiseFilterGrad);

const inputGrad = gradKernel(
  ["dy", "filter"],
  ([, filter], attrs) => ({ x: attrs.inputShape as number[], filter: filter.shape, out: attrs.inputShape as number[] }),
  depthwiseInputGrad,
);

export function wasmDepthwiseFilterGradConfig(): KernelConfig {
  return { kernelName: DepthwiseConv2dNativeBackpropFilter, backendName: "wasm", kernelFunc: filterGrad };
}

export function wasmDepthwiseInputGradConfig(): KernelConfig {
  return { kernelName: DepthwiseConv2dNativeBackpropInput, backendName: "wasm", kernelFunc: inputGrad };
}
