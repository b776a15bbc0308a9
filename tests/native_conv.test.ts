// The forward convolution on wasm with the native kernels on (im2col + one
// MLAS GEMM, kernels/conv2d.ts) against tfjs's stock cpu kernels: values of
// Conv2D and FusedConv2D (bias + activation) and gradients through tf.grads,
// over same/valid padding, strides 1 and 2, 1×1 filters, batch 1 and 64 and
// the bench CNN's layers. The per-variant call counts of the native matMul
// show which path each convolution took.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { afterAll, describe, expect, it } from "vitest";
import { NATIVE_CONV_MIN_DEPTH } from "../engine/backend/kernels/conv2d";
import { disableNativeKernels, enableNativeKernels, nativeCalls, nativeKernelsInForce, NATIVE_MIN_MACS } from "../engine/backend/native";
import { expectClose, on, rng, withNativeKernels } from "./helpers/backends";

const data = rng(11);
const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

type Shape4 = [number, number, number, number];
type Act = "linear" | "relu" | "sigmoid" | "elu";
const ACTS: Act[] = ["linear", "relu", "sigmoid", "elu"];

interface ConvCase {
  name: string;
  x: Shape4;
  f: Shape4;
  strides: 1 | 2;
  pad: "valid" | "same" | number;
}

// The forward products (no transposes) come from these convolutions, and from the
// filter gradients of layers with fewer than 4 input channels (Pᵀ·dy, Pᵀ built
// directly); the other gradients' products transpose one side, so they count under other keys.
const forwardKey = (bias: boolean, act: Act) => `gemm:00:${bias ? "bias" : "nobias"}:${act}`;
const forwardCalls = () => [...nativeCalls].filter(([k]) => k.startsWith("gemm:00:")).reduce((n, [, c]) => n + c, 0);
const callsOf = (key: string) => nativeCalls.get(key) ?? 0;

function outShape(c: ConvCase): Shape4 {
  const probe = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad);
  const shape = probe.shape as Shape4;
  probe.dispose();
  return shape;
}

const depthOf = (c: ConvCase) => c.f[0] * c.f[1] * c.f[2];
const macsOf = (c: ConvCase) => {
  const [b, oh, ow, oc] = outShape(c);
  return b * oh * ow * oc * depthOf(c);
};

// Every case here is large enough for the native path.
const NATIVE_CASES: ConvCase[] = [
  { name: "the bench CNN's second layer (batch 64, 3×3, 32→64, valid)", x: [64, 13, 13, 32], f: [3, 3, 32, 64], strides: 1, pad: "valid" },
  { name: "3×3 same, stride 2", x: [2, 15, 15, 16], f: [3, 3, 16, 32], strides: 2, pad: "same" },
  { name: "3×2 valid, stride 2, odd sizes", x: [4, 21, 14, 12], f: [3, 2, 12, 40], strides: 2, pad: "valid" },
  { name: "3×3 same, stride 1, batch 1", x: [1, 20, 20, 8], f: [3, 3, 8, 24], strides: 1, pad: "same" },
  { name: "3×3 explicit pad 1", x: [2, 12, 12, 16], f: [3, 3, 16, 32], strides: 1, pad: 1 },
  { name: "1×1 stride 1, batch 1 (no patch matrix)", x: [1, 16, 16, 64], f: [1, 1, 64, 32], strides: 1, pad: "valid" },
  { name: "1×1 same, batch 64 (no patch matrix)", x: [64, 8, 8, 64], f: [1, 1, 64, 64], strides: 1, pad: "same" },
  { name: "1×1 stride 2 (patch matrix)", x: [2, 16, 16, 64], f: [1, 1, 64, 48], strides: 2, pad: "valid" },
];

// These stay on XNNPACK even with native on.
const WASM_CASES: ConvCase[] = [
  { name: "the bench CNN's first layer (batch 64, 3×3, 1→32): too shallow", x: [64, 28, 28, 1], f: [3, 3, 1, 32], strides: 1, pad: "valid" },
  { name: "a small product", x: [1, 6, 6, 8], f: [3, 3, 8, 8], strides: 1, pad: "same" },
];

function inputsOf(c: ConvCase) {
  const xData = data(size(c.x));
  const fData = data(size(c.f));
  const bData = data(c.f[3]);
  const upShape = outShape(c);
  const upData = data(size(upShape));
  return {
    x: () => tf.tensor4d(xData, c.x),
    f: () => tf.tensor4d(fData, c.f),
    b: () => tf.tensor1d(bData),
    up: () => tf.tensor4d(upData, upShape),
  };
}

/** Conv2D, then FusedConv2D with a bias and each activation (outside any gradient: tfjs fuses only there or for linear). */
function forwardRun(c: ConvCase) {
  const t = inputsOf(c);
  return () => [
    tf.conv2d(t.x(), t.f(), c.strides, c.pad),
    ...ACTS.map((activation) => tf.fused.conv2d({ x: t.x(), filter: t.f(), strides: c.strides, pad: c.pad, bias: t.b(), activation })),
  ];
}

// tfjs's cpu gradients of a batch-64 layer take minutes on a shared 2-core
// machine: gradients are checked on the first few samples of a batch (the same
// geometry and the same path; the counts above still hold for them).
const GRADIENT_BATCH = 4;
const forGradients = (c: ConvCase): ConvCase => ({ ...c, x: [Math.min(c.x[0], GRADIENT_BATCH), c.x[1], c.x[2], c.x[3]] });

/** d/dx, d/dW of conv2d, and d/dx, d/dW, d/db of fused conv2d with a bias (linear: FusedConv2D; relu: Conv2D, Add and Relu). */
function gradientRun(c: ConvCase) {
  const t = inputsOf(c);
  const plain = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), t.up()));
  const fused = (activation: Act) => (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.strides, pad: c.pad, bias: b, activation }), t.up()));
  const g = (f: unknown, args: tf.Tensor[]) => tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)(args);
  return () => [...g(plain, [t.x(), t.f()]), ...g(fused("linear"), [t.x(), t.f(), t.b()]), ...g(fused("relu"), [t.x(), t.f(), t.b()])];
}

function expectForward(c: ConvCase, got: Float32Array[], want: Float32Array[]) {
  const depth = depthOf(c);
  expectClose(got[0], want[0], depth, "Conv2D");
  ACTS.forEach((act, i) => expectClose(got[i + 1], want[i + 1], depth, `FusedConv2D ${act}`));
}

function expectGradients(c: ConvCase, got: Float32Array[], want: Float32Array[]) {
  const [b, oh, ow, oc] = outShape(c);
  const dx = c.f[0] * c.f[1] * oc;
  const dw = b * oh * ow;
  const names = ["conv d/dx", "conv d/dW", "linear d/dx", "linear d/dW", "linear d/db", "relu d/dx", "relu d/dW", "relu d/db"];
  const inner = [dx, dw, dx, dw, dw, dx, dw, dw];
  names.forEach((n, i) => expectClose(got[i], want[i], inner[i], n));
}

withNativeKernels("tscolab-native-conv-");

afterAll(() => {
  enableNativeKernels();
});

describe("the native forward convolution's routing", () => {
  it("lists Conv2D and FusedConv2D among the kernels native serves", () => {
    expect(nativeKernelsInForce()).toEqual(expect.arrayContaining(["Conv2D", "FusedConv2D"]));
  });

  it("the cases are on the intended side of the thresholds", () => {
    for (const c of NATIVE_CASES) {
      expect(depthOf(c), c.name).toBeGreaterThanOrEqual(NATIVE_CONV_MIN_DEPTH);
      expect(macsOf(c), c.name).toBeGreaterThanOrEqual(NATIVE_MIN_MACS);
    }
    expect(depthOf(WASM_CASES[0])).toBeLessThan(NATIVE_CONV_MIN_DEPTH);
    expect(macsOf(WASM_CASES[1])).toBeLessThan(NATIVE_MIN_MACS);
  });
});

describe.each(NATIVE_CASES.map((c) => [c.name, c] as const))("native: %s", (_name, c) => {
  it("Conv2D and FusedConv2D (bias + linear/relu/sigmoid/elu) match cpu, each one native call", async () => {
    const run = forwardRun(c);
    const before = new Map(ACTS.map((a) => [a, callsOf(forwardKey(true, a))]));
    const plainBefore = callsOf(forwardKey(false, "linear"));
    const got = await on("wasm", run);
    expect(callsOf(forwardKey(false, "linear")) - plainBefore, "Conv2D").toBe(1);
    for (const a of ACTS) expect(callsOf(forwardKey(true, a)) - before.get(a)!, `FusedConv2D ${a}`).toBe(1);
    expectForward(c, got, await on("cpu", run));
  });

  it("gradients through tf.conv2d and tf.fused.conv2d match cpu", async () => {
    const g = forGradients(c);
    expect(macsOf(g)).toBeGreaterThanOrEqual(NATIVE_MIN_MACS);
    const run = gradientRun(g);
    const plainBefore = callsOf(forwardKey(false, "linear"));
    const fusedBefore = callsOf(forwardKey(true, "linear"));
    const got = await on("wasm", run);
    // conv2d and the relu one (unfused under a gradient) run Conv2D; the linear one FusedConv2D.
    expect(callsOf(forwardKey(false, "linear")) - plainBefore).toBe(2);
    expect(callsOf(forwardKey(true, "linear")) - fusedBefore).toBe(1);
    expectGradients(g, got, await on("cpu", run));
  });
});

describe.each(WASM_CASES.map((c) => [c.name, c] as const))("stays on wasm: %s", (_name, c) => {
  it("values and gradients match cpu with no native forward call", async () => {
    const forward = forwardRun(c);
    const g = forGradients(c);
    const gradients = gradientRun(g);
    const before = forwardCalls();
    const got = await on("wasm", forward);
    expect(forwardCalls() - before).toBe(0);
    // Three filter gradients (conv2d, linear and relu fused); a shallow layer's are plain products over Pᵀ.
    const filterProducts = c.x[3] < 4 ? 3 : 0;
    const beforeGradients = forwardCalls();
    const grads = await on("wasm", gradients);
    expect(forwardCalls() - beforeGradients).toBe(filterProducts);
    expectForward(c, got, await on("cpu", forward));
    expectGradients(g, grads, await on("cpu", gradients));
  });
});

describe("what the native path leaves to the stock kernels", () => {
  const c = NATIVE_CASES[1];

  it("native off: the same convolutions run on XNNPACK and still match cpu", async () => {
    const run = forwardRun(c);
    disableNativeKernels();
    try {
      const before = forwardCalls();
      const got = await on("wasm", run);
      expect(forwardCalls() - before).toBe(0);
      expectForward(c, got, await on("cpu", run));
    } finally {
      expect(enableNativeKernels()).toBe(true);
    }
  });

  it("dilations and prelu run the stock kernels and match cpu", async () => {
    const t = inputsOf(c);
    const alpha = data(c.f[3]);
    const run = () => [
      tf.conv2d(t.x(), t.f(), 1, "same", "NHWC", 2),
      tf.fused.conv2d({ x: t.x(), filter: t.f(), strides: 1, pad: "same", dilations: 2, bias: t.b(), activation: "relu" }),
      tf.fused.conv2d({ x: t.x(), filter: t.f(), strides: c.strides, pad: c.pad, bias: t.b(), activation: "prelu", preluActivationWeights: tf.tensor1d(alpha) }),
    ];
    const before = forwardCalls();
    const got = await on("wasm", run);
    expect(forwardCalls() - before).toBe(0);
    const want = await on("cpu", run);
    got.forEach((g, i) => expectClose(g, want[i], depthOf(c), `case ${i}`));
  });
});
