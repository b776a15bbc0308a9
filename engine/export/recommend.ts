// The health report's recommendations: what to do about its findings, each
// naming the checks it comes from. Derived only from the report's own facts
// (checks, format summaries, parameter statistics, where the normalisation
// lives), so the same export always gets the same advice.
import { z } from "zod";
import type { ParameterStats } from "./architecture";
import type { FormatSummary, HealthCheck } from "./health";

export const recommendation = z.object({
  /** action: something fails or is missing; consider: a better choice exists; info: how to use the export. */
  severity: z.enum(["action", "consider", "info"]),
  message: z.string(),
  checks: z.array(z.string()),
});
export type Recommendation = z.infer<typeof recommendation>;

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export interface RecommendationFacts {
  checks: HealthCheck[];
  formats: Record<string, FormatSummary>;
  parameterStats?: ParameterStats;
  /** How the normalisation reached the export (./raw_inputs.ts). */
  rawInputs: "none" | "folded" | "prepended" | "kept-outside";
  /** Whether the report knows the labels and normalisation (a run, or a model with its dataset). */
  hasDataset: boolean;
}

/** |w| above this suggests training without enough regularisation (or a diverging run). */
const LARGE_WEIGHT = 1e3;

export function recommend(f: RecommendationFacts): Recommendation[] {
  const out: Recommendation[] = [];
  const failed = f.checks.filter((c) => c.status === "failed");
  for (const c of failed) out.push({ severity: "action", message: `${c.name} failed: ${c.message.split(";")[0]}; do not ship this format until it passes`, checks: [c.name] });

  if (!f.hasDataset)
    out.push({
      severity: "action",
      message: "the export has no labels or normalisation in its metadata: export from the run (--run RUN) so consumers get class names and the model takes raw inputs",
      checks: ["source.metadata"],
    });
  if (f.rawInputs === "kept-outside")
    out.push({ severity: "action", message: "consumers must apply (x - mean) / std from the metadata before predicting", checks: ["source.raw_inputs"] });
  if (f.rawInputs === "folded" || f.rawInputs === "prepended")
    out.push({ severity: "info", message: "feed raw feature values: the training normalisation is inside the exported graph", checks: ["source.raw_inputs"] });

  // Quantized formats that lose accuracy on the run's validation rows.
  for (const c of f.checks.filter((c) => /^tfjs-(float16|uint8)\.val_/.test(c.name) && c.status !== "passed"))
    out.push({ severity: "consider", message: `${c.name.split(".")[0]} loses quality on the validation rows (${c.message}); ship tfjs-float16 or tfjs instead`, checks: [c.name] });

  const slow = f.checks.filter((c) => c.name.endsWith(".latency") && c.status === "warning").map((c) => c.name);
  if (slow.length) {
    const passing = Object.entries(f.formats).filter(([, s]) => s.status !== "failed" && s.p50Ms !== null);
    const fastest = passing.sort((a, b) => a[1].p50Ms! - b[1].p50Ms!)[0];
    out.push({
      severity: "consider",
      message: `${slow.map((n) => n.split(".")[0]).join(", ")} ran slower than the in-memory model at this batch size${fastest ? `; the fastest format here is ${fastest[0]} (p50 ${fastest[1].p50Ms!.toFixed(3)} ms)` : ""}`,
      checks: slow,
    });
  }

  // The smallest format that passed everything, when it is smaller than float32.
  const clean = Object.entries(f.formats).filter(([name, s]) => s.status === "passed" && s.bytes !== null && name !== "onnx");
  const smallest = clean.sort((a, b) => a[1].bytes! - b[1].bytes!)[0];
  const float32 = f.formats.tfjs?.bytes;
  if (smallest && float32 && smallest[0] !== "tfjs" && smallest[1].bytes! * 1.5 <= float32)
    out.push({
      severity: "consider",
      message: `${smallest[0]} passed every check at ${kib(smallest[1].bytes!)} (${(float32 / smallest[1].bytes!).toFixed(1)}x smaller than tfjs): a good default for browsers`,
      checks: [`${smallest[0]}.parity`],
    });

  const onnxLoad = f.checks.find((c) => c.name === "onnx.load");
  if (onnxLoad && String(onnxLoad.details.checker ?? "").includes("not found"))
    out.push({ severity: "consider", message: "install Python's onnx package (Debian: python3-onnx) so the export also passes onnx.checker's full check", checks: ["onnx.load"] });
  if (!("onnx" in f.formats) && !failed.length)
    out.push({ severity: "info", message: "add --formats onnx to serve the model from onnxruntime (Python, C++, C#, Java) too", checks: [] });

  const probe = f.checks.find((c) => c.name.endsWith(".parity"));
  if (probe && probe.details.probeSource === "seeded-normal")
    out.push({ severity: "info", message: "parity was checked on seeded random inputs; export from a run to check it on the run's validation rows", checks: [probe.name] });

  const p = f.parameterStats;
  if (p) {
    const large = p.weights.filter((w) => Math.max(Math.abs(w.min ?? 0), Math.abs(w.max ?? 0)) > LARGE_WEIGHT).map((w) => w.name);
    if (large.length)
      out.push({
        severity: "consider",
        message: `weights above ${LARGE_WEIGHT} in magnitude (${large.join(", ")}): train with weightDecay or gradClipNorm`,
        checks: ["source.parameter_stats"],
      });
    const dead = p.weights.filter((w) => w.count > 1 && w.zeros === w.count && /kernel/.test(w.name)).map((w) => w.name);
    if (dead.length)
      out.push({ severity: "action", message: `kernels that are all zero (${dead.join(", ")}): those layers pass nothing on; retrain`, checks: ["source.parameter_stats"] });
  }
  return out;
}
