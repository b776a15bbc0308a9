// Slice, SplitV and GatherV2 on wasm copy whole rows inside the heap; they
// must give exactly what stock cpu gives for every rank, axis and dtype.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { installFastKernels, patchesInForce } from "../engine/backend/kernels";

async function on(backend: "wasm" | "cpu", f: () => tf.Tensor[]): Promise<number[][]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const data = out.map((t) => Array.from(t.dataSync()));
  const shapes = out.map((t) => t.shape);
  tf.dispose(out);
  return [...data, ...shapes];
}

beforeAll(async () => {
  await tf.setBackend("wasm");
  installFastKernels("wasm");
  expect(patchesInForce().some((p) => p.startsWith("wasm:SplitV"))).toBe(true);
});

describe("Slice and SplitV against stock cpu", () => {
  const shapes = [[7], [5, 9], [4, 6, 5], [3, 12, 4, 5], [2, 3, 4, 5, 6]];
  for (const shape of shapes)
    for (const dtype of ["float32", "int32"] as const) {
      const n = shape.reduce((p, d) => p * d, 1);
      const values = Array.from({ length: n }, (_, i) => (dtype === "int32" ? i - 40 : Math.sin(i) * 3));
      it(`shape [${shape}] ${dtype}: every axis split, and slices with offsets`, async () => {
        const f = () => {
          const x = tf.tensor(values, shape, dtype);
          const outs: tf.Tensor[] = [];
          for (let axis = 0; axis < shape.length; axis++) {
            const first = Math.max(1, Math.floor(shape[axis] / 3));
            outs.push(...tf.split(x, [first, shape[axis] - first], axis));
            const begin = shape.map((d, a) => (a === axis ? Math.min(1, d - 1) : 0));
            const size = shape.map((d, a) => (a === axis ? d - begin[a] : -1));
            outs.push(tf.slice(x, begin, size));
          }
          // an interior box: offsets on every axis
          outs.push(
            tf.slice(
              x,
              shape.map((d) => (d > 2 ? 1 : 0)),
              shape.map((d) => (d > 2 ? d - 2 : d)),
            ),
          );
          return outs;
        };
        expect(await on("wasm", f)).toEqual(await on("cpu", f));
      });
    }

  it("the qkv split of a transformer ([32,12,64,64] into three along axis 1) and its gradient", async () => {
    const values = Float32Array.from({ length: 32 * 12 * 64 * 64 }, (_, i) => (i % 97) / 97);
    const f = () => {
      const x = tf.tensor4d(values, [32, 12, 64, 64]);
      const [q, k, v] = tf.split(x, 3, 1);
      const [dx] = tf.grads((t: tf.Tensor) => {
        const [a, b, c] = tf.split(t, 3, 1);
        return tf.sum(tf.add(tf.mul(a, 2), tf.sub(b, c)));
      })([x]);
      return [q, k, v, dx];
    };
    expect(await on("wasm", f)).toEqual(await on("cpu", f));
  });

  it("a bool slice (one byte per element) still works through the stock kernel", async () => {
    const f = () => {
      const x = tf.tensor2d([true, false, true, true, false, false], [2, 3], "bool");
      return [tf.slice(x, [0, 1], [2, 2]), ...tf.split(x, [1, 2], 1)];
    };
    expect(await on("wasm", f)).toEqual(await on("cpu", f));
  });

  for (const [shape, axis] of [
    [[73, 256], 0],
    [[4, 9, 5], 1],
    [[4, 9, 5], 2],
    [[6], 0],
  ] as [number[], number][])
    for (const dtype of ["float32", "int32"] as const)
      it(`gather from [${shape}] ${dtype} along axis ${axis}, and the embedding gradient`, async () => {
        const n = shape.reduce((p, d) => p * d, 1);
        const values = Array.from({ length: n }, (_, i) => (dtype === "int32" ? i * 3 - 50 : Math.cos(i)));
        const ids = Array.from({ length: 2 * 7 }, (_, i) => (i * 5 + 3) % shape[axis]);
        const f = () => {
          const x = tf.tensor(values, shape, dtype);
          const idx = tf.tensor2d(ids, [2, 7], "int32");
          const outs = [tf.gather(x, idx, axis)];
          if (dtype === "float32") outs.push(...tf.grads((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, idx, axis))))([x]));
          return outs;
        };
        const [wasm, cpu] = [await on("wasm", f), await on("cpu", f)];
        expect(wasm[0]).toEqual(cpu[0]); // copies: exact
        if (dtype === "float32") {
          // the gradient sums repeated rows, in another order than cpu's loop
          expect(wasm[1].length).toBe(cpu[1].length);
          wasm[1].forEach((g, i) => expect(Math.abs(g - cpu[1][i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(cpu[1][i]))));
        }
      });

  it("an index out of range is refused with tfjs's own message", async () => {
    await tf.setBackend("wasm");
    expect(() => tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([0, 2], "int32"))).toThrow("GatherV2: the index value 2 is not in [0, 1]");
  });
});
