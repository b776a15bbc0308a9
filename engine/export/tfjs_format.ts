// One tfjs export (float32, float16 or uint8): write it, reload it through
// tfjs's own loader and decoder, and validate what came back.
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FORMAT_RULES, quantizationOf, type FormatName } from "./formats";
import { check, stopwatch, worstStatus, type FormatSummary, type HealthCheck } from "./health";
import type { ExportMetadata } from "./metadata";
import { quantizeWeights } from "./quantize";
import type { Reference } from "./reference";
import { fileLoadHandler, writeTfjsModel } from "./tfjs_files";
import { sizeCheck, validateReloaded } from "./validate";

export interface FormatOutcome {
  summary: FormatSummary;
  checks: HealthCheck[];
}

function failedOutcome(dir: string | null, checks: HealthCheck[]): FormatOutcome {
  return { summary: { path: dir, bytes: null, weightBytes: null, maxAbsDiff: null, maxRelDiff: null, p50Ms: null, p95Ms: null, status: "failed" }, checks };
}

export async function exportTfjsFormat(
  format: FormatName,
  outDir: string,
  ref: Reference,
  metadata: ExportMetadata,
  opts: { shardBytes: number; batchSizes: number[]; warmupRuns: number; latencyRuns: number; convertedBy: string; extraChecks?: (model: tf.LayersModel) => HealthCheck[] },
): Promise<FormatOutcome> {
  const dir = path.join(outDir, FORMAT_RULES[format].folder);
  const q = quantizationOf(format);
  const checks: HealthCheck[] = [];
  const lap = stopwatch();

  let written;
  try {
    const weights = q ? quantizeWeights(ref.captured.weightSpecs, ref.captured.weightData, q) : { specs: ref.captured.weightSpecs, data: new Uint8Array(ref.captured.weightData) };
    written = await writeTfjsModel(dir, ref.captured, {
      weightSpecs: weights.specs,
      weightData: weights.data,
      userDefinedMetadata: { ...metadata, format, quantization: q },
      shardBytes: opts.shardBytes,
      convertedBy: opts.convertedBy,
    });
    checks.push(
      check(
        `${format}.write`,
        "passed",
        `model.json + ${written.shards.length} shard(s) in ${dir}`,
        {
          modelJson: written.modelJson,
          shards: written.shards.map((s) => path.basename(s)),
          shardBytes: opts.shardBytes,
        },
        lap(),
      ),
    );
  } catch (e) {
    checks.push(check(`${format}.write`, "failed", (e as Error).message, {}, lap()));
    return failedOutcome(dir, checks);
  }

  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileLoadHandler(written.modelJson));
    checks.push(check(`${format}.load`, "passed", "reloaded with tf.loadLayersModel from the files on disk", { modelJson: written.modelJson }, lap()));
  } catch (e) {
    checks.push(check(`${format}.load`, "failed", `tf.loadLayersModel could not read it back: ${(e as Error).message.split("\n")[0]}`, {}, lap()));
    return failedOutcome(dir, checks);
  }

  try {
    const meta = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
    const ok = !!meta && JSON.stringify(meta.inputSignature) === JSON.stringify(metadata.inputSignature) && JSON.stringify(meta.labels) === JSON.stringify(metadata.labels);
    checks.push(
      ok
        ? check(`${format}.metadata`, "passed", `userDefinedMetadata reloads with ${Object.keys(meta!).join(", ")}`, { keys: Object.keys(meta!) }, lap())
        : check(`${format}.metadata`, "failed", "userDefinedMetadata did not come back from the reloaded model", {}, lap()),
    );
    const v = await validateReloaded(format, model, ref, opts);
    checks.push(...v.checks);
    lap();
    checks.push({ ...sizeCheck(format, written.weightBytes, written.bytes, ref.float32WeightBytes), durationMs: lap() });
    if (opts.extraChecks) checks.push(...opts.extraChecks(model).map((c) => ({ ...c, durationMs: lap() })));
    return {
      summary: {
        path: dir,
        bytes: written.bytes,
        weightBytes: written.weightBytes,
        maxAbsDiff: v.parity?.maxAbsDiff ?? null,
        maxRelDiff: v.parity?.maxRelDiff ?? null,
        p50Ms: v.latency?.p50Ms ?? null,
        p95Ms: v.latency?.p95Ms ?? null,
        status: worstStatus(checks),
      },
      checks,
    };
  } finally {
    model.dispose();
  }
}
