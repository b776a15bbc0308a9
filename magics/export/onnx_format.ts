// The `onnx` format: O's converter (magics/export/onnx, issue 10) writes
// DIR/onnx/model.onnx; this file validates it the way the tfjs formats are.
// Until the converter lands the format is reported as a failed check, so an
// export asked for onnx says so plainly instead of crashing.
import path from "node:path";
import { FORMAT_RULES } from "./formats";
import { check } from "./health";
import type { FormatOutcome } from "./tfjs_format";

export async function exportOnnxFormat(outDir: string): Promise<FormatOutcome> {
  const dir = path.join(outDir, FORMAT_RULES.onnx.folder);
  return {
    summary: { path: null, bytes: null, weightBytes: null, maxAbsDiff: null, maxRelDiff: null, p50Ms: null, p95Ms: null, status: "failed" },
    checks: [check("onnx.write", "failed", "onnx export is not available yet in this build (the LayersModel→ONNX converter, issue 10, has not landed); use the tfjs formats meanwhile", { wouldWrite: path.join(dir, "model.onnx") })],
  };
}
