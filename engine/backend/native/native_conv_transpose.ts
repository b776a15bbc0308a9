// A convolution's input gradient (Conv2DBackpropInput) as one onnxruntime
// call. Through a product (dy·Wᵀ, then col2im on wasm) the product's
// [positions, fh·fw·inC] matrix is an output, and the binding copies every
// output into a fresh buffer (8.9 MB a step for the bench CNN's second
// layer); inside one graph that matrix never leaves onnxruntime and dx alone
// comes back. Measured on that layer: 6.0-7.7 ms against 11.8-14.2 ms.
//
// The graph is the product for every image at once (one batched FusedMatMul
// writing the patch matrix in Col2Im's [batch, inC·fh·fw, positions] layout)
// and Col2Im; onnxruntime's ConvTranspose computes the same sums image by
// image with small products (the same bits, measured: 3.5 against 5.5 ms on
// that layer). ConvTranspose stays for geometries whose last rows or columns
// no window reaches, which Col2Im's padding cannot express.
// Layout: dy and dx stay NHWC on the wasm heap; the transposes to and from
// onnxruntime's NCHW are nodes of the same model.
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { attr } from "../../export/onnx/onnx_messages";
import { Graph } from "./graph";
import { NATIVE_CONV_MIN_DEPTH } from "../kernels/conv2d";
import type { ConvGeometry } from "../kernels/conv_layout";
import type { WasmBackendLike } from "../kernels/wasm_heap";
import { NATIVE_MIN_MACS } from "./native_matmul";
import { f32, nativeModel } from "./model";
import { runGraph } from "./run_graph";
import { nativeRuntime } from "./sessions";

interface Placement {
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  /** Rows/columns of dx below/right of every window (they get no gradient). */
  outputPadding: [number, number];
}

/** ConvTranspose's pads so its output is exactly the forward input's height and width. */
export function placement(g: ConvGeometry): Placement {
  const span = (stride: number, out: number, k: number) => stride * (out - 1) + k;
  const bottom = span(g.strideH, g.outH, g.fh) - g.padTop - g.inH;
  const right = span(g.strideW, g.outW, g.fw) - g.padLeft - g.inW;
  return {
    strides: [g.strideH, g.strideW],
    pads: [g.padTop, g.padLeft, Math.max(0, bottom), Math.max(0, right)],
    outputPadding: [Math.max(0, -bottom), Math.max(0, -right)],
  };
}

const keyOf = (p: Placement) => `convT:${p.strides}:${p.pads}:${p.outputPadding}`;

function convTransposeModel(p: Placement): Uint8Array {
  const perm = (name: string, input: string, output: string, order: number[]) => ({
    opType: "Transpose",
    name,
    inputs: [input],
    outputs: [output],
    attributes: { perm: attr.ints(order) },
  });
  return nativeModel(keyOf(p), {
    nodes: [
      perm("dy_nchw", "dy", "dyc", [0, 3, 1, 2]),
      // tfjs filter [fh, fw, inC, outC] → ConvTranspose weight [outC (its input channels), inC, fh, fw]
      perm("weight", "filter", "w", [3, 2, 0, 1]),
      {
        opType: "ConvTranspose",
        name: "convt",
        inputs: ["dyc", "w"],
        outputs: ["dxc"],
        attributes: { strides: attr.ints(p.strides), pads: attr.ints(p.pads), output_padding: attr.ints(p.outputPadding) },
      },
      perm("dx_nhwc", "dxc", "dx", [0, 2, 3, 1]),
    ],
    inputs: [f32("dy", ["n", "oh", "ow", "oc"]), f32("filter", ["fh", "fw", "ic", "oc"])],
    outputs: [f32("dx", ["n", "ih", "iw", "ic"])],
  });
}

/** Col2Im's pads [top, left, bottom, right] so its blocks are the forward's windows, or null when a row or column lies past every window. */
export function col2imPads(g: ConvGeometry): [number, number, number, number] | null {
  const bottom = (g.outH - 1) * g.strideH + g.fh - g.inH - g.padTop;
  const right = (g.outW - 1) * g.strideW + g.fw - g.inW - g.padLeft;
  return bottom < 0 || right < 0 ? null : [g.padTop, g.padLeft, bottom, right];
}

const col2imKey = (g: ConvGeometry, pads: number[]) => `col2im:${g.inH}x${g.inW}x${g.inC}:${g.fh}x${g.fw}:${g.outC}:${g.strideH},${g.strideW}:${pads}`;

/** dx [n, inH, inW, inC] = col2im(Wᵀ·dyᵀ per image) from dy [n, outH·outW, outC] and the filter [fh, fw, inC, outC]. */
export function col2imModel(g: ConvGeometry, pads: [number, number, number, number]): Uint8Array {
  const m = new Graph();
  // W as [inC·fh·fw, outC], channel-major as Col2Im reads its rows.
  const weights = m.op("Reshape", [m.op("Transpose", ["filter"], { perm: attr.ints([2, 0, 1, 3]) }), m.int64s([g.inC * g.fh * g.fw, g.outC])]);
  const patches = m.op("FusedMatMul", [weights, "dy"], { transA: attr.int(0), transB: attr.int(1), alpha: attr.float(1) }, undefined, "com.microsoft");
  const image = m.op("Col2Im", [patches, m.int64s([g.inH, g.inW]), m.int64s([g.fh, g.fw])], { strides: attr.ints([g.strideH, g.strideW]), pads: attr.ints(pads) });
  m.op("Transpose", [image], { perm: attr.ints([0, 2, 3, 1]) }, "dx");
  return m.encode(col2imKey(g, pads), [f32("dy", ["n", g.outH * g.outW, g.outC]), f32("filter", [g.fh, g.fw, g.inC, g.outC])], [f32("dx", ["n", g.inH, g.inW, g.inC])], 18);
}

/** dx (NHWC) for dy (NHWC) and the filter natively, or null when this geometry should stay on wasm. */
export function nativeConvBackpropInput(backend: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo | null {
  if (!nativeRuntime() || dy.dtype !== "float32" || filter.dtype !== "float32") return null;
  const depth = g.fh * g.fw * g.inC;
  // Shallow windows stay on wasm by the forward convolution's measured rule (the same product, transposed).
  if (depth < NATIVE_CONV_MIN_DEPTH || g.batch * g.outH * g.outW * g.outC * depth < NATIVE_MIN_MACS) return null;
  const pads = col2imPads(g);
  if (pads)
    return runGraph(
      backend,
      col2imKey(g, pads),
      () => col2imModel(g, pads),
      [
        { name: "dy", tensor: dy, dims: [g.batch, g.outH * g.outW, g.outC] },
        { name: "filter", tensor: filter, dims: [g.fh, g.fw, g.inC, g.outC] },
      ],
      [{ name: "dx", shape: [g.batch, g.inH, g.inW, g.inC], dims: [g.batch, g.inH, g.inW, g.inC] }],
    )[0];
  const p = placement(g);
  return runGraph(
    backend,
    keyOf(p),
    () => convTransposeModel(p),
    [
      { name: "dy", tensor: dy, dims: [g.batch, g.outH, g.outW, g.outC] },
      { name: "filter", tensor: filter, dims: [g.fh, g.fw, g.inC, g.outC] },
    ],
    [{ name: "dx", shape: [g.batch, g.inH, g.inW, g.inC], dims: [g.batch, g.inH, g.inW, g.inC] }],
  )[0];
}
