// The weight encoders tfjs lacks, checked against tfjs's own decoder
// (tf.io.decodeWeights with the manifest's `quantization` entry).
import { describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { encodeFloat16, float32ToFloat16Bits } from "../engine/export/float16";
import { encodeUint8, quantizeWeights, uint8Range } from "../engine/export/quantize";

/** Decodes with stock tfjs: what a consumer's loadLayersModel does. */
function decode(specs: tf.io.WeightsManifestEntry[], data: Uint8Array): Record<string, Float32Array> {
  const buf = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const tensors = tf.io.decodeWeights(buf, specs);
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = t.dataSync() as Float32Array;
  tf.dispose(Object.values(tensors));
  return out;
}

describe("float16", () => {
  test("every finite half value survives decode (tfjs) → encode (ours) bit for bit", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const finite = all.filter((h) => (h & 0x7c00) !== 0x7c00); // exponent all ones: Inf/NaN
    const bytes = new Uint8Array(finite.buffer);
    const decoded = decode([{ name: "w", shape: [finite.length], dtype: "float32", quantization: { dtype: "float16" } }], bytes).w;
    const reencoded = encodeFloat16(decoded);
    let mismatches = 0;
    for (let i = 0; i < finite.length; i++) if (reencoded[i] !== finite[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  test("rounding: nearest, ties to even; overflow to Inf; NaN stays NaN; tiny values to signed zero", () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway to the next binade rounds to Inf (as numpy)
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(float32ToFloat16Bits(-(2 ** -26))).toBe(0x8000);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
  });

  test("relative error on random weights stays under 2^-11", () => {
    const w = tf.tidy(() => tf.randomNormal([10000], 0, 0.2, "float32", 3).dataSync() as Float32Array);
    const got = decode([{ name: "w", shape: [w.length], dtype: "float32", quantization: { dtype: "float16" } }], new Uint8Array(encodeFloat16(w).buffer)).w;
    // float16's normal range starts at 2^-14 ≈ 6.1e-5; below it the step is absolute, not relative.
    const normal = [...w.keys()].filter((i) => Math.abs(w[i]) > 6.2e-5);
    expect(normal.length).toBeGreaterThan(0.99 * w.length);
    const worst = Math.max(...normal.map((i) => Math.abs(got[i] - w[i]) / Math.abs(w[i])));
    expect(worst).toBeLessThanOrEqual(2 ** -11);
  });
});

describe("uint8 affine", () => {
  test("zero is exact when the range straddles it; error at most scale/2 inside the range", () => {
    const w = Float32Array.from([-0.7, -0.31, 0, 0.0001, 0.25, 1.3, 0.9999]);
    const range = uint8Range(-0.7, 1.3);
    const got = decode([{ name: "w", shape: [w.length], dtype: "float32", quantization: { dtype: "uint8", ...range } }], encodeUint8(w, range)).w;
    expect(got[2]).toBe(0);
    for (let i = 0; i < w.length; i++) expect(Math.abs(got[i] - w[i])).toBeLessThanOrEqual(range.scale * 0.5 + 1e-7 + (w[i] > 255 * range.scale + range.min ? range.scale : 0));
  });

  test("a constant tensor decodes exactly; an all-positive one keeps its full range", () => {
    const c = Float32Array.from([0.3, 0.3, 0.3]);
    const rc = uint8Range(0.3, 0.3);
    expect(decode([{ name: "c", shape: [3], dtype: "float32", quantization: { dtype: "uint8", ...rc } }], encodeUint8(c, rc)).c).toEqual(c);
    const p = Float32Array.from([2, 3, 4]);
    const rp = uint8Range(2, 4);
    const got = decode([{ name: "p", shape: [3], dtype: "float32", quantization: { dtype: "uint8", ...rp } }], encodeUint8(p, rp)).p;
    expect(got[0]).toBeCloseTo(2, 6); // no nudge towards zero: both ends stay exact
    expect(got[2]).toBeCloseTo(4, 6);
    expect(Math.abs(got[1] - 3)).toBeLessThanOrEqual(rp.scale / 2 + 1e-7);
  });

  test("quantizeWeights re-encodes a mixed buffer: float32 quantized, int32 copied", () => {
    const a = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
    const ids = Int32Array.from([5, -3, 7]);
    const data = new Uint8Array(a.byteLength + ids.byteLength);
    data.set(new Uint8Array(a.buffer), 0);
    data.set(new Uint8Array(ids.buffer), a.byteLength);
    const specs: tf.io.WeightsManifestEntry[] = [
      { name: "a", shape: [3, 4], dtype: "float32" },
      { name: "ids", shape: [3], dtype: "int32" },
    ];
    for (const q of ["float16", "uint8"] as const) {
      const out = quantizeWeights(specs, data.buffer, q);
      expect(out.data.byteLength).toBe(12 * (q === "uint8" ? 1 : 2) + 12);
      expect(out.specs[1].quantization).toBeUndefined();
      const dec = tf.io.decodeWeights(out.data.buffer as ArrayBuffer, out.specs);
      expect(Array.from(dec.ids.dataSync())).toEqual([5, -3, 7]);
      const back = dec.a.dataSync();
      for (let i = 0; i < 12; i++) expect(Math.abs(back[i] - a[i])).toBeLessThan(q === "uint8" ? 2 / 255 : 1e-3);
    }
  });
});
