// Conv2DBackpropFilter for wasm (stock tfjs-backend-wasm has none, so a CNN
// cannot train there at all).
//
//   dW[fy,fx,c,o] = Σ_{b,oy,ox} x[b, oy·sh+fy−top, ox·sw+fx−left, c] · dy[b,oy,ox,o]
//
// i.e. dW = Pᵀ · dy with P the im2col patch matrix. We write Pᵀ directly
// ([fh·fw·inC, batch·outH·outW], zeros where the window hangs over the
// padding) so the product is a plain non-transposed XNNPACK matMul.
import { Conv2DBackpropFilter, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { convGeometry, geometryArgs, toChannelsLast, type ConvBackpropAttrs, type ConvGeometry } from "./conv_layout";
import { simdKernelsFor } from "./simd";
import { f32, offsetOf, withShape, type WasmBackendLike } from "./wasm_heap";
import { matMul2d } from "./matmul_2d";

interface BackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Fills cols (row-major [fh·fw·inC, batch·outH·outW]) from x (NHWC). */
export function im2colTransposed(x: Float32Array, cols: Float32Array, g: ConvGeometry): void {
  const { batch, inH, inW, inC, outH, outW, fh, fw, strideH, strideW, padTop, padLeft } = g;
  let idx = 0;
  for (let fy = 0; fy < fh; fy++) {
    for (let fx = 0; fx < fw; fx++) {
      // Output columns whose window column stays inside the image: a range.
      const oxLo = Math.max(0, Math.ceil((padLeft - fx) / strideW));
      const oxHi = Math.min(outW, Math.floor((inW - 1 + padLeft - fx) / strideW) + 1);
      for (let c = 0; c < inC; c++) {
        for (let b = 0; b < batch; b++) {
          const xBatch = b * inH * inW * inC;
          for (let oy = 0; oy < outH; oy++) {
            const iy = oy * strideH - padTop + fy;
            if (iy < 0 || iy >= inH || oxLo >= oxHi) {
              cols.fill(0, idx, idx + outW);
              idx += outW;
              continue;
            }
            for (let ox = 0; ox < oxLo; ox++) cols[idx++] = 0;
            let src = xBatch + (iy * inW + oxLo * strideW - padLeft + fx) * inC + c;
            const step = strideW * inC;
            for (let ox = oxLo; ox < oxHi; ox++, src += step) cols[idx++] = x[src];
            for (let ox = oxHi; ox < outW; ox++) cols[idx++] = 0;
          }
        }
      }
    }
  }
}

const conv2DBackpropFilter: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const inputs = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  const channelsFirst = attrs.dataFormat === "NCHW";
  const x = channelsFirst ? toChannelsLast(backend, inputs.x) : inputs.x;
  const dy = channelsFirst ? toChannelsLast(backend, inputs.dy) : inputs.dy;
  try {
    const g = convGeometry(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode, "NHWC");
    const rows = g.fh * g.fw * g.inC;
    const positions = g.batch * g.outH * g.outW;
    const simd = positions > 0 && rows > 0 ? simdKernelsFor(backend) : null;
    // P [positions, rows] copies each tap's inC channels as one run, then Pᵀ·dy (a transposed
    // product). With fewer channels than a vector those runs are a float or three, so Pᵀ is built
    // instead, whose rows are runs of image rows (one channel, stride 1: whole vectors), and the
    // product is a plain one: 2.1 → 1.4 ms for the bench CNN's first layer (x 64×28×28×1).
    // Without SIMD, Pᵀ is built in JS.
    const transposedPatches = !simd || g.inC < 4;
    const cols = backend.makeOutput(transposedPatches ? [rows, positions] : [positions, rows], "float32");
    try {
      if (simd && transposedPatches) simd.im2colTransposed(offsetOf(backend, x), offsetOf(backend, cols), ...geometryArgs(g));
      else if (simd) simd.im2col(offsetOf(backend, x), offsetOf(backend, cols), ...geometryArgs(g));
      else im2colTransposed(f32(backend, x), f32(backend, cols), g);
      const dW = matMul2d(backend, cols, withShape(dy, [positions, g.outC]), !transposedPatches, false);
      return withShape(dW, [g.fh, g.fw, g.inC, g.outC]);
    } finally {
      backend.disposeData(cols.dataId);
    }
  } finally {
    if (channelsFirst) {
      backend.disposeData(x.dataId);
      backend.disposeData(dy.dataId);
    }
  }
};

export function wasmConv2DBackpropFilterConfig(): KernelConfig {
  return { kernelName: Conv2DBackpropFilter, backendName: "wasm", kernelFunc: conv2DBackpropFilter };
}
