// Re-encodes a tfjs weight buffer with the weights-manifest `quantization`
// entries that stock tfjs decodes (io_utils decodeWeight):
//   { dtype: "float16" }                    value = half(bits)
//   { dtype: "uint8", min, scale }          value = q * scale + min
// Only float32 weights are quantized; other dtypes are copied unchanged.
import type { io } from "@tensorflow/tfjs";
import { TscolabError } from "../errors";
import { encodeFloat16 } from "./float16";

type WeightSpec = io.WeightsManifestEntry;

export interface QuantizedWeights {
  specs: WeightSpec[];
  data: Uint8Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/**
 * Affine uint8 parameters for one tensor. When the range straddles zero it is
 * nudged so that 0 is exactly representable (zero biases, ReLU thresholds and
 * padding stay exact), as the tfjs converter does.
 */
export function uint8Range(min: number, max: number): { min: number; scale: number } {
  if (min === max) return { min, scale: 1 }; // every q is 0 and decodes to min exactly
  const scale = (max - min) / 255;
  if (min < 0 && max > 0) {
    const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
    return { min: -zeroPoint * scale, scale };
  }
  return { min, scale };
}

export function encodeUint8(values: Float32Array, range: { min: number; scale: number }): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = Math.round((values[i] - range.min) / range.scale);
    out[i] = q < 0 ? 0 : q > 255 ? 255 : q;
  }
  return out;
}

function finiteRange(name: string, values: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new TscolabError(`weight ${name} holds ${v}, which cannot be quantized`, "export the float32 'tfjs' format and fix training (NaN/Inf weights)");
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return values.length ? [min, max] : [0, 0];
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function quantizeWeights(specs: WeightSpec[], data: ArrayBuffer, dtype: "float16" | "uint8"): QuantizedWeights {
  const parts: Uint8Array[] = [];
  const outSpecs: WeightSpec[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization) throw new TscolabError(`weight ${spec.name} is already quantized`, "export from the float32 model");
    const bytesPer = BYTES[spec.dtype];
    if (bytesPer === undefined) throw new TscolabError(`weight ${spec.name} has dtype ${spec.dtype}, which tfjs formats cannot store`, "export a model with numeric weights");
    const byteLength = sizeOf(spec.shape) * bytesPer;
    const raw = new Uint8Array(data, offset, byteLength);
    offset += byteLength;
    if (spec.dtype !== "float32") {
      parts.push(raw.slice());
      outSpecs.push({ ...spec });
      continue;
    }
    const values = new Float32Array(raw.slice().buffer);
    if (dtype === "float16") {
      finiteRange(spec.name, values);
      const half = encodeFloat16(values);
      parts.push(new Uint8Array(half.buffer));
      outSpecs.push({ ...spec, quantization: { dtype: "float16" } });
    } else {
      const [min, max] = finiteRange(spec.name, values);
      const range = uint8Range(min, max);
      parts.push(encodeUint8(values, range));
      outSpecs.push({ ...spec, quantization: { dtype: "uint8", min: range.min, scale: range.scale } });
    }
  }
  if (offset !== data.byteLength)
    throw new TscolabError(`weight specs cover ${offset} bytes but the weight data has ${data.byteLength}`, "re-save the model; its artifacts are inconsistent");
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return { specs: outSpecs, data: out };
}
