// The export formats, where each one lands inside the output folder, and the
// bar each must clear. One table so the CLI flags, the engine, the checks and
// the help all agree.
import { z } from "zod";

export const formatName = z.enum(["tfjs", "tfjs-float16", "tfjs-uint8", "onnx"]);
export type FormatName = z.infer<typeof formatName>;

export interface FormatRule {
  /** Folder under the output dir (the ONNX file is always `onnx/model.onnx`). */
  folder: string;
  /** Weight bytes relative to float32 (quantized formats store fewer bytes). */
  weightRatio: number | null;
  /**
   * Parity with the in-memory model, numpy.allclose-style: an element agrees
   * when |export - ref| <= atol + rtol * |ref|. Inside the bar: passed; inside
   * ten times the bar: warning; beyond: failed.
   */
  atol: number;
  rtol: number;
  /** What the tolerance is derived from, shown in the health report. */
  why: string;
}

export const FORMAT_RULES: Record<FormatName, FormatRule> = {
  // Same bytes, same graph, same backend: anything beyond float noise is a bug.
  tfjs: { folder: "tfjs", weightRatio: 1, atol: 1e-6, rtol: 1e-5, why: "float32 weights reloaded bit for bit" },
  // float16 keeps 11 significant bits (relative rounding 2^-11 ≈ 4.9e-4 per
  // weight); a few layers of accumulation stay well inside 1e-2.
  "tfjs-float16": { folder: "tfjs-float16", weightRatio: 0.5, atol: 5e-3, rtol: 1e-2, why: "float16 rounding (2^-11 relative per weight)" },
  // uint8 affine keeps 256 levels per tensor: error up to (max-min)/510 per
  // weight, which adds up across a layer's fan-in.
  "tfjs-uint8": { folder: "tfjs-uint8", weightRatio: 0.25, atol: 5e-2, rtol: 5e-2, why: "uint8 affine quantization (range/510 per weight)" },
  // A different runtime (onnxruntime) with its own kernels and op order.
  onnx: { folder: "onnx", weightRatio: null, atol: 1e-4, rtol: 1e-3, why: "onnxruntime float32 kernels vs tfjs" },
};

/** Quantization applied to float32 weights for each tfjs format. */
export function quantizationOf(format: FormatName): "float16" | "uint8" | null {
  if (format === "tfjs-float16") return "float16";
  if (format === "tfjs-uint8") return "uint8";
  return null;
}

export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;
