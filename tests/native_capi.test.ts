// onnxruntime's C API through koffi: outputs written in place, the same bits as
// the npm binding, a runtime that survives garbage collection, and the binding
// as the fallback. Each case runs in a fresh process, as the kernel process
// loads onnxruntime once.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DIST = path.resolve(__dirname, "..", "dist", "engine", "backend", "native");
const ROOT = path.resolve(__dirname, "..");

/** Runs `body` in a fresh Node process with `loadOrtRuntime`, `matMulModel` and `gc` in scope; returns its stdout parsed as JSON. */
function inChild(body: string): unknown {
  const script = `
    const { loadOrtRuntime, locateOrt } = require(${JSON.stringify(path.join(DIST, "ort_runtime.js"))});
    const { matMulModel } = require(${JSON.stringify(path.join(DIST, "matmul_models.js"))});
    const product = (rt, m, k, n, offset) => {
      const session = rt.open(matMulModel({ transposeA: false, transposeB: false, batched: false, bias: false, activation: "linear" }));
      const heap = new Float32Array(m * k + k * n + m * n + 16);
      for (let i = 0; i < m * k + k * n; i++) heap[i] = Math.sin(i * 0.37);
      const a = heap.subarray(0, m * k), b = heap.subarray(m * k, m * k + k * n);
      const y = heap.subarray(m * k + k * n + offset, m * k + k * n + offset + m * n); // at any alignment, as on the wasm heap
      session.run([{ name: "A", data: a, dims: [m, k] }, { name: "B", data: b, dims: [k, n] }], [{ name: "Y", data: y, dims: [m, n] }]);
      session.dispose();
      return Array.from(new Uint32Array(y.slice().buffer));
    };
    (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8", cwd: ROOT, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe("onnxruntime's C API", () => {
  it("is what loads by default, writes its output in place at any alignment, with the binding's bits", () => {
    const r = inChild(`
      const capi = loadOrtRuntime(2);
      const viaC = capi.via;
      const results = [1, 2, 3].map((offset) => product(capi, 67, 130, 45, offset));
      const binding = loadOrtRuntime(2, "binding");
      console.log(JSON.stringify({ viaC, viaBinding: binding.via, results, binding: product(binding, 67, 130, 45, 0) }));
    `) as { viaC: string; viaBinding: string; results: number[][]; binding: number[] };
    expect(r.viaC).toBe("C API");
    expect(r.viaBinding).toBe("binding");
    expect(r.results[0].some((bits) => bits !== 0)).toBe(true); // written, not left at zero
    for (const bits of r.results) expect(bits).toEqual(r.binding);
  });

  it("keeps working after garbage collections (the library stays loaded while sessions live)", () => {
    const r = inChild(`
      const before = product(loadOrtRuntime(1, "C API"), 40, 50, 30, 0);
      for (let i = 0; i < 5; i++) { new Array(1e6).fill({}); gc(); }
      const after = product(loadOrtRuntime(1, "C API"), 40, 50, 30, 0);
      console.log(JSON.stringify({ same: JSON.stringify(before) === JSON.stringify(after) }));
    `) as { same: boolean };
    expect(r.same).toBe(true);
  });

  it("without koffi (a platform it has no prebuilt binary for) the binding is the fallback", () => {
    const r = inChild(`
      const Module = require("module");
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === "koffi") throw new Error("koffi is not installed");
        return resolve.call(this, request, ...rest);
      };
      let why = null;
      try { loadOrtRuntime(1, "C API"); } catch (e) { why = String(e.message); }
      const rt = loadOrtRuntime(1);
      console.log(JSON.stringify({ via: rt.via, why, bits: product(rt, 20, 30, 10, 1).length }));
    `) as { via: string; why: string | null; bits: number };
    expect(r.why).toBe("koffi is not installed");
    expect(r.via).toBe("binding");
    expect(r.bits).toBe(200);
  });
});
