// Conv2DBackpropInput for wasm. The stock kernel is a direct scalar loop; here
// the arithmetic goes through XNNPACK and only a scatter-add stays in JS:
//
//   cols = dy · Wᵀ        ([batch·outH·outW, outC] · [outC, fh·fw·inC])
//   dx   = col2im(cols)   (each window position adds its patch back)
import { Conv2DBackpropInput, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { convGeometry, geometryArgs, toChannelsFirst, toChannelsLast, type ConvBackpropAttrs, type ConvGeometry } from "./conv_layout";
import { simdKernelsFor } from "./simd";
import { f32, offsetOf, withShape, type WasmBackendLike } from "./wasm_heap";
import { matMul2d } from "./matmul_2d";
import { nativeConvBackpropInput } from "../native/native_conv_transpose";

interface BackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

/** dx (NHWC, zero-filled by the caller) += col2im(cols [batch·outH·outW, fh·fw·inC]). */
export function col2imAdd(cols: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { batch, inH, inW, inC, outH, outW, fh, fw, strideH, strideW, padTop, padLeft } = g;
  let src = 0;
  for (let b = 0; b < batch; b++) {
    const dxBatch = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let fy = 0; fy < fh; fy++) {
          const iy = oy * strideH - padTop + fy;
          if (iy < 0 || iy >= inH) {
            src += fw * inC;
            continue;
          }
          for (let fx = 0; fx < fw; fx++) {
            const ix = ox * strideW - padLeft + fx;
            if (ix < 0 || ix >= inW) {
              src += inC;
              continue;
            }
            let dst = dxBatch + (iy * inW + ix) * inC;
            for (let c = 0; c < inC; c++) dx[dst++] += cols[src++];
          }
        }
      }
    }
  }
}

const conv2DBackpropInput: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { dy: dyIn, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  const channelsFirst = attrs.dataFormat === "NCHW";
  // For NCHW, run on an NHWC copy of dy and transpose dx back at the end.
  const [n, d1, d2, d3] = attrs.inputShape;
  const nhwcInput: [number, number, number, number] = channelsFirst ? [n, d2, d3, d1] : [n, d1, d2, d3];
  const dy = channelsFirst ? toChannelsLast(backend, dyIn) : dyIn;
  try {
    const g = convGeometry(nhwcInput, filter.shape as [number, number, number, number], attrs.strides, attrs.pad, attrs.dimRoundingMode, "NHWC");
    const native = nativeConvBackpropInput(backend, dy, filter, g);
    if (native) {
      if (!channelsFirst) return native;
      const dxFirst = toChannelsFirst(backend, native);
      backend.disposeData(native.dataId);
      return dxFirst;
    }
    const rows = g.fh * g.fw * g.inC;
    const positions = g.batch * g.outH * g.outW;
    const cols = matMul2d(backend, withShape(dy, [positions, g.outC]), withShape(filter, [rows, g.outC]), false, true);
    const dx = backend.makeOutput(nhwcInput, "float32");
    try {
      const simd = positions > 0 && rows > 0 ? simdKernelsFor(backend) : null;
      if (simd) {
        simd.col2im(offsetOf(backend, cols), offsetOf(backend, dx), ...geometryArgs(g));
      } else {
        const dxData = f32(backend, dx);
        dxData.fill(0);
        col2imAdd(f32(backend, cols), dxData, g);
      }
    } finally {
      backend.disposeData(cols.dataId);
    }
    if (!channelsFirst) return dx;
    const dxFirst = toChannelsFirst(backend, dx);
    backend.disposeData(dx.dataId);
    return dxFirst;
  } finally {
    if (channelsFirst) backend.disposeData(dy.dataId);
  }
};

export function wasmConv2DBackpropInputConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Conv2DBackpropInput, backendName: "wasm", kernelFunc: conv2DBackpropInput, setupFunc };
}
