// ONNX export: every model converts, runs in onnxruntime-node and
// agrees with tfjs within 1e-4 absolute, at two batch sizes (the batch
// dimension is dynamic); unsupported layers fail with a clear error.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { layersModelToOnnx, openOnnxSession, type OnnxTensorData } from "../engine/export/onnx";
import { TscolabError } from "../magics/types";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModelArtifacts, saveModelArtifacts } from "../engine/store";
import { allCases, cnn, functional, mlp, type Case } from "./onnx_models";

const TOLERANCE = 1e-4;

beforeAll(async () => {
  await tf.setBackend("cpu");
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Runs the case in tfjs and in onnxruntime; returns the max abs diff over all outputs. */
async function compare(c: Case, bytes: Uint8Array, batch: number): Promise<number> {
  const inputs = c.inputs(batch);
  const expected = c.model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  const expectedList = Array.isArray(expected) ? expected : [expected];
  const session = await openOnnxSession(bytes);
  try {
    const feeds: Record<string, OnnxTensorData> = {};
    session.inputNames.forEach((name, i) => {
      feeds[name] = { data: inputs[i]!.dataSync() as Float32Array | Int32Array, shape: inputs[i]!.shape };
    });
    const got = await session.runFeeds(feeds);
    let worst = 0;
    session.outputNames.forEach((name, i) => {
      expect(got[name]!.shape).toEqual(expectedList[i]!.shape);
      worst = Math.max(worst, maxAbsDiff(expectedList[i]!.dataSync(), got[name]!.data));
    });
    return worst;
  } finally {
    await session.release();
  }
}

describe("layersModelToOnnx", () => {
  it.each(allCases().map((c) => [c.name, c] as const))("%s agrees with tfjs within 1e-4 at batch 1 and 7", async (_name, c) => {
    const bytes = layersModelToOnnx(c.model, { metadata: { case: c.name } });
    const d1 = await compare(c, bytes, 1);
    const d7 = await compare(c, bytes, 7);
    console.log(`[onnx] ${c.name}: ${bytes.length} bytes, max |diff| batch1 ${d1.toExponential(2)}, batch7 ${d7.toExponential(2)}`);
    expect(d1).toBeLessThan(TOLERANCE);
    expect(d7).toBeLessThan(TOLERANCE);
  });

  it.each([
    ["cnn", cnn],
    ["functional", functional],
  ] as const)("%s saved to a checkpoint folder and reloaded, as the export engine does, converts and agrees", async (_name, make) => {
    const c = make();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-onnx-ckpt-"));
    try {
      await saveModelArtifacts(dir, c.model);
      const reloaded = await loadModelArtifacts(dir, tf);
      const bytes = layersModelToOnnx(reloaded);
      // compare against the original in-memory model: the file round trip must not change the math
      expect(await compare(c, bytes, 4)).toBeLessThan(TOLERANCE);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(allCases().map((c) => [c.name, c] as const))("%s agrees at opset 21 too", async (_name, c) => {
    expect(await compare(c, layersModelToOnnx(c.model, { opset: 21 }), 2)).toBeLessThan(TOLERANCE);
  });

  it("uses the native Gelu op at opset 20 and still agrees", async () => {
    const c = functional();
    const bytes = layersModelToOnnx(c.model, { opset: 20 });
    expect(Buffer.from(bytes).includes(Buffer.from("Gelu"))).toBe(true);
    expect(await compare(c, bytes, 3)).toBeLessThan(TOLERANCE);
  });

  it("is deterministic and its size is dominated by the weights", () => {
    const c = mlp();
    const a = layersModelToOnnx(c.model);
    const b = layersModelToOnnx(c.model);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const weightBytes = c.model.countParams() * 4;
    expect(a.length).toBeGreaterThan(weightBytes);
    expect(a.length).toBeLessThan(weightBytes + 8192);
  });

  it("names the unsupported layer and its class", () => {
    const model = tf.sequential({ layers: [tf.layers.masking({ inputShape: [5, 3], name: "my_mask" }), tf.layers.lstm({ units: 4 })] });
    let error: unknown;
    try {
      layersModelToOnnx(model);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TscolabError);
    expect((error as Error).message).toMatch(/layer "my_mask" \(Masking\) is not supported/);
    expect((error as Error).message).toMatch(/fix: .*--formats tfjs/);
  });

  it("refuses a recurrent layer fed a mask, which ONNX would ignore", () => {
    const model = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 9, outputDim: 4, inputLength: 5, maskZero: true }), tf.layers.gru({ units: 3, name: "masked_gru" })] });
    expect(() => layersModelToOnnx(model)).toThrow(/layer "masked_gru" \(GRU\) receives a mask/);
  });

  it("rejects an opset outside 17..21 and a non-model", () => {
    expect(() => layersModelToOnnx(mlp().model, { opset: 13 })).toThrow(/17/);
    expect(() => layersModelToOnnx({} as tf.LayersModel)).toThrow(TscolabError);
  });
});
