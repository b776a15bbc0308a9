// Dense and Conv2D layers on their fused kernels (a Dense layer's forward in
// one native call and its weights' gradients in another; a Conv2D layer's
// convolution, bias and ReLU in one call) against the same layers on stock
// tfjs cpu: output and the gradients of the input, kernel and bias, for ReLU
// and linear layers, with and without a bias. The layers that must keep
// their own call (small, frozen, another activation, native off) do, and a
// whole model's training step agrees with cpu's.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { installFastKernels, uninstallFastKernels } from "../engine/backend/kernels";
import { disableNativeKernels, enableNativeKernels, nativeCalls } from "../engine/backend/native";
import { expectClose, on, rng, withNativeKernels } from "./helpers/backends";

const calls = (prefix: string) => [...nativeCalls.entries()].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

withNativeKernels("tscolab-layers-");

interface DenseCase {
  inShape: number[];
  units: number;
  activation: "relu" | "linear" | "tanh" | "gelu";
  useBias?: boolean;
  trainable?: boolean;
}

/**
 * A program building `makeLayer()` on `inShape` with seeded weights (the
 * kernel scaled by 1/√fan-in, where fan-in is its size over `units`) and
 * returning the layer's output and the gradients of Σ y·w for the input and
 * each weight.
 */
function layerProgram(makeLayer: () => tf.layers.Layer, inShape: number[], units: number, seed: number) {
  const data = rng(seed, 1);
  const probe = makeLayer();
  const outShape = probe.computeOutputShape(inShape) as number[];
  probe.build(inShape);
  const shapes = probe.getWeights().map((v) => v.shape);
  const fanIn = size(shapes[0]) / units;
  const xv = data(size(inShape));
  const wv = data(size(outShape));
  const values = shapes.map((shape, i) => data(size(shape)).map((v) => (i === 0 ? v / Math.sqrt(fanIn) : v)));
  return () => {
    const layer = makeLayer();
    layer.build(inShape);
    const weights = layer.getWeights() as tf.Variable[];
    weights.forEach((v, i) => v.assign(tf.tensor(values[i], shapes[i])));
    const x = tf.tensor(xv, inShape);
    const w = tf.tensor(wv, outShape);
    const y = layer.apply(x) as tf.Tensor;
    const [gx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a) as tf.Tensor, w)))([x]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, w)) as tf.Scalar, weights);
    return [y, gx, ...weights.map((v) => grads[v.name])];
  };
}

const denseProgram = (c: DenseCase, seed: number) =>
  layerProgram(() => tf.layers.dense({ units: c.units, activation: c.activation, useBias: c.useBias ?? true, trainable: c.trainable ?? true }), c.inShape, c.units, seed);

describe("fused Dense against the tfjs layer on cpu", () => {
  const cases: DenseCase[] = [
    { inShape: [64, 300], units: 200, activation: "relu" },
    { inShape: [37, 129], units: 70, activation: "linear" },
    { inShape: [4, 16, 96], units: 288, activation: "linear" },
    { inShape: [3, 21, 64], units: 130, activation: "relu", useBias: false },
    { inShape: [64, 300], units: 200, activation: "tanh" }, // the linear kernel, then the layer's own activation
    { inShape: [4, 16, 96], units: 130, activation: "gelu" }, // the same, the activation on its fused GELU kernel
  ];
  for (const c of cases) {
    it(`Dense(${c.units}, ${c.activation}${c.useBias === false ? ", no bias" : ""}) on [${c.inShape}]: values and every gradient`, async () => {
      const f = denseProgram(c, c.units + c.inShape[0]);
      const [forward, backward] = [calls("gemm:00"), calls("dense-grad:")];
      const fused = await on("wasm", f);
      // Three forward passes (the output, and inside each gradient); the weights' gradient once, in one call.
      expect(calls("gemm:00") - forward).toBeGreaterThanOrEqual(3);
      expect(calls("dense-grad:") - backward).toBe(2); // tf.grads (input only) still runs it once; variableGrads once
      const reference = await on("cpu", f);
      const rows = size(c.inShape) / c.inShape[c.inShape.length - 1];
      const inner = { value: c.inShape[c.inShape.length - 1], dx: c.units, dkernel: rows, dbias: rows };
      (["value", "dx", "dkernel", "dbias"] as const).slice(0, fused.length).forEach((what, i) => expectClose(fused[i], reference[i], inner[what], what));
    });
  }
});

describe("layers that keep their own call", () => {
  for (const [why, c] of [
    ["too small for native code to win", { inShape: [8, 20], units: 30, activation: "relu" }],
    ["frozen", { inShape: [64, 300], units: 200, activation: "relu", trainable: false }],
  ] as [string, DenseCase][]) {
    it(`${why}: no fused call, the same results as cpu`, async () => {
      const f = denseProgram(c, 3);
      const before = calls("dense-grad:");
      const wasm = await on("wasm", f);
      expect(calls("dense-grad:")).toBe(before);
      const reference = await on("cpu", f);
      wasm.forEach((got, i) => expectClose(got, reference[i], 300, `output ${i}`));
    });
  }

  it("with native off, Dense takes its own call again, and the fused one comes back with native", async () => {
    const f = denseProgram({ inShape: [64, 300], units: 200, activation: "relu" }, 7);
    const fused = await on("wasm", f);
    disableNativeKernels();
    try {
      const before = calls("dense-grad:");
      const plain = await on("wasm", f);
      expect(calls("dense-grad:")).toBe(before);
      plain.forEach((p, i) => expectClose(fused[i], p, 300, `output ${i}`));
    } finally {
      expect(enableNativeKernels()).toBe(true);
    }
    const before = calls("dense-grad:");
    await on("wasm", f);
    expect(calls("dense-grad:")).toBeGreaterThan(before);
  });
});

describe("a model's training step", () => {
  it("an MLP's loss and weight gradients match cpu's, and no tensor is left behind", async () => {
    const data = rng(11, 1);
    const [xv, yv] = [data(48 * 400), data(48)];
    const program = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [400], units: 256, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.dense({ units: 128, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
          tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        ],
      });
      const x = tf.tensor2d(xv, [48, 400]);
      const y = tf.tensor2d(yv, [48, 1]);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const loss = (input: tf.Tensor) => tf.losses.meanSquaredError(y, model.apply(input, { training: true }) as tf.Tensor) as tf.Scalar;
      const { value, grads } = tf.variableGrads(() => loss(x), vars);
      // The gradient pass leaves only its results: loss and one gradient per variable.
      expect(tf.memory().numTensors - before).toBe(1 + vars.length);
      // The first layer leaves its input's gradient out of its fused call; asked for all the same, it comes from the thunk.
      const dData = tf.grad(loss)(x);
      const out = [value, ...vars.map((v) => grads[v.name]), dData];
      model.dispose();
      return out;
    };
    const [before, beforeWithDx] = [calls("dense-grad:"), calls("dense-grad:relu:bias:dx")];
    const fused = await on("wasm", program);
    // The 400→256 and 256→128 layers (the last is too small), for the weights and again for the data's gradient; only the second layer's call includes dx.
    expect(calls("dense-grad:") - before).toBe(4);
    expect(calls("dense-grad:relu:bias:dx") - beforeWithDx).toBe(2);
    const reference = await on("cpu", program);
    fused.forEach((got, i) => expectClose(got, reference[i], 400, `output ${i}`));
  });
});

interface ConvCase {
  inShape: [number, number, number, number];
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: "valid" | "same";
  activation: "relu" | "linear" | "tanh";
  useBias?: boolean;
  /** Deep enough for one native Gemm over the patch matrix, which the filter's gradient then reuses. */
  keepsPatches?: boolean;
}

const convProgram = (c: ConvCase, seed: number) =>
  layerProgram(
    () =>
      tf.layers.conv2d({
        filters: c.filters,
        kernelSize: c.kernelSize,
        strides: c.strides ?? 1,
        padding: c.padding ?? "valid",
        activation: c.activation,
        useBias: c.useBias ?? true,
      }),
    c.inShape,
    c.filters,
    seed,
  );

/** The kernels `f` runs on the active backend, one entry per call. */
async function kernelsOf(f: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  await tf.setBackend("wasm");
  const info = await tf.profile(() => f());
  return info.kernels.map((k) => k.name);
}

/** The forward kernels of a fused Conv2D layer: the one-call convolution, or the patch matrix its Gemm keeps for the filter's gradient. */
const CONV_KERNELS = ["TscolabFusedConv2D", "TscolabConvPatches"];
const fusedConvCalls = (kernels: string[]) => kernels.filter((k) => CONV_KERNELS.includes(k));

describe("fused Conv2D against the tfjs layer on cpu", () => {
  const cases: ConvCase[] = [
    { inShape: [8, 28, 28, 1], filters: 32, kernelSize: 3, activation: "relu" }, // the bench CNN's first layer: XNNPACK
    { inShape: [4, 13, 13, 32], filters: 64, kernelSize: 3, activation: "relu", keepsPatches: true }, // its second: one native Gemm
    { inShape: [3, 15, 15, 24], filters: 40, kernelSize: 3, strides: 2, padding: "same", activation: "linear", useBias: false, keepsPatches: true },
    { inShape: [2, 9, 9, 70], filters: 16, kernelSize: 1, activation: "relu" }, // pointwise: x is its own patch matrix
  ];
  for (const c of cases) {
    const name = `Conv2D(${c.filters}, ${c.kernelSize}×${c.kernelSize}, stride ${c.strides ?? 1}, ${c.padding ?? "valid"}, ${c.activation}${c.useBias === false ? ", no bias" : ""}) on [${c.inShape}]`;
    it(`${name}: one forward kernel, values and every gradient`, async () => {
      const f = convProgram(c, c.filters + c.inShape[1]);
      const kernels = await kernelsOf(f);
      // Three forward passes (the output, and inside each gradient), each one call; the activation inside it, not after it.
      expect(fusedConvCalls(kernels)).toEqual(Array(3).fill(c.keepsPatches ? "TscolabConvPatches" : "TscolabFusedConv2D"));
      expect(kernels).not.toContain("Relu");
      // With the patch matrix kept, the filter's gradient reads it: no second im2col in a filter-gradient kernel.
      if (c.keepsPatches) expect(kernels).not.toContain("Conv2DBackpropFilter");
      const fused = await on("wasm", f);
      const reference = await on("cpu", f);
      const depth = c.kernelSize * c.kernelSize * c.inShape[3];
      const positions = size(c.inShape) / c.inShape[3];
      const inner = { value: depth, dx: c.kernelSize * c.kernelSize * c.filters, dkernel: positions, dbias: positions };
      (["value", "dx", "dkernel", "dbias"] as const).slice(0, fused.length).forEach((what, i) => expectClose(fused[i], reference[i], inner[what], what));
    });
  }

  it("an activation the kernel does not take keeps the layer's own call, with cpu's results", async () => {
    const c: ConvCase = { inShape: [4, 13, 13, 32], filters: 64, kernelSize: 3, activation: "tanh" };
    const f = convProgram(c, 5);
    expect(fusedConvCalls(await kernelsOf(f))).toEqual([]);
    const wasm = await on("wasm", f);
    const reference = await on("cpu", f);
    wasm.forEach((got, i) => expectClose(got, reference[i], 3000, `output ${i}`));
  });

  it("with native off, Conv2D takes its own call again", async () => {
    const f = convProgram({ inShape: [4, 13, 13, 32], filters: 64, kernelSize: 3, activation: "relu" }, 6);
    disableNativeKernels();
    try {
      expect(fusedConvCalls(await kernelsOf(f))).toEqual([]);
    } finally {
      expect(enableNativeKernels()).toBe(true);
    }
    expect(fusedConvCalls(await kernelsOf(f)).length).toBeGreaterThan(0);
  });
});

describe("stock tfjs", () => {
  it("with tscolab's kernels uninstalled the layers take their own call, and installing them brings the fused kernels back", async () => {
    const dense = denseProgram({ inShape: [64, 300], units: 200, activation: "relu" }, 8);
    // Forward only: stock tfjs wasm has no convolution gradient.
    const convForward = () => {
      const layer = tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" });
      return layer.apply(tf.ones([4, 13, 13, 32])) as tf.Tensor;
    };
    uninstallFastKernels("wasm");
    try {
      const names = [...(await kernelsOf(dense)), ...(await kernelsOf(convForward))];
      expect(names.filter((n) => n.startsWith("Tscolab"))).toEqual([]);
    } finally {
      installFastKernels("wasm");
    }
    expect(await kernelsOf(dense)).toContain("TscolabFusedDense");
    expect(fusedConvCalls(await kernelsOf(convForward)).length).toBeGreaterThan(0);
  });
});
