// tscolab's wasm kernels against tfjs's stock cpu kernels: random shapes,
// transposes, batch sizes, strides and paddings, forward values and
// gradients through tf.grad. Nothing is mocked: real tfjs math on both sides.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { installFastKernels, patchesInForce, uninstallFastKernels } from "../engine/backend/kernels";
import type { WasmBackendLike } from "../engine/backend/kernels/wasm_heap";
import { expectClose, on } from "./helpers/backends";

/** Small deterministic generator so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    data: (n: number) => Float32Array.from({ length: n }, () => next() * 2 - 1),
  };
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

// tf.backend() is typed as the abstract KernelBackend, and tfjs-backend-wasm's own types leave
// out the emscripten heap (HEAPU8, HEAPF32) that our kernels read: WasmBackendLike declares it.
const wasmBackend = () => tf.backend() as unknown as WasmBackendLike;

/** Conv2DBackpropFilter through the engine (tfjs has no public op for it; conv2d's gradient uses it). */
function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  strides: [number, number],
  pad: "valid" | "same" | number,
  dataFormat: "NHWC" | "NCHW" = "NHWC",
): tf.Tensor {
  return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides, pad, dataFormat, filterShape }) as tf.Tensor;
}

beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
  installFastKernels("wasm");
});

describe("installFastKernels", () => {
  it("registers the wasm patches once and reports them", () => {
    const first = installFastKernels("wasm");
    const again = installFastKernels("wasm");
    expect(again).toEqual(first);
    expect(patchesInForce()).toEqual(first);
    expect(first.some((p) => p.startsWith("wasm:BatchMatMul"))).toBe(true);
    expect(first.some((p) => p.startsWith("wasm:Conv2DBackpropFilter"))).toBe(true);
    expect(installFastKernels("tensorflow")).toEqual(first); // nothing to patch there
  });

  it("uninstalling restores stock tfjs (which has no wasm Conv2DBackpropFilter) and reinstalling fixes it", async () => {
    await tf.setBackend("wasm");
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const dy = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    uninstallFastKernels("wasm");
    try {
      expect(patchesInForce()).toEqual([]);
      expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeUndefined();
      expect(() => backpropFilter(x, dy, [2, 2, 1, 1], [1, 1], "valid")).toThrow(/Conv2DBackpropFilter/);
    } finally {
      installFastKernels("wasm");
    }
    const dw = backpropFilter(x, dy, [2, 2, 1, 1], [1, 1], "valid");
    expect(Array.from(dw.dataSync())).toEqual([9, 9, 9, 9]);
    tf.dispose([x, dy, dw]);
  });
});

describe("BatchMatMul on wasm vs cpu", () => {
  const r = rng(8);
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [];
  // Dense-layer shapes (the backward pass of every Dense is a transposed matMul).
  for (const [m, k, n] of [
    [64, 300, 130],
    [17, 257, 1],
    [1, 64, 33],
    [130, 64, 257],
  ]) {
    for (const ta of [false, true]) for (const tb of [false, true]) cases.push({ a: ta ? [k, m] : [m, k], b: tb ? [n, k] : [k, n], ta, tb });
  }
  // Batched slices big enough for the per-slice XNNPACK path (equal batches, shared A, shared B).
  cases.push({ a: [3, 40, 50], b: [3, 60, 50], ta: false, tb: true });
  cases.push({ a: [1, 50, 40], b: [2, 2, 50, 60], ta: true, tb: false });
  cases.push({ a: [2, 3, 40, 50], b: [50, 60], ta: false, tb: false });
  // Random shapes, with batch dimensions and broadcasting of a shared operand.
  for (let i = 0; i < 40; i++) {
    const m = r.int(1, 70);
    const k = r.int(1, 70);
    const n = r.int(1, 70);
    const ta = r.next() < 0.5;
    const tb = r.next() < 0.5;
    const batch = r.pick([[], [], [1], [3], [2, 3]]);
    const shareA = batch.length > 0 && r.next() < 0.25;
    const shareB = batch.length > 0 && !shareA && r.next() < 0.25;
    const aBatch = shareA ? batch.map(() => 1) : batch;
    const bBatch = shareB ? batch.map(() => 1) : batch;
    cases.push({ a: [...aBatch, ...(ta ? [k, m] : [m, k])], b: [...bBatch, ...(tb ? [n, k] : [k, n])], ta, tb });
  }

  it.each(cases.map((c, i) => [i, c] as const))("case %i %o", async (_i, c) => {
    const aData = r.data(size(c.a));
    const bData = r.data(size(c.b));
    const run = () => tf.matMul(tf.tensor(aData, c.a), tf.tensor(bData, c.b), c.ta, c.tb);
    const [got] = await on("wasm", run);
    const [want] = await on("cpu", run);
    expectClose(got, want, c.ta ? c.a[c.a.length - 2] : c.a[c.a.length - 1], "matMul");
  });

  it("gives the same gradients as cpu through tf.grads (dense layer with bias and relu)", async () => {
    const x = r.data(32 * 75);
    const w = r.data(75 * 41);
    const bias = r.data(41);
    const up = r.data(32 * 41);
    const run = () => {
      const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.add(tf.matMul(xs, ws), bs)), tf.tensor(up, [32, 41])));
      return tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([tf.tensor(x, [32, 75]), tf.tensor(w, [75, 41]), tf.tensor(bias, [41])]);
    };
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    got.forEach((g, i) => expectClose(g, want[i], 75, `grad ${i}`));
  });
});

describe("Conv2D backprop kernels on wasm vs cpu", () => {
  const r = rng(5);
  type ConvCase = {
    x: [number, number, number, number];
    f: [number, number, number, number];
    strides: [number, number];
    pad: "valid" | "same" | number;
    format: "NHWC" | "NCHW";
  };
  const cases: ConvCase[] = [
    // The bench CNN's layers.
    { x: [4, 28, 28, 1], f: [3, 3, 1, 32], strides: [1, 1], pad: "valid", format: "NHWC" },
    { x: [2, 13, 13, 32], f: [3, 3, 32, 64], strides: [1, 1], pad: "valid", format: "NHWC" },
  ];
  for (let i = 0; i < 24; i++) {
    const fh = r.int(1, 4);
    const fw = r.int(1, 4);
    const h = r.int(fh, 12);
    const w = r.int(fw, 12);
    cases.push({
      x: [r.int(1, 4), h, w, r.int(1, 5)],
      f: [fh, fw, 0, r.int(1, 6)],
      strides: [r.int(1, 3), r.int(1, 3)],
      pad: r.pick(["valid", "same", 0, 1, 2] as const),
      format: "NHWC",
    });
  }
  for (const c of cases) c.f[2] = c.x[3];
  // NCHW (channels first): the cpu backend is channels-last only, so the
  // reference runs on transposed data.
  const nchw: ConvCase[] = [
    { x: [2, 9, 7, 3], f: [3, 2, 3, 4], strides: [2, 1], pad: "same", format: "NCHW" },
    { x: [3, 6, 6, 2], f: [2, 2, 2, 5], strides: [1, 1], pad: "valid", format: "NCHW" },
  ];

  const label = (c: ConvCase) => `x=[${c.x}] f=[${c.f}] s=[${c.strides}] pad=${c.pad}`;

  it.each(cases.map((c) => [label(c), c] as const))("%s: filter and input gradients", async (_l, c) => {
    const xData = r.data(size(c.x));
    const fData = r.data(size(c.f));
    const probe = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad);
    const dyShape = probe.shape as [number, number, number, number];
    probe.dispose();
    const dyData = r.data(size(dyShape));
    const run = () => [
      backpropFilter(tf.tensor4d(xData, c.x), tf.tensor4d(dyData, dyShape), c.f, c.strides, c.pad),
      // conv2dTranspose is Conv2DBackpropInput under its public name.
      tf.conv2dTranspose(tf.tensor4d(dyData, dyShape), tf.tensor4d(fData, c.f), c.x, c.strides, c.pad),
    ];
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    const positions = dyShape[0] * dyShape[1] * dyShape[2];
    expectClose(got[0], want[0], positions, "Conv2DBackpropFilter");
    expectClose(got[1], want[1], c.f[0] * c.f[1] * c.f[3], "Conv2DBackpropInput");
  });

  it.each(nchw.map((c) => [label(c), c] as const))("NCHW %s matches NHWC on cpu", async (_l, c) => {
    const [n, h, w, ch] = c.x;
    const xData = r.data(size(c.x));
    const fData = r.data(size(c.f));
    const probe = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad);
    const [, oh, ow, oc] = probe.shape;
    probe.dispose();
    const dyData = r.data(n * oh * ow * oc);
    const nhwcX = () => tf.tensor4d(xData, c.x);
    const nhwcDy = () => tf.tensor4d(dyData, [n, oh, ow, oc]);
    const want = await on("cpu", () => [
      backpropFilter(nhwcX(), nhwcDy(), c.f, c.strides, c.pad),
      tf.transpose(tf.conv2dTranspose(nhwcDy(), tf.tensor4d(fData, c.f), c.x, c.strides, c.pad), [0, 3, 1, 2]),
    ]);
    const got = await on("wasm", () => {
      const x = tf.transpose(nhwcX(), [0, 3, 1, 2]) as tf.Tensor4D;
      const dy = tf.transpose(nhwcDy(), [0, 3, 1, 2]) as tf.Tensor4D;
      const backend = tf.backend();
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NCHW" };
      const dW = backpropFilter(x, dy, c.f, c.strides, c.pad, "NCHW");
      const dX = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: tf.tensor4d(fData, c.f) }, { ...attrs, inputShape: [n, ch, h, w] }) as tf.Tensor;
      expect(backend).toBe(tf.backend());
      return [dW, dX];
    });
    expectClose(got[0], want[0], n * oh * ow, "Conv2DBackpropFilter NCHW");
    expectClose(got[1], want[1], c.f[0] * c.f[1] * c.f[3], "Conv2DBackpropInput NCHW");
  });

  it("gives the same conv2d gradients as cpu through tf.grads", async () => {
    const xShape: [number, number, number, number] = [4, 10, 9, 3];
    const fShape: [number, number, number, number] = [3, 3, 3, 5];
    const xData = r.data(size(xShape));
    const fData = r.data(size(fShape));
    const upData = r.data(4 * 5 * 5 * 5);
    const run = () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same"), tf.tensor(upData, [4, 5, 5, 5])));
      return tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(xData, xShape), tf.tensor4d(fData, fShape)]);
    };
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    expectClose(got[0], want[0], 45, "d/dx");
    expectClose(got[1], want[1], 100, "d/dw");
  });
});

describe("MaxPoolGrad on wasm vs cpu", () => {
  const r = rng(11);
  type PoolCase = { x: [number, number, number, number]; size: [number, number]; strides: [number, number]; pad: "valid" | "same" | number };
  const cases: PoolCase[] = [
    { x: [4, 26, 26, 8], size: [2, 2], strides: [2, 2], pad: "valid" }, // the bench CNN's pools
    { x: [4, 11, 11, 16], size: [2, 2], strides: [2, 2], pad: "valid" },
  ];
  for (let i = 0; i < 16; i++) {
    const fh = r.int(1, 3);
    const fw = r.int(1, 3);
    cases.push({
      x: [r.int(1, 3), r.int(fh, 9), r.int(fw, 9), r.int(1, 5)],
      size: [fh, fw],
      strides: [r.int(1, 3), r.int(1, 3)],
      // Only the paddings Keras pooling layers use: stock wasm MaxPool (the
      // forward pass, not ours) writes out of bounds for numeric padding with
      // non-square windows, e.g. size [3,2] pad 0.
      pad: r.pick(["valid", "same"] as const),
    });
  }

  it.each(cases.map((c) => [`x=[${c.x}] size=[${c.size}] s=[${c.strides}] pad=${c.pad}`, c] as const))("%s (relu'd input, so windows tie at 0)", async (_l, c) => {
    // Quantised values after relu: ties inside windows are common, and the
    // gradient must go to the same (first) maximum as on cpu.
    const xData = r.data(size(c.x)).map((v) => Math.max(0, Math.round(v * 4) / 4));
    const run = () => {
      const f = (x: tf.Tensor) => {
        const y = tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.pad);
        return tf.sum(tf.mul(y, tf.range(1, y.size + 1).reshape(y.shape)));
      };
      return tf.grad(f)(tf.tensor4d(xData, c.x));
    };
    const [got] = await on("wasm", run);
    const [want] = await on("cpu", run);
    expectClose(got, want, 9, "MaxPoolGrad");
  });
});

describe("Identity and Cast share the buffer instead of copying", () => {
  it("a clone and a same-dtype cast outlive their source, and nothing leaks", async () => {
    await tf.setBackend("wasm");
    const before = tf.memory().numBytes;
    const x = tf.tensor([1.5, -2, 3], [3]);
    const c = tf.clone(x);
    const k = tf.cast(x, "float32");
    const i = tf.cast(x, "int32");
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2, 3]);
    expect(Array.from(k.dataSync())).toEqual([1.5, -2, 3]);
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([c, k, i]);
    expect(tf.memory().numBytes).toBe(before);
  });

  it("a variable assigned from a clone keeps its value when the clone's source is disposed", async () => {
    await tf.setBackend("wasm");
    const v = tf.variable(tf.zeros([2]));
    const src = tf.tensor([4, 5]);
    v.assign(tf.clone(src));
    src.dispose();
    expect(Array.from(v.dataSync())).toEqual([4, 5]);
    v.dispose();
  });
});

describe("SIMD transpose (used by the matMul plans)", () => {
  it.each([
    [1, 1],
    [3, 5],
    [4, 4],
    [7, 13],
    [64, 2056],
    [1030, 67],
  ])("[%i,%i] equals tf.transpose on cpu bit for bit", async (rows, cols) => {
    const { transpose2d } = await import("../engine/backend/kernels/wasm_matmul_2d");
    const { simdKernelsFor } = await import("../engine/backend/kernels/simd");
    const values = rng(rows * 131 + cols).data(rows * cols);
    await tf.setBackend("wasm");
    const backend = wasmBackend();
    expect(simdKernelsFor(backend)).not.toBeNull();
    const x = tf.tensor2d(values, [rows, cols]);
    const out = transpose2d(backend, { dataId: x.dataId, shape: [rows, cols], dtype: "float32" });
    const got = tf.engine().makeTensorFromTensorInfo(out);
    const gotData = got.dataSync();
    tf.dispose([x, got]);
    const [want] = await on("cpu", () => tf.transpose(tf.tensor2d(values, [rows, cols])));
    expect(Array.from(gotData)).toEqual(Array.from(want));
  });
});

describe("SIMD kernels equal their plain-JS fallbacks bit for bit", () => {
  // Engines without wasm SIMD (or without access to tfjs's memory) run the JS
  // versions; both must compute the same thing.
  const geometries = [
    { batch: 2, inH: 7, inW: 6, inC: 5, fh: 3, fw: 2, strideH: 2, strideW: 1, padTop: 1, padLeft: 0 },
    { batch: 1, inH: 5, inW: 5, inC: 8, fh: 2, fw: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 },
    { batch: 3, inH: 4, inW: 9, inC: 3, fh: 1, fw: 3, strideH: 1, strideW: 3, padTop: 0, padLeft: 1 },
    { batch: 2, inH: 6, inW: 5, inC: 1, fh: 3, fw: 3, strideH: 1, strideW: 2, padTop: 1, padLeft: 1 }, // one channel: its own path
    { batch: 2, inH: 13, inW: 11, inC: 1, fh: 3, fw: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1 }, // one channel, stride 1: runs copied by vector, padding both sides
    { batch: 3, inH: 9, inW: 10, inC: 1, fh: 3, fw: 3, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 }, // the bench CNN's first layer in small
  ];
  it.each(geometries.map((g, i) => [i, g] as const))("geometry %i", async (_i, geo) => {
    const { simdKernelsFor } = await import("../engine/backend/kernels/simd");
    const { im2colTransposed } = await import("../engine/backend/kernels/wasm_conv2d_backprop_filter");
    const { col2imAdd } = await import("../engine/backend/kernels/wasm_conv2d_backprop_input");
    const { maxPoolBackprop } = await import("../engine/backend/kernels/wasm_max_pool_grad");
    await tf.setBackend("wasm");
    const simd = simdKernelsFor(tf.backend());
    expect(simd).not.toBeNull();
    const outH = Math.floor((geo.inH + 2 * geo.padTop - geo.fh) / geo.strideH) + 1;
    const outW = Math.floor((geo.inW + 2 * geo.padLeft - geo.fw) / geo.strideW) + 1;
    const g = { ...geo, outH, outW, outC: 1 };
    const rows = g.fh * g.fw * g.inC;
    const positions = g.batch * outH * outW;
    const r = rng(rows + positions);
    const xData = r.data(g.batch * g.inH * g.inW * g.inC).map((v) => Math.round(v * 3) / 3); // ties for max-pool
    const colsData = r.data(positions * rows);
    const dyData = r.data(positions * g.inC);
    const x = tf.tensor(xData);
    const cols = tf.tensor(colsData);
    const dy = tf.tensor(dyData);
    const out = tf.zeros([positions * rows]);
    const dx = tf.zeros([xData.length]);
    const dx2 = tf.zeros([xData.length]);
    const b = tf.backend() as BackendWasm;
    const at = (t: tf.Tensor) => b.getMemoryOffset(t.dataId);
    const args = [g.batch, g.inH, g.inW, g.inC, outH, outW, g.fh, g.fw, g.strideH, g.strideW, g.padTop, g.padLeft] as const;
    simd!.im2col(at(x), at(out), ...args);
    const outT = tf.fill([positions * rows], 7); // over garbage: every element must be written
    simd!.im2colTransposed(at(x), at(outT), ...args);
    simd!.col2im(at(cols), at(dx), ...args);
    simd!.maxPoolGrad(at(x), at(dy), at(dx2), ...args);
    const patchesSimd = out.dataSync();
    const patchesTSimd = outT.dataSync();
    const col2imSimd = dx.dataSync();
    const poolSimd = dx2.dataSync();
    tf.dispose([x, cols, dy, out, outT, dx, dx2]);

    const patchesT = new Float32Array(rows * positions);
    im2colTransposed(xData, patchesT, g);
    expect(Array.from(patchesTSimd)).toEqual(Array.from(patchesT));
    for (let p = 0; p < positions; p++) for (let q = 0; q < rows; q++) expect(patchesSimd[p * rows + q]).toBe(patchesT[q * positions + p]);
    const col2imJs = new Float32Array(xData.length);
    col2imAdd(colsData, col2imJs, g);
    expect(Array.from(col2imSimd)).toEqual(Array.from(col2imJs));
    const poolJs = new Float32Array(xData.length);
    maxPoolBackprop(xData, dyData, poolJs, g);
    expect(Array.from(poolSimd)).toEqual(Array.from(poolJs));
  });
});

describe("Sum on wasm", () => {
  const r = rng(21);
  const cases: { shape: number[]; axis: number[]; keepDims: boolean }[] = [
    { shape: [64, 26, 26, 32], axis: [0, 1, 2], keepDims: false }, // conv bias gradient
    { shape: [64, 128], axis: [0], keepDims: false }, // dense bias gradient
  ];
  for (let i = 0; i < 20; i++) {
    const rank = r.int(1, 4);
    const shape = Array.from({ length: rank }, () => r.int(1, 9));
    // Distinct axes (tfjs itself mishandles an axis named twice, e.g. 1 and -3 of rank 4).
    const axis = [...new Set(Array.from({ length: r.int(1, rank) }, () => r.int(0, rank - 1)))].map((a) => (r.next() < 0.3 ? a - rank : a));
    cases.push({ shape, axis, keepDims: r.next() < 0.5 });
  }
  it.each(cases.map((c) => [`[${c.shape}] axis=[${c.axis}] keepDims=${c.keepDims}`, c] as const))("%s: like cpu, same shape", async (_l, c) => {
    const values = r.data(size(c.shape));
    const run = () => tf.sum(tf.tensor(values, c.shape), c.axis, c.keepDims);
    const want = await on("cpu", run);
    const got = await on("wasm", run);
    expectClose(got[0], want[0], size(c.shape), "sum");
    const shapeOf = await (async () => {
      await tf.setBackend("wasm");
      const t = run();
      const s = t.shape;
      t.dispose();
      return s;
    })();
    await tf.setBackend("cpu");
    const cpuShape = run();
    expect(shapeOf).toEqual(cpuShape.shape);
    cpuShape.dispose();
  });
});

describe("no leaks through the patched kernels", () => {
  it("training steps leave tensor count, bytes and the wasm heap unchanged", async () => {
    await tf.setBackend("wasm");
    installFastKernels("wasm");
    const { buildCnn } = await import("../bench/train_models");
    const { makeTrainStep, runEpoch } = await import("../bench/tfjs_epoch");
    const bm = buildCnn(tf, 16, 8);
    const step = makeTrainStep(tf, bm, "tscolab");
    runEpoch(tf, bm, step); // warm-up: optimizer slots, XNNPACK operators
    const heap = () => wasmBackend().wasm.HEAPU8.length;
    const before = { ...tf.memory(), heap: heap() };
    for (let i = 0; i < 5; i++) {
      runEpoch(tf, bm, step);
      tf.tidy(() => {
        tf.matMul(tf.randomNormal([3, 40, 50]), tf.randomNormal([3, 60, 50]), false, true); // per-slice views
      });
    }
    const after = { ...tf.memory(), heap: heap() };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.heap).toBe(before.heap);
    const { disposeBenchModel } = await import("../bench/train_models");
    disposeBenchModel(bm);
  });
});

describe("DepthwiseConv2dNative gradients on wasm (missing in stock) vs cpu", () => {
  const r = rng(31);
  type DwCase = { x: [number, number, number, number]; f: [number, number, number, number]; strides: [number, number]; pad: "valid" | "same" | number };
  const cases: DwCase[] = [{ x: [8, 14, 14, 16], f: [3, 3, 16, 1], strides: [1, 1], pad: "same" }]; // MobileNet-like block
  for (let i = 0; i < 14; i++) {
    const fh = r.int(1, 3);
    const fw = r.int(1, 3);
    const inC = r.int(1, 4);
    cases.push({
      x: [r.int(1, 3), r.int(fh, 9), r.int(fw, 9), inC],
      f: [fh, fw, inC, r.int(1, 3)],
      strides: r.pick([
        [1, 1],
        [2, 2],
      ] as [number, number][]),
      pad: r.pick(["valid", "same", 1] as const),
    });
  }
  it.each(cases.map((c) => [`x=[${c.x}] f=[${c.f}] s=[${c.strides}] pad=${c.pad}`, c] as const))("%s through tf.grads", async (_l, c) => {
    const xData = r.data(size(c.x));
    const fData = r.data(size(c.f));
    const probe = tf.depthwiseConv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad);
    const upShape = probe.shape;
    probe.dispose();
    const up = r.data(size(upShape));
    const run = () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), tf.tensor(up, upShape)));
      return tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(xData, c.x), tf.tensor4d(fData, c.f)]);
    };
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    expectClose(got[0], want[0], c.f[0] * c.f[1] * c.f[3], "d/dx");
    expectClose(got[1], want[1], c.x[0] * upShape[1] * upShape[2], "d/dfilter");
  });
});

describe("UnsortedSegmentSum on wasm (missing in stock) vs cpu", () => {
  const r = rng(41);
  it.each([
    [[12, 5], [12], 4],
    [[9, 4, 6], [9], 7],
    [[20], [20], 3],
  ] as [number[], [number], number][])("x=[%s] ids=[%s] numSegments=%i (ids out of range dropped)", async (xShape, idShape, n) => {
    const xData = r.data(size(xShape));
    const ids = Int32Array.from({ length: size(idShape) }, () => r.int(-1, n)); // -1 and n are out of range
    const run = () => tf.unsortedSegmentSum(tf.tensor(xData, xShape), tf.tensor1d(ids, "int32"), n);
    const [got] = await on("wasm", run);
    const [want] = await on("cpu", run);
    expectClose(got, want, size(idShape), "unsortedSegmentSum");
  });

  it.each([
    [2048, 256, 73],
    [37, 7, 5],
    [9, 1, 3],
  ])("SIMD rows: %i ids of %i floats into %i segments, the bits of the plain loop", async (n, inner, numSegments) => {
    const { simdKernelsFor } = await import("../engine/backend/kernels/simd");
    const { segmentSum } = await import("../engine/backend/kernels/wasm_unsorted_segment_sum");
    await tf.setBackend("wasm");
    const simd = simdKernelsFor(tf.backend())!;
    const xData = r.data(n * inner);
    const ids = Int32Array.from({ length: n }, () => r.int(-1, numSegments)); // repeats, and -1 and numSegments dropped
    const want = new Float32Array(numSegments * inner);
    segmentSum(xData, ids, want, inner, numSegments);
    const b = tf.backend() as BackendWasm;
    const [x, id, out] = [tf.tensor(xData), tf.tensor1d(ids, "int32"), tf.fill([numSegments * inner], 9)];
    simd.segmentSum(b.getMemoryOffset(x.dataId), b.getMemoryOffset(id.dataId), b.getMemoryOffset(out.dataId), n, inner, numSegments);
    const got = out.dataSync() as Float32Array;
    tf.dispose([x, id, out]);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
  });

  it("an Embedding layer trains on wasm: gather's gradient equals cpu's", async () => {
    const table = r.data(10 * 4);
    const idx = Int32Array.from([3, 1, 3, 9, 0, 3]);
    const up = r.data(6 * 4);
    const run = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(idx, "int32")), tf.tensor(up, [6, 4]))))(tf.tensor(table, [10, 4]));
    const [got] = await on("wasm", run);
    const [want] = await on("cpu", run);
    expectClose(got, want, 6, "d/dtable");
  });
});

describe("matMul plans are interchangeable bit for bit", () => {
  // The plan can depend on history (a right operand seen before goes direct),
  // so a resumed run must get the very same bits whichever plan runs.
  const r = rng(51);
  it.each([
    [64, 300, 130, false, false],
    [64, 257, 130, false, true],
    [130, 64, 257, true, false],
    [33, 70, 45, true, true],
  ] as [number, number, number, boolean, boolean][])("%i×%i×%i transposeA=%s transposeB=%s", async (m, k, n, ta, tb) => {
    const { wasmMatMul2d } = await import("../engine/backend/kernels/wasm_matmul_2d");
    await tf.setBackend("wasm");
    const backend = wasmBackend();
    const a = tf.tensor(r.data(m * k), ta ? [k, m] : [m, k]);
    const b = tf.tensor(r.data(k * n), tb ? [n, k] : [k, n]);
    const results = (["normal", "swapped"] as const).map((plan) => {
      const out = tf.engine().makeTensorFromTensorInfo(wasmMatMul2d(backend, a, b, ta, tb, plan));
      const bits = Array.from(new Uint32Array((out.dataSync() as Float32Array).slice().buffer));
      out.dispose();
      return bits;
    });
    tf.dispose([a, b]);
    expect(results[1]).toEqual(results[0]);
  });
});

describe("ReLU's gradient on wasm", () => {
  it("is one kernel whose bits are the stock gradient's (cpu), special values included", async () => {
    const r = rng(5);
    const n = 4099; // not a multiple of 4: the scalar tail runs too
    const xs = r.data(n);
    const dys = r.data(n);
    const specials = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45];
    specials.forEach((s, i) => {
      xs[i] = s; // x at every special value
      xs[100 + i] = -1;
      dys[100 + i] = s; // dy too, where the step is 0 and where it is 1
      xs[200 + i] = 2;
      dys[200 + i] = s;
    });
    const run = () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(dys, [n]))))(tf.tensor(xs, [n]));
    await tf.setBackend("wasm");
    const kernels = (await tf.profile(() => run())).kernelNames;
    expect(kernels).toContain("TscolabReluGrad");
    expect(kernels).not.toContain("Step");
    const got = (await on("wasm", run))[0];
    const want = (await on("cpu", run))[0];
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(want[i])) expect(Number.isNaN(got[i]), `element ${i}`).toBe(true);
      else expect(Object.is(got[i], want[i]), `element ${i}: ${got[i]} vs ${want[i]}`).toBe(true);
    }
  });

  it("with its bias gradient: the bits of the one-pass kernel and of the masked gradient summed by the Sum kernel", async () => {
    const { reluMaskedWithBiasGradient, reluMasked } = await import("../engine/backend/kernels/relu_grad");
    await tf.setBackend("wasm");
    const r = rng(6);
    const shape = [3, 5, 7, 12];
    const n = size(shape);
    const ys = r.data(n).map((v) => Math.max(0, v));
    const dys = r.data(n);
    [0, -0, NaN, Infinity, -Infinity, 1e-45].forEach((s, i) => {
      ys[i * 13] = s;
      dys[i * 17 + 1] = s;
    });
    const [y, dy] = [tf.tensor(ys, shape), tf.tensor(dys, shape)];
    const kernels = (await tf.profile(() => reluMaskedWithBiasGradient(dy, y))).kernelNames;
    expect(kernels).toEqual(["TscolabReluGradSum"]);
    const [dz, db] = reluMaskedWithBiasGradient(dy, y);
    const dzSeparate = reluMasked(dy, y);
    const dbSeparate = tf.sum(dzSeparate, [0, 1, 2]);
    const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    expect(bits(dz)).toEqual(bits(dzSeparate));
    expect(bits(db)).toEqual(bits(dbSeparate));
    tf.dispose([y, dy, dz, db, dzSeparate, dbSeparate]);
  });

  it("is tfjs's own gradient again once the kernels are uninstalled", async () => {
    await tf.setBackend("wasm");
    uninstallFastKernels("wasm");
    try {
      const kernels = (await tf.profile(() => tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(tf.tensor1d([1, -1, 2])))).kernelNames;
      expect(kernels).not.toContain("TscolabReluGrad");
      expect(kernels).toContain("Step");
    } finally {
      installFastKernels("wasm");
    }
  });
});

describe("Add on wasm", () => {
  const cases: { a: number[]; b: number[]; fast: boolean }[] = [
    { a: [64, 26, 26, 32], b: [32], fast: true }, // a conv layer's bias in training
    { a: [32], b: [64, 26, 26, 32], fast: true }, // the bias first
    { a: [32, 64, 1024], b: [1, 1, 1024], fast: true }, // a Dense layer's on a sequence
    { a: [7, 13], b: [13], fast: true }, // a row that is not a multiple of four
    { a: [6, 5], b: [6, 5], fast: false },
    { a: [5, 1], b: [1, 4], fast: false },
    { a: [3, 4], b: [3, 1], fast: false },
    { a: [1, 9], b: [9], fast: false },
  ];
  for (const c of cases) {
    it(`[${c.a}] + [${c.b}]: the bits of cpu's add${c.fast ? ", one SIMD pass" : ", stock"}`, async () => {
      const r = rng(c.a.length * 10 + c.b.length);
      const av = r.data(size(c.a));
      const bv = r.data(size(c.b));
      const run = () => tf.add(tf.tensor(av, c.a), tf.tensor(bv, c.b));
      const got = (await on("wasm", run))[0];
      const want = (await on("cpu", run))[0];
      expect(got.length).toBe(want.length);
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
    });
  }
});

describe("MaxPool over 2×2 windows on wasm", () => {
  const shapes = [
    [4, 26, 26, 32], // the bench CNN's first pool
    [2, 11, 11, 64], // its second, with a row and a column no window covers
    [3, 6, 8, 4],
  ];
  it.each(shapes.map((s) => [`[${s}]`, s] as const))("x=%s: cpu's bits, ties, NaN and -inf included", async (_l, shape) => {
    const r = rng(size(shape));
    const xData = r.data(size(shape)).map((v) => Math.round(v * 2) / 2); // many ties
    xData[1] = NaN;
    xData.fill(NaN, shape[3] * 0, shape[3]); // a pixel of NaN beside ordinary ones
    const c = shape[3];
    const w = shape[2];
    // One whole window of NaN (its four pixels) and one of -inf, for the first 4 channels.
    for (const [row, col] of [
      [2, 2],
      [2, 3],
      [3, 2],
      [3, 3],
    ])
      for (let ch = 0; ch < 4; ch++) xData[(row * w + col) * c + ch] = NaN;
    for (const [row, col] of [
      [0, 4],
      [0, 5],
      [1, 4],
      [1, 5],
    ])
      for (let ch = 0; ch < 4; ch++) xData[(row * w + col) * c + ch] = -Infinity;
    const run = () => tf.maxPool(tf.tensor4d(xData, shape as [number, number, number, number]), 2, 2, "valid");
    const [got] = await on("wasm", run);
    const [want] = await on("cpu", run);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
  });
});

describe("MaxPoolGrad for windows that tile the input", () => {
  const tilings = [
    { batch: 2, inH: 26, inW: 26, inC: 8, fh: 2, fw: 2 }, // the bench CNN's first pool
    { batch: 2, inH: 11, inW: 11, inC: 6, fh: 2, fw: 2 }, // a row and a column no window covers; a channel tail
    { batch: 2, inH: 11, inW: 9, inC: 12, fh: 2, fw: 2 }, // the 2×2 pointer loop, with a row and a column no window covers
    { batch: 3, inH: 4, inW: 4, inC: 4, fh: 2, fw: 2 }, // one vector of channels
    { batch: 1, inH: 9, inW: 7, inC: 3, fh: 3, fw: 3 }, // fewer channels than a vector
    { batch: 3, inH: 4, inW: 6, inC: 5, fh: 1, fw: 2 },
    { batch: 1, inH: 5, inW: 5, inC: 4, fh: 1, fw: 1 },
  ];
  it.each(tilings.map((g, i) => [i, g] as const))("tiling %i: the same bits as the zero-fill-and-scatter kernel (ties, NaN and -0 included)", async (_i, t) => {
    const { simdKernelsFor } = await import("../engine/backend/kernels/simd");
    await tf.setBackend("wasm");
    const simd = simdKernelsFor(tf.backend())!;
    const outH = Math.floor(t.inH / t.fh);
    const outW = Math.floor(t.inW / t.fw);
    const r = rng(t.inH * 31 + t.inC);
    const xData = r.data(t.batch * t.inH * t.inW * t.inC).map((v) => Math.round(v * 2) / 2); // many ties
    xData[3] = NaN;
    xData.fill(NaN, t.inC * 2, t.inC * 3); // a whole pixel of NaN
    const dyData = r.data(t.batch * outH * outW * t.inC);
    dyData[0] = -0;
    dyData[1] = NaN;
    const b = tf.backend() as BackendWasm;
    const [x, dy, tiles, scatter] = [tf.tensor(xData), tf.tensor(dyData), tf.fill([xData.length], 7), tf.zeros([xData.length])];
    const at = (u: tf.Tensor) => b.getMemoryOffset(u.dataId);
    simd.maxPoolGradTiles(at(x), at(dy), at(tiles), t.batch, t.inH, t.inW, t.inC, outH, outW, t.fh, t.fw); // over garbage: every element must be written
    simd.maxPoolGrad(at(x), at(dy), at(scatter), t.batch, t.inH, t.inW, t.inC, outH, outW, t.fh, t.fw, t.fh, t.fw, 0, 0);
    const [got, want] = [tiles.dataSync() as Float32Array, scatter.dataSync() as Float32Array];
    tf.dispose([x, dy, tiles, scatter]);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
  });
});
