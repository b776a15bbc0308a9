// Options of layersModelToOnnx, validated with zod.
import { z } from "zod";

/** Opsets the converter emits; 17 is what Debian's python3-onnx (1.12) checks. */
export const MIN_OPSET = 17;
export const MAX_OPSET = 21;

export const onnxExportOptionsSchema = z.object({
  opset: z.number().int().min(MIN_OPSET).max(MAX_OPSET).default(MIN_OPSET).describe(`ONNX default-domain opset (${MIN_OPSET}..${MAX_OPSET}); 20+ uses the native Gelu op`),
  producer: z.string().min(1).default("tscolab").describe("ModelProto.producer_name"),
  producerVersion: z.string().optional().describe("ModelProto.producer_version; defaults to tscolab's version"),
  metadata: z.record(z.string(), z.string()).default({}).describe("ModelProto.metadata_props (labels, normalization, run id ...)"),
  batchDimName: z.string().min(1).default("batch").describe("symbolic name of the dynamic batch dimension"),
  graphName: z.string().min(1).optional().describe("GraphProto.name; defaults to the model's name"),
});

export type OnnxExportOptions = z.input<typeof onnxExportOptionsSchema>;

/** ONNX IR version paired with each opset (onnx/docs/Versioning.md). */
export function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}
