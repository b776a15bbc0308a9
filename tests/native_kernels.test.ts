// The native kernels (onnxruntime-node's MLAS called in place on the wasm
// heap) against tfjs's stock cpu kernels: every transpose combination,
// batched and broadcast operands, a Dense layer's fused bias and activation,
// values and gradients. Then the probe's verdicts on a real binding and on
// installs that crash, hang or have another version (real child processes),
// and 1,000 training steps that leak no tensor and no native memory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { linearRegression } from "simple-statistics";
import { describe, expect, it } from "vitest";
import { disableNativeKernels, enableNativeKernels, nativeCalls, nativeKernelsInForce, NATIVE_MIN_MACS, probeNativeKernels } from "../engine/backend/native";
import { loadOrtRuntime, locateOrt, nativeThreads, PINNED_ORT_VERSION, type OrtRuntime } from "../engine/backend/native/ort_runtime";
import { nativeRuntime, useNativeRuntime } from "../engine/backend/native/sessions";
import { verifyEnv } from "../engine/env/verify_env";
import { expectClose, on, rng, withNativeKernels } from "./helpers/backends";

const totalCalls = () => [...nativeCalls.values()].reduce((a, b) => a + b, 0);

const tmp = withNativeKernels("tscolab-native-");

describe("native matMul against stock cpu", () => {
  // tfjs's own BatchMatMul gradient does not sum a broadcast operand's gradient over the batch (on any backend), so broadcast cases check values only.
  const cases: { a: number[]; b: number[]; tA: boolean; tB: boolean; broadcast?: boolean }[] = [];
  for (const tA of [false, true])
    for (const tB of [false, true]) {
      const [m, k, n] = [67, 129, 96]; // odd sizes: no tile lines up
      cases.push({ a: tA ? [k, m] : [m, k], b: tB ? [n, k] : [k, n], tA, tB });
      cases.push({ a: tA ? [5, k, m] : [5, m, k], b: tB ? [5, n, k] : [5, k, n], tA, tB });
      cases.push({ a: tA ? [3, k, m] : [3, m, k], b: tB ? [n, k] : [k, n], tA, tB, broadcast: true }); // one weight shared by every batch
      cases.push({ a: tA ? [2, 3, k, 40] : [2, 3, 40, k], b: tB ? [2, 3, 40, k] : [2, 3, k, 40], tA, tB }); // attention: [batch, heads, …]
    }
  for (const c of cases) {
    it(`a=[${c.a}] b=[${c.b}] transposeA=${c.tA} transposeB=${c.tB}: values${c.broadcast ? "" : " and gradients"}`, async () => {
      const data = rng(c.a.length * 7 + c.b.length + +c.tA * 2 + +c.tB);
      const av = data(c.a.reduce((p, d) => p * d, 1));
      const bv = data(c.b.reduce((p, d) => p * d, 1));
      const f = () => {
        const a = tf.tensor(av, c.a);
        const b = tf.tensor(bv, c.b);
        const y = tf.matMul(a, b, c.tA, c.tB);
        if (c.broadcast) return [y];
        const [da, db] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.sin(tf.matMul(x, w, c.tA, c.tB))))([a, b]);
        return [y, da, db];
      };
      const before = totalCalls();
      const native = await on("wasm", f);
      // forward, and both gradients are matMuls of the same size
      expect(totalCalls() - before).toBeGreaterThanOrEqual(c.broadcast ? 1 : 3);
      const reference = await on("cpu", f);
      expect(native).toHaveLength(c.broadcast ? 1 : 3);
      native.forEach((values, i) => expectClose(values, reference[i], 129, ["value", "gradient of a", "gradient of b"][i]));
    });
  }

  const activations = ["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu"] as const;
  for (const activation of activations) {
    it(`fused matMul + bias + ${activation} (a Dense layer's forward): values and gradients`, async () => {
      const data = rng(activations.indexOf(activation) + 40);
      const [m, k, n] = [64, 200, 48];
      const xv = data(m * k);
      const wv = data(k * n);
      const bv = data(n);
      const f = () => {
        const x = tf.tensor2d(xv, [m, k]).mul(3); // reaches relu6's ceiling and elu's negative side
        const w = tf.tensor2d(wv, [k, n]);
        const b = tf.tensor1d(bv);
        const y = tf.fused.matMul({ a: x, b: w, bias: b, activation, leakyreluAlpha: 0.13 });
        const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.square(tf.fused.matMul({ a: xx as tf.Tensor2D, b: ww as tf.Tensor2D, bias: bb, activation, leakyreluAlpha: 0.13 }))),
        );
        return [y, ...g([x, w, b])];
      };
      const before = [...nativeCalls.entries()].filter(([k]) => k.includes(":bias:")).reduce((s, [, v]) => s + v, 0);
      const native = await on("wasm", f);
      const after = [...nativeCalls.entries()].filter(([k]) => k.includes(":bias:")).reduce((s, [, v]) => s + v, 0);
      expect(after - before, "the forward ran as one native call with its bias").toBeGreaterThanOrEqual(1);
      const reference = await on("cpu", f);
      ["value", "dx", "dW", "dbias"].forEach((what, i) => expectClose(native[i], reference[i], k * 3, what));
    });
  }

  it("shapes below the threshold, and native turned off, stay on wasm with the same results", async () => {
    const data = rng(9);
    const small = [16, 32, 16]; // 8,192 multiply-adds
    expect(small[0] * small[1] * small[2]).toBeLessThan(NATIVE_MIN_MACS);
    const av = data(16 * 32);
    const bv = data(32 * 16);
    let before = totalCalls();
    const [y] = await on("wasm", () => tf.matMul(tf.tensor2d(av, [16, 32]), tf.tensor2d(bv, [32, 16])));
    expect(totalCalls()).toBe(before);
    const [ref] = await on("cpu", () => tf.matMul(tf.tensor2d(av, [16, 32]), tf.tensor2d(bv, [32, 16])));
    expectClose(y, ref, 32, "small");

    const big = [data(128 * 256), data(128 * 256)];
    const f = () => tf.matMul(tf.tensor2d(big[0], [128, 256]), tf.tensor2d(big[1], [128, 256]), false, true);
    disableNativeKernels();
    try {
      expect(nativeKernelsInForce()).toEqual([]);
      before = totalCalls();
      const [wasmOnly] = await on("wasm", f);
      expect(totalCalls()).toBe(before);
      expect(enableNativeKernels()).toBe(true);
      const [native] = await on("wasm", f);
      expect(totalCalls()).toBe(before + 1);
      expectClose(native, wasmOnly, 256, "native vs wasm");
    } finally {
      enableNativeKernels();
    }
  });

  for (const op of ["exp", "erf"] as const) {
    it(`${op} of a large tensor runs natively: values and gradient like stock cpu`, async () => {
      const xv = rng(op.length)(64 * 1100).map((v) => v * 4);
      const f = () => {
        const x = tf.tensor2d(xv, [64, 1100]);
        const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf[op](t), t)))([x]);
        return [tf[op](x), dx];
      };
      const before = nativeCalls.get(`unary:${op === "exp" ? "Exp" : "Erf"}`) ?? 0;
      const native = await on("wasm", f);
      expect(nativeCalls.get(`unary:${op === "exp" ? "Exp" : "Erf"}`) ?? 0).toBeGreaterThan(before);
      const reference = await on("cpu", f);
      expectClose(native[0], reference[0], 4, "value");
      expectClose(native[1], reference[1], 4, "gradient");
    });
  }

  it("the same product twice is bit-identical (no partition depends on timing)", async () => {
    const data = rng(3);
    const av = data(96 * 777);
    const bv = data(777 * 130);
    const f = () => tf.matMul(tf.tensor2d(av, [777, 96]), tf.tensor2d(bv, [777, 130]), true, false);
    const [first] = await on("wasm", f);
    const [second] = await on("wasm", f);
    expect(Buffer.from(second.buffer).equals(Buffer.from(first.buffer))).toBe(true);
  });

  it("products and convolutions are bit-identical on 1, 2 and 3 threads (MLAS never splits the inner sum)", async () => {
    const data = rng(11);
    const shapes: [number[], number[], boolean, boolean][] = [
      [[64, 2056], [2056, 300], false, false],
      [[2056, 64], [2056, 257], true, false],
      [[333, 517], [129, 517], false, true],
      [[8, 4, 64, 48], [8, 4, 64, 48], false, true],
    ];
    const operands = shapes.map(([a, b]) => [data(a.reduce((p, d) => p * d, 1)), data(b.reduce((p, d) => p * d, 1))]);
    const image = data(4 * 20 * 20 * 16);
    const filter = data(3 * 3 * 16 * 32);
    const f = () => [
      ...shapes.map(([a, b, tA, tB], i) => tf.matMul(tf.tensor(operands[i][0], a), tf.tensor(operands[i][1], b), tA, tB)),
      tf.conv2d(tf.tensor4d(image, [4, 20, 20, 16]), tf.tensor4d(filter, [3, 3, 16, 32]), 1, "same"),
    ];
    const start = (nativeRuntime() as OrtRuntime).threads;
    const results: Float32Array[][] = [];
    try {
      for (const threads of [1, 2, 3]) {
        useNativeRuntime(loadOrtRuntime(threads));
        const before = totalCalls();
        results.push(await on("wasm", f));
        expect(totalCalls() - before).toBe(shapes.length + 1);
      }
    } finally {
      useNativeRuntime(loadOrtRuntime(start));
    }
    for (const other of results.slice(1)) other.forEach((values, i) => expect(Buffer.from(values.buffer).equals(Buffer.from(results[0][i].buffer)), `output ${i}`).toBe(true));
  });
});

describe("probe", () => {
  it("passes on this machine's binding, measures GFLOP/s, and is cached per binding", async () => {
    const cacheDir = path.join(tmp, "probe-cache");
    const first = await probeNativeKernels({ cacheDir, fresh: true, budgetMs: 90 });
    expect(first.ok, first.error ?? "").toBe(true);
    expect(first.version).toBe(PINNED_ORT_VERSION);
    expect(first.smokeMaxError).toBeLessThan(1e-4);
    expect(first.speeds.map((s) => s.kernel)).toHaveLength(3);
    expect(first.threads).toBe(os.availableParallelism());
    for (const s of first.speeds) expect(s.gflops).toBeGreaterThan(0);
    expect(fs.readdirSync(cacheDir)).toHaveLength(1);
    const again = await probeNativeKernels({ cacheDir });
    expect(again.probedAt).toBe(first.probedAt);
  }, 60_000);

  /** An install of onnxruntime-node whose binding.js does `body` when the probe child loads it. */
  function fakeInstall(name: string, body: string, version = PINNED_ORT_VERSION) {
    const dir = path.join(tmp, name);
    const bin = path.join(dir, "bin", "napi-v6", process.platform, process.arch);
    fs.mkdirSync(bin, { recursive: true });
    fs.mkdirSync(path.join(dir, "dist"), { recursive: true });
    fs.writeFileSync(path.join(bin, "onnxruntime_binding.node"), "not a binding");
    fs.writeFileSync(path.join(dir, "dist", "binding.js"), body);
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "onnxruntime-node", version }));
    return { packageDir: dir, version, bindingPath: path.join(bin, "onnxruntime_binding.node") };
  }

  it("a binding that crashes the process (SIGILL on a CPU it was not built for) is reported, and this process lives", async () => {
    const where = fakeInstall("crash", "process.kill(process.pid, 'SIGILL');");
    const r = await probeNativeKernels({ where, cacheDir: path.join(tmp, "c1") });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/died with SIGILL during 'require'/);
  }, 30_000);

  it("a binding that hangs is killed at the timeout and reported", async () => {
    const where = fakeInstall("hang", "for (;;) {}");
    const started = Date.now();
    const r = await probeNativeKernels({ where, cacheDir: path.join(tmp, "c2"), timeoutMs: 1500 });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/hung during 'require' and was killed/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it("a missing package, or one without a binding for this platform, is reported with the fix", async () => {
    const missing = await probeNativeKernels({ where: { packageDir: null, version: null, bindingPath: null }, cacheDir: path.join(tmp, "c4") });
    expect(missing).toMatchObject({ ok: false, error: "onnxruntime-node is not installed (npm ci installs it)" });
    const noBinding = await probeNativeKernels({
      where: { packageDir: path.join(tmp, "nowhere"), version: PINNED_ORT_VERSION, bindingPath: null },
      cacheDir: path.join(tmp, "c4"),
    });
    expect(noBinding.error).toBe(`onnxruntime-node has no native binding for ${process.platform}/${process.arch}`);
  });

  it("TSCOLAB_NATIVE_THREADS sets the threads per call; a bad value is named with the fix", () => {
    expect(nativeThreads({})).toEqual({ threads: os.availableParallelism() });
    expect(nativeThreads({ TSCOLAB_NATIVE_THREADS: "1" })).toEqual({ threads: 1 });
    for (const bad of ["two", "0", "1.5"])
      expect(nativeThreads({ TSCOLAB_NATIVE_THREADS: bad })).toEqual({
        error: `TSCOLAB_NATIVE_THREADS="${bad}" is not a thread count (give a whole number from 1 to 256, or unset it for every core)`,
      });
  });

  it("another onnxruntime-node version is refused without loading it", async () => {
    const where = fakeInstall("other", "process.kill(process.pid, 'SIGKILL');", "1.29.0");
    const r = await probeNativeKernels({ where, cacheDir: path.join(tmp, "c3") });
    expect(r.ok).toBe(false);
    expect(r.error).toBe(`onnxruntime-node 1.29.0 is installed but tscolab calls the binding of ${PINNED_ORT_VERSION} (npm ci restores it)`);
    expect(locateOrt().version).toBe(PINNED_ORT_VERSION);
  });
});

describe("%verify_env", () => {
  it("shows the native kernels with their GFLOP/s, and says when TSCOLAB_NATIVE=0 turned them off", async () => {
    const on = await verifyEnv({ env: { ...process.env, TSCOLAB_BACKEND: "" } });
    expect(on.backend.selected).toBe("wasm");
    expect(on.backend.native).toMatchObject({ on: true, version: PINNED_ORT_VERSION });
    expect(on.backend.native.kernels).toEqual(expect.arrayContaining(["BatchMatMul", "_FusedMatMul", "Conv2DBackpropFilter"]));
    expect(on.backend.native.speeds.length).toBeGreaterThan(0);
    const check = on.checks.find((c) => c.id === "backend.native")!;
    expect(check.status).toBe("ok");
    expect(check.message).toMatch(/GFLOP\/s/);
    const off = await verifyEnv({ env: { ...process.env, TSCOLAB_BACKEND: "", TSCOLAB_NATIVE: "0" } });
    expect(off.backend.native).toMatchObject({ on: false, reason: "off: TSCOLAB_NATIVE=0", kernels: [] });
    expect(off.checks.find((c) => c.id === "backend.native")).toMatchObject({ status: "ok" });
    // Native code is reached through tscolab's kernels: turning those off turns it off too, on purpose.
    const stock = await verifyEnv({ env: { ...process.env, TSCOLAB_BACKEND: "", TSCOLAB_FAST_KERNELS: "0" } });
    expect(stock.backend.native).toMatchObject({ on: false, reason: "off: TSCOLAB_FAST_KERNELS=0 (tscolab's kernels route to native code)", kernels: [] });
    expect(stock.checks.find((c) => c.id === "backend.native")).toMatchObject({ status: "ok" });
    // A thread count that is not one warns with the fix.
    const bad = await verifyEnv({ env: { ...process.env, TSCOLAB_BACKEND: "", TSCOLAB_NATIVE_THREADS: "lots" } });
    expect(bad.backend.native).toMatchObject({ on: false, reason: expect.stringContaining('TSCOLAB_NATIVE_THREADS="lots" is not a thread count') });
    expect(bad.checks.find((c) => c.id === "backend.native")).toMatchObject({ status: "warn", fix: expect.stringMatching(/^unset TSCOLAB_NATIVE_THREADS/) });
  }, 120_000);
});

describe("1,000 training steps", () => {
  it("keep the tensor count and the process's memory flat", async () => {
    await tf.setBackend("wasm");
    const data = rng(77);
    // Convolutions deep enough for the native path (3·3·8 = 72 and 3·3·16 = 144, ≥ 64), then Dense layers that are too.
    const x = tf.tensor4d(data(64 * 16 * 16 * 8), [64, 16, 16, 8]);
    const y = tf.tensor2d(data(64 * 8), [64, 8]);
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 8], filters: 16, kernelSize: 3, activation: "relu" }),
        tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: "relu" }), // deeper (3·3·16): its patch matrix is kept for its filter gradient
        tf.layers.flatten(),
        tf.layers.dense({ units: 256, activation: "relu" }),
        tf.layers.dense({ units: 128, activation: "sigmoid" }),
        tf.layers.dense({ units: 8 }),
      ],
    });
    const optimizer = tf.train.adam(1e-3);
    const step = () =>
      tf.tidy(() => {
        optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar);
      });
    for (let i = 0; i < 50; i++) step();
    const calls0 = totalCalls();
    const tensors0 = tf.memory().numTensors;
    const bytes0 = tf.memory().numBytes;
    // The wasm heap grows in steps when its allocator fragments (once, by ~12 MiB, somewhere in the first
    // thousand steps of this model) and never shrinks, so it is judged on its own: the tensors on it are
    // counted exactly and its growth is held to the same 20 KiB a step as the rest of RSS, the native side
    // (onnxruntime's sessions and arenas, the binding's buffers), whose trend is fitted below.
    const wasmHeap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const heap0 = wasmHeap();
    const rss: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      step();
      if (i % 25 === 0) rss.push(process.memoryUsage().rss - wasmHeap());
    }
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(tf.memory().numBytes).toBe(bytes0);
    expect(wasmHeap() - heap0, "wasm heap growth over 1,000 steps (bytes)").toBeLessThanOrEqual(1000 * 20 * 1024);
    // per step: the first convolution's forward and filter gradient (no input gradient: its input is the data); the
    // second's Gemm over its kept patch matrix, its input gradient and its filter gradient from those patches; each of
    // the next two Dense layers' forward and its dW, db and dx in one call (the sigmoid after a linear kernel); the last is too small
    expect(totalCalls() - calls0).toBe(1000 * 9);
    // The trend over 40 samples, not two: garbage collection moves RSS by ±15 MiB between samples when
    // other tests of this file left garbage behind (a fitted slope's noise is then about 6 KiB a step).
    // A leak of one 64×256 float block (64 KiB) a step fails by far; the slope must stay under 20 KiB a step.
    const mib = rss.map((r) => r / 2 ** 20);
    const { m: perSample } = linearRegression(mib.map((v, i) => [i, v]));
    const kibPerStep = (perSample * 1024) / 25;
    console.log(
      `native leak check: RSS outside the wasm heap ${mib[0].toFixed(1)} → ${mib[mib.length - 1].toFixed(1)} MiB over 1,000 steps, fitted slope ${kibPerStep.toFixed(1)} KiB a step`,
    );
    expect(kibPerStep, `RSS outside the wasm heap every 25 steps (MiB): ${mib.map((v) => v.toFixed(1)).join(", ")}`).toBeLessThan(20);
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }, 120_000);
});

describe("a convolution's input gradient in one native call", () => {
  // [x shape, filter shape, strides, pad, graph]: valid and same, strides 1 and 2, odd sizes; a batched product and
  // Col2Im, or ConvTranspose where stride 2 leaves a last row and column that no window reaches.
  const cases: [[number, number, number, number], [number, number, number, number], [number, number], "valid" | "same", "col2im" | "convT"][] = [
    [[8, 13, 13, 32], [3, 3, 32, 64], [1, 1], "valid", "col2im"],
    [[4, 14, 11, 16], [3, 3, 16, 24], [1, 1], "same", "col2im"],
    [[4, 15, 15, 16], [3, 3, 16, 20], [2, 2], "valid", "col2im"],
    [[4, 16, 15, 8], [5, 5, 8, 12], [2, 2], "same", "col2im"],
    [[2, 10, 10, 64], [1, 1, 64, 32], [1, 1], "valid", "col2im"],
    [[4, 16, 16, 24], [3, 3, 24, 16], [2, 2], "valid", "convT"],
  ];
  for (const [xs, fs, strides, pad, graph] of cases)
    it(`x=[${xs}] f=[${fs}] strides=${strides} ${pad}: dx like stock cpu, in one native call (${graph})`, async () => {
      const data = rng(xs[1] * 31 + fs[0] + strides[0]);
      const xv = data(xs.reduce((p, d) => p * d, 1));
      const fv = data(fs.reduce((p, d) => p * d, 1));
      const f = () => {
        const x = tf.tensor4d(xv, xs);
        const filter = tf.tensor4d(fv, fs);
        return tf.grads((t: tf.Tensor) => tf.sum(tf.sin(tf.conv2d(t as tf.Tensor4D, filter, strides, pad))))([x]);
      };
      const callsOf = (prefix: string) => [...nativeCalls].filter(([k]) => k.startsWith(`${prefix}:`)).reduce((n, [, c]) => n + c, 0);
      const before = callsOf(graph);
      const [native] = await on("wasm", f);
      expect(callsOf(graph) - before).toBe(1);
      const [reference] = await on("cpu", f);
      expectClose(native, reference, fs[0] * fs[1] * fs[3], "dx");
    });
});
