// The fused native kernels (GELU and layer normalization, forward and
// backward in one call each) against the tfjs ops they replace, run by stock
// tfjs cpu: a Dense layer's GELU and the transformer's layer norm, values and
// every gradient, at odd sizes and at the transformer's own. With the native
// kernels off, the same layers take their tfjs ops again.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { describe, expect, it } from "vitest";
import { disableNativeKernels, enableNativeKernels, fusedKernelsOn, nativeCalls } from "../engine/backend/native";
import { attentionGradModel, attentionModel, geluGradModel, geluModel, layerNormGradModel, layerNormModel } from "../engine/backend/native/fused_models";
import { denseGradModel } from "../engine/backend/native/dense_models";
import { col2imModel } from "../engine/backend/native/native_conv_transpose";
import { matMulModel } from "../engine/backend/native/matmul_models";
import { nativeRuntime } from "../engine/backend/native/sessions";
import type { OrtRuntime } from "../engine/backend/native/ort_runtime";
import { transformerLayers } from "../engine/models/transformer/layers";
import { offsetOf, type WasmBackendLike } from "../engine/backend/kernels/wasm_heap";
import { expectClose, on, rng, withNativeKernels } from "./helpers/backends";

const calls = (prefix: string) => [...nativeCalls.entries()].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

withNativeKernels("tscolab-fused-");

/** The layer norm layer's output, and the gradients of Σ y·w for x, γ and β. */
function layerNormProgram(shape: number[], seed: number, epsilon: number) {
  const data = rng(seed, 3);
  const xv = data(size(shape)).map((v, i) => v + (i % 7) - 2); // rows with an offset: the centering matters
  const wv = data(size(shape));
  const d = shape[shape.length - 1];
  const gv = data(d).map((v) => 1 + v / 3);
  const bv = data(d);
  return () => {
    const layer = new (transformerLayers(tf).LayerNorm)({ epsilon });
    const x = tf.tensor(xv, shape);
    layer.build(shape);
    (layer.getWeights()[0] as tf.Variable).assign(tf.tensor1d(gv));
    (layer.getWeights()[1] as tf.Variable).assign(tf.tensor1d(bv));
    const w = tf.tensor(wv, shape);
    const y = layer.apply(x) as tf.Tensor;
    const [gx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a) as tf.Tensor, w)))([x]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, w)) as tf.Scalar, layer.getWeights() as tf.Variable[]);
    const [gGamma, gBeta] = layer.getWeights().map((v) => grads[(v as tf.Variable).name]);
    return [y, gx, gGamma, gBeta];
  };
}

/** A Dense layer with GELU: its output, and the gradients of Σ y·w for the input, kernel and bias. */
function geluProgram(inShape: number[], units: number, seed: number) {
  const data = rng(seed, 2);
  const xv = data(size(inShape));
  const wv = data(size([...inShape.slice(0, -1), units]));
  const kv = data(inShape[inShape.length - 1] * units);
  return () => {
    const dense = tf.layers.dense({ units, activation: "gelu", kernelInitializer: "zeros" });
    const x = tf.tensor(xv, inShape);
    dense.build(inShape);
    (dense.getWeights()[0] as tf.Variable).assign(tf.tensor(kv, [inShape[inShape.length - 1], units]));
    const w = tf.tensor(wv, [...inShape.slice(0, -1), units]);
    const y = dense.apply(x) as tf.Tensor;
    const [gx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(dense.apply(a) as tf.Tensor, w)))([x]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(dense.apply(x) as tf.Tensor, w)) as tf.Scalar, dense.getWeights() as tf.Variable[]);
    return [y, gx, ...dense.getWeights().map((v) => grads[(v as tf.Variable).name])];
  };
}

describe("fused layer norm against the tfjs ops on cpu", () => {
  for (const [shape, epsilon] of [
    [[4, 7, 33], 1e-5],
    [[3, 129], 1e-3],
    [[32, 64, 256], 1e-5],
  ] as [number[], number][]) {
    it(`x [${shape}], epsilon ${epsilon}: values and the gradients of x, gamma and beta`, async () => {
      const f = layerNormProgram(shape, shape.length * 31 + shape[0], epsilon);
      await tf.setBackend("wasm");
      const kernels = (await tf.profile(() => f())).kernels.map((k) => k.name);
      // Three forward calls (the output, and inside each gradient) and two gradient calls, each one kernel (wasm SIMD).
      expect(kernels.filter((k) => k === "TscolabFusedLayerNorm").length).toBe(3);
      expect(kernels.filter((k) => k === "TscolabFusedLayerNormGrad").length).toBe(2);
      const fused = await on("wasm", f);
      const reference = await on("cpu", f);
      const d = shape[shape.length - 1];
      ["value", "dx", "dgamma", "dbeta"].forEach((what, i) => expectClose(fused[i], reference[i], what === "dgamma" || what === "dbeta" ? size(shape) / d : d, what));
    });
  }
});

describe("fused GELU against the tfjs ops on cpu", () => {
  for (const [inShape, units] of [
    [[5, 17], 23],
    [[2, 9, 40], 130],
    [[4, 64, 256], 1024],
  ] as [number[], number][]) {
    it(`Dense(${units}, gelu) on [${inShape}]: values and the gradients of input, kernel and bias`, async () => {
      const f = geluProgram(inShape, units, units + inShape[0]);
      const before = calls("fused:Gelu");
      const fused = await on("wasm", f);
      expect(calls("fused:Gelu") - before).toBe(5);
      const reference = await on("cpu", f);
      const rows = size(inShape) / inShape[inShape.length - 1];
      ["value", "dx", "dkernel", "dbias"].forEach((what, i) => expectClose(fused[i], reference[i], what === "dx" ? units : rows, what));
    });
  }
});

/** Self-attention over a packed [q | k | v] input: its output, and the gradient of Σ y·w for the input. */
function attentionProgram(shape: number[], heads: number, causal: boolean, seed: number) {
  const data = rng(seed, 1.5);
  const xv = data(size(shape));
  const outShape = [...shape.slice(0, -1), shape[2] / 3];
  const wv = data(size(outShape));
  return () => {
    const layer = new (transformerLayers(tf).SelfAttention)({ heads, causal });
    const x = tf.tensor(xv, shape);
    const w = tf.tensor(wv, outShape);
    const y = layer.apply(x) as tf.Tensor;
    const [gx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a) as tf.Tensor, w)))([x]);
    return [y, gx];
  };
}

describe("fused self-attention against the tfjs ops on cpu", () => {
  for (const [shape, heads, causal] of [
    [[2, 5, 24], 2, true],
    [[3, 17, 120], 4, false],
    [[3, 17, 120], 4, true],
    [[8, 64, 768], 4, true],
  ] as [number[], number, boolean][]) {
    it(`[${shape}] in ${heads} heads, ${causal ? "causal" : "full"}: values and the input's gradient`, async () => {
      const f = attentionProgram(shape, heads, causal, shape[1] + heads);
      const before = calls("fused:Attention");
      const fused = await on("wasm", f);
      expect(calls("fused:Attention") - before).toBe(3);
      const reference = await on("cpu", f);
      const inner = shape[1] * (shape[2] / 3 / heads);
      expectClose(fused[0], reference[0], inner, "value");
      expectClose(fused[1], reference[1], inner, "gradient");
    });
  }
});

describe("layer norm on wasm SIMD", () => {
  it("gives the same bits for the same values anywhere on the heap (a resumed run's tensors sit elsewhere)", async () => {
    await tf.setBackend("wasm");
    const [rows, d] = [37, 70]; // d not a multiple of 4: the scalar tail too
    const data = rng(5, 2);
    const [xv, dyv, gv, bv] = [data(rows * d), data(rows * d), data(d), data(d)];
    const alignments = new Set<number>();
    const run = (padFloats: number) =>
      tf.tidy(() => {
        const pad = tf.zeros([padFloats]); // shifts where the next tensors land
        const [x, dy, gamma, beta] = [tf.tensor2d(xv, [rows, d]), tf.tensor2d(dyv, [rows, d]), tf.tensor1d(gv), tf.tensor1d(bv)];
        alignments.add(offsetOf(tf.backend() as unknown as WasmBackendLike, x) % 64);
        const y = tf.engine().runKernel("TscolabFusedLayerNorm", { x, gamma, beta }, { epsilon: 1e-5 }) as tf.Tensor;
        const grads = tf.engine().runKernel("TscolabFusedLayerNormGrad", { dy, x, gamma }, { epsilon: 1e-5 }) as tf.Tensor[];
        pad.dispose();
        return [y, ...grads].map((t) => Buffer.from((t.dataSync() as Float32Array).buffer));
      });
    const first = run(1);
    for (const pad of [2, 3, 5, 8, 13, 4097]) run(pad).forEach((bytes, i) => expect(bytes.equals(first[i]), `output ${i}, pad ${pad}`).toBe(true));
    expect(alignments.size, "x landed at more than one offset modulo 64 bytes").toBeGreaterThan(1);
  });
});

describe("where the operands sit on the heap", () => {
  // tfjs places tensors wherever its allocator finds room, so a resumed process sees other
  // addresses than the uninterrupted one: a graph whose rounding followed the alignment of
  // its inputs would break bit-identical resume.
  it("changes no bit of any native graph's outputs (offsets of 0 to 7 floats)", () => {
    const rt = nativeRuntime() as OrtRuntime;
    const [rows, d] = [192, 80];
    const data = rng(21, 2);
    const [x, dy, w] = [data(rows * d), data(rows * d), data(d * 48)];
    const gamma = data(d).map((v) => 1 + v);
    const beta = data(d);
    const [denseDy, denseY] = [data(rows * 48), data(rows * 48)];
    const graphs: { name: string; model: Uint8Array; feeds: [string, Float32Array, number[]][]; outputs: [string, number[]][] }[] = [
      { name: "gelu", model: geluModel(), feeds: [["X", x, [rows * d]]], outputs: [["Y", [rows * d]]] },
      {
        name: "gelu grad",
        model: geluGradModel(),
        feeds: [
          ["DY", dy, [rows * d]],
          ["X", x, [rows * d]],
        ],
        outputs: [["DX", [rows * d]]],
      },
      {
        name: "layer norm",
        model: layerNormModel(1e-5),
        feeds: [
          ["X", x, [rows, d]],
          ["G", gamma, [d]],
          ["B", beta, [d]],
        ],
        outputs: [["Y", [rows, d]]],
      },
      {
        name: "layer norm grad",
        model: layerNormGradModel(1e-5),
        feeds: [
          ["DY", dy, [rows, d]],
          ["X", x, [rows, d]],
          ["G", gamma, [d]],
        ],
        outputs: [
          ["DX", [rows, d]],
          ["DG", [d]],
          ["DB", [d]],
        ],
      },
      ...[true, false]
        .map((causal) => {
          const [b, t, heads, headSize] = [3, 24, 2, 8];
          const qkv = data(b * t * 3 * heads * headSize);
          const dOut = data(b * t * heads * headSize);
          const mask = new Float32Array(t * t).map((_, i) => (i % t > Math.floor(i / t) ? -1e9 : 0));
          const masks: [string, Float32Array, number[]][] = causal ? [["MASK", mask, [t, t]]] : [];
          return [
            {
              name: `attention causal=${causal}`,
              model: attentionModel({ heads, headSize, causal }),
              feeds: [["QKV", qkv, [b, t, 3, heads, headSize]], ...masks] as [string, Float32Array, number[]][],
              outputs: [["O", [b, t, heads, headSize]]] as [string, number[]][],
            },
            {
              name: `attention grad causal=${causal}`,
              model: attentionGradModel({ heads, headSize, causal }),
              feeds: [["DO", dOut, [b, t, heads, headSize]], ["QKV", qkv, [b, t, 3, heads, headSize]], ...masks] as [string, Float32Array, number[]][],
              outputs: [["DQKV", [b, t, 3, heads, headSize]]] as [string, number[]][],
            },
          ];
        })
        .flat(),
      ...(["relu", "linear"] as const).map((activation) => ({
        name: `dense grad ${activation}`,
        model: denseGradModel({ activation, bias: true, inputGrad: true }),
        feeds: [["DY", denseDy, [rows, 48]], ["X", x, [rows, d]], ["W", w, [d, 48]], ...(activation === "relu" ? [["Y", denseY, [rows, 48]]] : [])] as [
          string,
          Float32Array,
          number[],
        ][],
        outputs: [
          ["DW", [d, 48]],
          ["DB", [48]],
          ["DX", [rows, d]],
        ] as [string, number[]][],
      })),
      ...(["relu", "linear"] as const).map((activation) => ({
        name: `dense ${activation} with bias`,
        model: matMulModel({ transposeA: false, transposeB: false, batched: false, bias: true, activation }),
        feeds: [
          ["A", x, [rows, d]],
          ["B", w, [d, 48]],
          ["C", gamma.subarray(0, 48), [48]],
        ] as [string, Float32Array, number[]][],
        outputs: [["Y", [rows, 48]]] as [string, number[]][],
      })),
      ...[1, 2].map((stride) => {
        const g = {
          batch: 3,
          inH: 9,
          inW: 9,
          inC: 8,
          outH: stride === 1 ? 7 : 4,
          outW: stride === 1 ? 7 : 4,
          outC: 16,
          fh: 3,
          fw: 3,
          strideH: stride,
          strideW: stride,
          padTop: 0,
          padLeft: 0,
        };
        return {
          name: `conv input gradient (col2im), stride ${stride}`,
          model: col2imModel(g, [0, 0, 0, 0]),
          feeds: [
            ["dy", data(g.batch * g.outH * g.outW * g.outC), [g.batch, g.outH * g.outW, g.outC]],
            ["filter", data(9 * g.inC * g.outC), [3, 3, g.inC, g.outC]],
          ] as [string, Float32Array, number[]][],
          outputs: [["dx", [g.batch, g.inH, g.inW, g.inC]]] as [string, number[]][],
        };
      }),
      ...[false, true].map((transposeA) => ({
        name: `matMul transposeA=${transposeA}`,
        model: matMulModel({ transposeA, transposeB: false, batched: false, bias: false, activation: "linear" }),
        feeds: [
          ["A", x, [rows, d]], // transposed: [K = rows, M = d]
          ["B", w, transposeA ? [rows, (d * 48) / rows] : [d, 48]],
        ] as [string, Float32Array, number[]][],
        outputs: [["Y", transposeA ? [d, (d * 48) / rows] : [rows, 48]]] as [string, number[]][],
      })),
    ];
    const heap = new Float32Array(4 * rows * d + 64);
    // Outputs too: through the C API onnxruntime writes them where the caller's tensors are.
    const outHeap = new Float32Array(4 * rows * d + 64);
    for (const graph of graphs) {
      const session = rt.open(graph.model);
      const results = [0, 1, 2, 3, 4, 5, 6, 7].map((offset) => {
        let at = offset;
        const feeds = graph.feeds.map(([name, values, dims]) => {
          const view = heap.subarray(at, at + values.length);
          view.set(values);
          at += values.length + 3; // each operand at another alignment too
          return { name, data: view, dims };
        });
        let outAt = 7 - offset;
        const fetches = graph.outputs.map(([name, dims]) => {
          const view = outHeap.subarray(outAt, outAt + size(dims));
          outAt += size(dims) + 5;
          return { name, data: view, dims };
        });
        session.run(feeds, fetches);
        return fetches.map((f) => f.data.slice());
      });
      session.dispose();
      for (const [i, result] of results.entries())
        result.forEach((out, j) => expect(Buffer.from(out.buffer).equals(Buffer.from(results[0][j].buffer)), `${graph.name}, output ${j}, offset ${i}`).toBe(true));
    }
  });
});

describe("with the native kernels off", () => {
  it("the layers take their tfjs ops again, with the same results, and the fused kernels come back with native", async () => {
    const norm = layerNormProgram([6, 50], 9, 1e-5);
    const gelu = geluProgram([6, 50], 70, 10);
    const fused = [...(await on("wasm", norm)), ...(await on("wasm", gelu))];
    disableNativeKernels();
    try {
      expect(fusedKernelsOn("wasm")).toBe(false);
      const before = calls("fused:");
      const plain = [...(await on("wasm", norm)), ...(await on("wasm", gelu))];
      expect(calls("fused:")).toBe(before);
      plain.forEach((p, i) => expectClose(fused[i], p, 50, `output ${i}`));
    } finally {
      expect(enableNativeKernels()).toBe(true);
    }
    expect(fusedKernelsOn("wasm")).toBe(true);
  });
});
