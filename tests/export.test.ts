// %export on real files and real tfjs math: the three tfjs formats load in
// stock tfjs (served over HTTP to tf.loadLayersModel, as a browser would get
// them, with no tscolab code on the loading side), quantized formats agree
// within their bars at 1/2 and 1/4 of the weight bytes, the health score
// follows its formula, and bad input is one clear error.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { unzipSync, strFromU8 } from "fflate";
import { exportModel, type ExportResult } from "../engine/export/export";
import { healthScore, check } from "../engine/export/health";
import { FORMAT_RULES } from "../engine/export/formats";
import { TscolabError, UsageError } from "../magics/types";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-export-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The zoo-style MLP for tabular classification (4 features → 64 → 32 → 3 classes). */
function mlp(seed = 7): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 64,
        activation: "relu",
        inputShape: [4],
        kernelInitializer: init(seed),
        biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: seed + 1 }),
      }),
      tf.layers.dropout({ rate: 0.1 }),
      tf.layers.dense({ units: 32, activation: "relu", kernelInitializer: init(seed + 2) }),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: init(seed + 3) }),
    ],
  });
  model.compile({ optimizer: "adam", loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  return model;
}

const dataset = {
  task: "classification",
  features: ["sl", "sw", "pl", "pw"],
  label: "species",
  labels: ["setosa", "versicolor", "virginica"],
  normalization: { mean: [5.8, 3.0, 3.7, 1.2], std: [0.8, 0.4, 1.7, 0.7] },
  inputShape: [4],
};

/** A static file server: what a web page would fetch the export from. */
function serve(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url!, "http://x").pathname));
    if (!file.startsWith(root) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.endsWith(".json") ? "application/json" : "application/octet-stream" }).end(fs.readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) })),
  );
}

/** Sum of the shard files model.json names: the weight bytes on disk. */
function shardBytes(modelJson: string): number {
  const json = JSON.parse(fs.readFileSync(modelJson, "utf8"));
  return json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).reduce((n: number, p: string) => n + fs.statSync(path.join(path.dirname(modelJson), p)).size, 0);
}

const probe = tf.tidy(() => tf.randomNormal([256, 4], 0, 1.5, "float32", 99));
const predict = (m: tf.LayersModel, x: tf.Tensor) => tf.tidy(() => (m.predict(x) as tf.Tensor).arraySync() as number[][]);

function maxAbsDiff(a: number[][], b: number[][]): number {
  let d = 0;
  a.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j])))));
  return d;
}

describe("an in-memory MLP exported to the three tfjs formats", () => {
  const model = mlp();
  const out = path.join(tmp, "mlp");
  let result: ExportResult;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    result = await exportModel({ model, dataset, formats: ["tfjs", "tfjs-float16", "tfjs-uint8", "onnx"], out, bundle: true, latencyRuns: 20 });
    server = await serve(out);
  });
  afterAll(() => server?.close());

  test("every check passes and each format reports path, bytes, maxAbsDiff, latency and status", () => {
    expect(result.out).toBe(out);
    expect(result.status).toBe("passed");
    for (const name of ["tfjs", "tfjs-float16", "tfjs-uint8", "onnx"]) {
      const f = result.formats[name];
      expect(Object.keys(f)).toEqual(expect.arrayContaining(["path", "bytes", "maxAbsDiff", "p50Ms", "p95Ms", "status"]));
      expect(f.status).toBe("passed");
      expect(f.p50Ms).toBeGreaterThan(0);
      expect(f.p95Ms).toBeGreaterThanOrEqual(f.p50Ms!);
    }
    expect(result.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(["tfjs.load", "tfjs.params_finite", "tfjs.forward", "tfjs.parity", "tfjs.latency", "tfjs.size", "tfjs-uint8.parity", "onnx.load", "onnx.parity"]),
    );
    expect(result.formats.onnx.path).toBe(path.join(out, "onnx", "model.onnx")); // always DIR/onnx/model.onnx
    expect(fs.statSync(result.formats.onnx.path!).size).toBe(result.formats.onnx.bytes);
  });

  test("stock tf.loadLayersModel over HTTP loads each format; fed raw inputs, float32 agrees to float rounding, float16 and uint8 within their bars", async () => {
    const want = predict(model, probe);
    // The exports take raw inputs: the dataset's normalisation is folded into their first layer.
    const raw = tf.tidy(() => probe.mul(dataset.normalization.std).add(dataset.normalization.mean));
    for (const format of ["tfjs", "tfjs-float16", "tfjs-uint8"] as const) {
      const loaded = await tf.loadLayersModel(`${server.url}/${format}/model.json`);
      const got = predict(loaded, raw);
      const diff = maxAbsDiff(got, want);
      if (format === "tfjs") got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(want[i][j]))));
      else {
        const { atol, rtol } = FORMAT_RULES[format];
        got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThanOrEqual(atol + rtol * Math.abs(want[i][j]))));
        expect(diff).toBeGreaterThan(0); // really quantized, not float32 under another name
      }
      expect(loaded.getUserDefinedMetadata()).toMatchObject({
        labels: dataset.labels,
        normalization: { mean: dataset.normalization.mean, std: dataset.normalization.std },
        inputSignature: [{ shape: [null, 4], dtype: "float32" }],
        outputSignature: [{ shape: [null, 3], dtype: "float32" }],
        task: "classification",
        inputs: "raw",
      });
      loaded.dispose();
    }
    raw.dispose();
  });

  test("the manifests carry tfjs's quantization entries, and weights take 1/2 and 1/4 of the float32 bytes", () => {
    const manifest = (f: string) => JSON.parse(fs.readFileSync(path.join(out, f, "model.json"), "utf8")).weightsManifest[0].weights;
    expect(manifest("tfjs").every((w: { quantization?: unknown }) => w.quantization === undefined)).toBe(true);
    expect(manifest("tfjs-float16").every((w: { quantization?: { dtype: string } }) => w.quantization?.dtype === "float16")).toBe(true);
    for (const w of manifest("tfjs-uint8")) {
      expect(w.quantization.dtype).toBe("uint8");
      expect(Number.isFinite(w.quantization.min) && w.quantization.scale > 0).toBe(true);
    }
    const f32 = shardBytes(path.join(out, "tfjs", "model.json"));
    const params = model.countParams();
    expect(f32).toBe(params * 4);
    expect(shardBytes(path.join(out, "tfjs-float16", "model.json"))).toBe(params * 2);
    expect(shardBytes(path.join(out, "tfjs-uint8", "model.json"))).toBe(params);
    expect(result.formats["tfjs-float16"].weightBytes! / result.formats.tfjs.weightBytes!).toBe(0.5);
    expect(result.formats["tfjs-uint8"].weightBytes! / result.formats.tfjs.weightBytes!).toBe(0.25);
  });

  test("health_report.json and .md hold every check, and healthScore follows the formula", () => {
    const report = JSON.parse(fs.readFileSync(path.join(out, "health_report.json"), "utf8"));
    expect(report.checks).toHaveLength(result.checks.length);
    for (const c of report.checks) {
      expect(Object.keys(c).sort()).toEqual(["details", "durationMs", "message", "name", "status"]);
      expect(["passed", "warning", "failed"]).toContain(c.status);
    }
    const passed = report.checks.filter((c: { status: string }) => c.status === "passed").length;
    const warnings = report.checks.filter((c: { status: string }) => c.status === "warning").length;
    expect(report.healthScore).toBeCloseTo(((passed + 0.5 * warnings) / report.checks.length) * 100, 10);
    const md = fs.readFileSync(path.join(out, "health_report.md"), "utf8");
    for (const c of report.checks) expect(md).toContain(c.name);
  });

  test("bundle.zip holds config, environment and the health report", () => {
    const files = unzipSync(fs.readFileSync(path.join(out, "bundle.zip")));
    expect(Object.keys(files).sort()).toEqual(["config.json", "environment.json", "health_report.json", "health_report.md"]);
    expect(JSON.parse(strFromU8(files["environment.json"])).export.node).toBe(process.version);
    expect(JSON.parse(strFromU8(files["config.json"])).dataset.labels).toEqual(dataset.labels);
  });
});

describe("health score", () => {
  test("(passed + 0.5 · warnings) / total · 100", () => {
    const c = (s: "passed" | "warning" | "failed") => check("x", s, "");
    expect(healthScore([c("passed"), c("passed"), c("warning"), c("failed")])).toBe(62.5);
    expect(healthScore([c("warning")])).toBe(50);
    expect(healthScore([c("failed"), c("failed")])).toBe(0);
  });

  test("a format that fails (onnx of a model with a custom layer, which the converter cannot know) fails the export and counts in the score", async () => {
    class TimesTwo extends tf.layers.Layer {
      static className = "TimesTwo";
      call(inputs: tf.Tensor | tf.Tensor[]) {
        return tf.tidy(() => (Array.isArray(inputs) ? inputs[0] : inputs).mul(2));
      }
    }
    tf.serialization.registerClass(TimesTwo);
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), new TimesTwo({})] });
    const r = await exportModel({ model, formats: ["tfjs", "onnx"], out: path.join(tmp, "with-onnx"), latencyRuns: 5 });
    expect(r.formats.tfjs.status).toBe("passed");
    expect(r.formats.onnx.status).toBe("failed");
    expect(r.checks.find((c) => c.name === "onnx.write")?.message).toMatch(/TimesTwo/);
    expect(r.status).toBe("failed");
    const passed = r.checks.filter((c) => c.status === "passed").length;
    const warnings = r.checks.filter((c) => c.status === "warning").length;
    expect(r.healthScore).toBeCloseTo(((passed + 0.5 * warnings) / r.checks.length) * 100, 10);
    expect(r.healthScore).toBeLessThan(100);
  });
});

describe("edge cases on real models", () => {
  test("small shards: the weights span several files and still load in stock tfjs", async () => {
    const model = mlp(11);
    const out = path.join(tmp, "shards");
    const r = await exportModel({ model, formats: ["tfjs", "tfjs-uint8"], out, shardBytes: 4096, latencyRuns: 5 });
    expect(r.status).not.toBe("failed");
    const json = JSON.parse(fs.readFileSync(path.join(out, "tfjs", "model.json"), "utf8"));
    expect(json.weightsManifest[0].paths).toEqual(["group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin"]);
    const server = await serve(out);
    try {
      const loaded = await tf.loadLayersModel(`${server.url}/tfjs/model.json`);
      expect(maxAbsDiff(predict(loaded, probe), predict(model, probe))).toBe(0);
    } finally {
      await server.close();
    }
  });

  test("the default shard size is 4 MiB: a 4.4 MB model lands in two shards, the first exactly 4 MiB", async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 1000, inputShape: [1100], useBias: false, kernelInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 4 }) })],
    });
    const out = path.join(tmp, "big");
    const r = await exportModel({ model, formats: ["tfjs"], out, latencyRuns: 2, batchSizes: [1, 4] });
    expect(r.formats.tfjs.status).toBe("passed");
    const dir = path.join(out, "tfjs");
    expect(fs.statSync(path.join(dir, "group1-shard1of2.bin")).size).toBe(4 * 1024 * 1024);
    expect(fs.statSync(path.join(dir, "group1-shard2of2.bin")).size).toBe(1100 * 1000 * 4 - 4 * 1024 * 1024);
    model.dispose();
  });

  test("NaN weights: the float32 export is reported non-finite and quantized formats refuse, in one line each", async () => {
    const model = mlp(5);
    const [k, b] = model.layers[0].getWeights();
    const values = Float32Array.from(k.dataSync());
    values[3] = NaN;
    model.layers[0].setWeights([tf.tensor(values, k.shape), b]);
    const r = await exportModel({ model, formats: ["tfjs", "tfjs-float16"], out: path.join(tmp, "nan"), latencyRuns: 5 });
    expect(r.status).toBe("failed");
    expect(r.checks.find((c) => c.name === "source.params_finite")?.status).toBe("failed");
    expect(r.checks.find((c) => c.name === "tfjs.params_finite")?.message).toMatch(/1 of \d+ parameters are NaN or Inf/);
    expect(r.checks.find((c) => c.name === "tfjs-float16.write")?.message).toMatch(/cannot be quantized/);
  });

  test("NaN outputs (a linear layer of NaN weights): the export fails in its report instead of throwing, and the JSON holds null, not NaN", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    model.layers[0].setWeights([tf.fill([3, 2], NaN), tf.zeros([2])]);
    const r = await exportModel({ model, formats: ["tfjs", "onnx"], out: path.join(tmp, "nan-out"), latencyRuns: 5 });
    expect(r.status).toBe("failed");
    expect(r.checks.find((c) => c.name === "source.params_finite")?.status).toBe("failed");
    expect(r.formats.tfjs.maxAbsDiff).toBeNull();
    expect(JSON.parse(fs.readFileSync(path.join(tmp, "nan-out", "health_report.json"), "utf8")).status).toBe("failed");
  });

  test("re-exporting into a folder that holds another format from an earlier export warns that the report does not cover it", async () => {
    const out = path.join(tmp, "reused");
    await exportModel({ model: mlp(), formats: ["tfjs", "tfjs-uint8"], out, latencyRuns: 3 });
    const again = await exportModel({ model: mlp(), formats: ["tfjs"], out, latencyRuns: 3 });
    const stale = again.checks.find((c) => c.name === "export.out_dir");
    expect(stale?.status).toBe("warning");
    expect(stale?.message).toMatch(/tfjs-uint8.* earlier export.* not validated by this report/);
    const fresh = await exportModel({ model: mlp(), formats: ["tfjs"], out: path.join(tmp, "fresh"), latencyRuns: 3 });
    expect(fresh.checks.find((c) => c.name === "export.out_dir")).toBeUndefined();
  });

  test("a conv net with batch norm keeps parity in every tfjs format", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: "relu", inputShape: [8, 8, 1], kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const r = await exportModel({ model, formats: ["tfjs", "tfjs-float16", "tfjs-uint8"], out: path.join(tmp, "cnn"), latencyRuns: 5 });
    for (const f of ["tfjs", "tfjs-float16", "tfjs-uint8"]) expect(r.checks.find((c) => c.name === `${f}.parity`)?.status).toBe("passed");
    expect(r.formats.tfjs.maxAbsDiff).toBe(0);
  });
});

describe("interrupt", () => {
  test("stop between formats: what is done is kept and reported, the rest is named", async () => {
    const stop = new AbortController();
    const out = path.join(tmp, "interrupted");
    const r = await exportModel(
      { model: mlp(17), formats: ["tfjs", "tfjs-float16", "tfjs-uint8"], out, latencyRuns: 2 },
      { signal: stop.signal, onProgress: (m) => m.startsWith("tfjs: ") && stop.abort() },
    );
    expect(r.formats.tfjs.status).toBe("passed");
    expect(Object.keys(r.formats)).toEqual(["tfjs"]);
    expect(r.checks.find((c) => c.name === "export.interrupted")).toMatchObject({ status: "failed", details: { skipped: ["tfjs-float16", "tfjs-uint8"] } });
    expect(r.status).toBe("failed");
    expect(fs.existsSync(path.join(out, "tfjs", "model.json"))).toBe(true);
    expect(fs.existsSync(path.join(out, "tfjs-float16"))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(out, "health_report.json"), "utf8")).checks.at(-1).name).toBe("export.interrupted");
  });
});

describe("resources", () => {
  test("an export leaves no tensors behind (reloaded models, probes and references are disposed)", async () => {
    const model = mlp(13);
    await exportModel({ model, formats: ["tfjs"], out: path.join(tmp, "leak-0"), latencyRuns: 2 });
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 2; i++) await exportModel({ model, formats: ["tfjs", "tfjs-float16", "tfjs-uint8", "onnx"], out: path.join(tmp, `leak-${i}`), latencyRuns: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("bad input is one clear error", () => {
  test("unknown format", async () => {
    // The type already refuses it; a JavaScript caller can still pass it, so the run-time check is what is tested.
    // @ts-expect-error "tflite" is not an export format
    const tflite = () => exportModel({ model: mlp(), formats: ["tflite"], out: path.join(tmp, "x") });
    await expect(tflite()).rejects.toThrow(UsageError);
    await expect(tflite()).rejects.toThrow(/formats.*tfjs/);
  });

  test("nothing to export, or a value that is not a model", async () => {
    await expect(exportModel({ formats: ["tfjs"] })).rejects.toThrow(/pass a model .* or --run/);
    await expect(exportModel({ model: { not: "a model" }, formats: ["tfjs"] })).rejects.toThrow(/must be a tf.LayersModel/);
  });

  test("missing run", async () => {
    const err = await exportModel({ run: "no-such-run", drive: path.join(tmp, "empty-drive"), formats: ["tfjs"] }).catch((e) => e);
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toMatch(/no run "no-such-run"/);
    expect(err.message.split("\n")).toHaveLength(1);
  });

  test("unwritable out dir (a path through a regular file; root ignores chmod)", async () => {
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "x");
    const err = await exportModel({ model: mlp(), formats: ["tfjs"], out: path.join(file, "out") }).catch((e) => e);
    expect(err).toBeInstanceOf(TscolabError);
    expect(err.message).toMatch(/cannot write the export to .*a-file\/out.*--out/);
  });
});

describe("%export, the magic face", () => {
  test("a notebook variable as <model>: one progress display updated in place, an HTML summary, exit code from status", async () => {
    await import("../magics");
    const { invokeMagic } = await import("../magics/registry");
    const displays: { text: string; updates: string[] }[] = [];
    const ctx = {
      cwd: tmp,
      signal: new AbortController().signal,
      variables: { clf: mlp(21) },
      rich: true,
      stdout: () => {},
      stderr: () => {},
      display(bundle: { "text/plain": string }) {
        const d = { text: bundle["text/plain"], updates: [] as string[] };
        displays.push(d);
        return { update: (b: { "text/plain": string }) => d.updates.push(b["text/plain"]) };
      },
    };
    const outcome = await invokeMagic("export", `clf --formats tfjs,tfjs-uint8 --out ${path.join(tmp, "magic")}`, ctx);
    expect(displays).toHaveLength(1);
    expect(displays[0].updates.length).toBeGreaterThanOrEqual(3);
    const result = outcome.result as ExportResult;
    expect(result.formats["tfjs-uint8"].status).toBe("passed");
    expect(String(outcome.bundle!["text/html"])).toMatch(/<table>.*tfjs-uint8.*<\/table>/s);
    // No dataset information for a bare variable: one warning, 20 of 21 passed.
    expect(outcome.bundle!["text/plain"]).toMatch(/health score 97\.6 · status warning/);
    expect(outcome.spec.exitCode!(result)).toBe(0);
    expect(outcome.spec.exitCode!({ ...result, status: "failed" })).toBe(1);

    const asJson = await invokeMagic("export", `clf --formats tfjs --out ${path.join(tmp, "magic-json")} --json`, ctx);
    expect(JSON.parse(asJson.bundle!["text/plain"]).formats.tfjs.status).toBe("passed");
  });
});
