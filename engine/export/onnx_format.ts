// The `onnx` format: the converter in ./onnx (layersModelToOnnx) writes
// DIR/onnx/model.onnx; here it is reloaded in onnxruntime-node and held to
// the same checks as the tfjs formats (forward at several batch sizes,
// parity, latency, size), plus onnx.checker when Python's onnx is installed.
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeDirs } from "../store/durable_fs";
import { checkOnnxFiles, findOnnxPython, layersModelToOnnx, openOnnxSession, type OnnxSession, type OnnxTensorData } from "./onnx";
import { FORMAT_RULES } from "./formats";
import { check, stopwatch, worstStatus, type HealthCheck } from "./health";
import type { ExportMetadata } from "./metadata";
import { allFinite, forwardRunner, measureSideBySide, type Outputs } from "./probe";
import type { Reference } from "./reference";
import type { FormatOutcome } from "./tfjs_format";
import { latencyCheck, parityCheck, sizeCheck } from "./validate";
import type * as tf from "@tensorflow/tfjs";

function feedsFor(session: OnnxSession, inputs: tf.Tensor[], rows?: number): Record<string, OnnxTensorData> {
  const feeds: Record<string, OnnxTensorData> = {};
  session.inputNames.forEach((name, i) => {
    const t = inputs[i];
    const n = Math.min(rows ?? t.shape[0]!, t.shape[0]!);
    const perRow = t.size / t.shape[0]!;
    const all = t.dataSync();
    const data = t.dtype === "int32" ? Int32Array.from(all.subarray(0, n * perRow) as Int32Array) : Float32Array.from(all.subarray(0, n * perRow) as Float32Array);
    feeds[name] = { data, shape: [n, ...t.shape.slice(1)] };
  });
  return feeds;
}

async function run(session: OnnxSession, feeds: Record<string, OnnxTensorData>): Promise<Outputs> {
  const out = await session.runFeeds(feeds);
  const list = session.outputNames.map((n) => out[n]);
  return {
    shapes: list.map((t) => t.shape),
    dtypes: list.map((t) => (t.data instanceof Int32Array ? "int32" : "float32")),
    values: list.map((t) => Float32Array.from(t.data)),
  };
}

/** metadata_props are string → string: JSON for anything structured. */
function onnxMetadata(meta: ExportMetadata): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

export async function exportOnnxFormat(
  outDir: string,
  ref: Reference,
  metadata: ExportMetadata,
  opts: { batchSizes: number[]; warmupRuns: number; latencyRuns: number },
): Promise<FormatOutcome> {
  const dir = path.join(outDir, FORMAT_RULES.onnx.folder);
  const file = path.join(dir, "model.onnx");
  const checks: HealthCheck[] = [];
  const lap = stopwatch();
  const failed = (): FormatOutcome => ({
    summary: { path: null, bytes: null, weightBytes: null, maxAbsDiff: null, maxRelDiff: null, p50Ms: null, p95Ms: null, status: "failed" },
    checks,
  });

  let bytes: Uint8Array;
  try {
    bytes = layersModelToOnnx(ref.exported, { metadata: onnxMetadata(metadata) });
    makeDirs(dir);
    await fs.writeFile(file, bytes);
    checks.push(check("onnx.write", "passed", `${file} (${bytes.byteLength} bytes)`, { path: file, bytes: bytes.byteLength }, lap()));
  } catch (e) {
    checks.push(check("onnx.write", "failed", (e as Error).message.split("\n")[0], {}, lap()));
    return failed();
  }

  const python = await findOnnxPython();
  if (python) {
    // onnx.checker's full check on a path runs infer_shapes_path, which
    // rewrites the file in place with inferred shapes: check a copy, so the
    // artifact stays the converter's bytes.
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tscolab-onnx-check-"));
    const copy = path.join(tmp, "model.onnx");
    await fs.copyFile(file, copy);
    const [r] = await checkOnnxFiles(python, [copy]).finally(() => fs.rm(tmp, { recursive: true, force: true }));
    checks.push(
      r?.ok
        ? check("onnx.checker", "passed", "onnx.checker.check_model(full_check=True) accepts it", { python }, lap())
        : check("onnx.checker", "failed", `onnx.checker rejects it: ${r?.error ?? "no answer"}`, { python }, lap()),
    );
  }

  let session: OnnxSession;
  try {
    session = await openOnnxSession(file);
    checks.push(
      check(
        "onnx.load",
        "passed",
        "loaded by onnxruntime-node from the file on disk",
        {
          inputs: session.inputNames,
          outputs: session.outputNames,
          checker: python ? "ran" : "python3 with the onnx package not found; onnx.checker skipped",
        },
        lap(),
      ),
    );
  } catch (e) {
    checks.push(check("onnx.load", "failed", (e as Error).message.split("\n")[0], {}, lap()));
    return failed();
  }

  try {
    const problems: string[] = [];
    for (const b of opts.batchSizes) {
      try {
        const out = await run(session, feedsFor(session, ref.exportProbe, b));
        const rows = Math.min(b, ref.probe[0].shape[0]!);
        const want = ref.outputs.shapes.map((s) => [rows, ...s.slice(1)]);
        if (JSON.stringify(out.shapes) !== JSON.stringify(want)) problems.push(`batch ${b}: shape ${JSON.stringify(out.shapes)}, expected ${JSON.stringify(want)}`);
        else if (!allFinite(out.values)) problems.push(`batch ${b}: non-finite outputs`);
      } catch (e) {
        problems.push(`batch ${b}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    checks.push(
      problems.length
        ? check("onnx.forward", "failed", problems.join("; "), { batchSizes: opts.batchSizes }, lap())
        : check("onnx.forward", "passed", `forward pass at batch sizes ${opts.batchSizes.join(", ")}: shapes right, outputs finite`, { batchSizes: opts.batchSizes }, lap()),
    );

    const par = parityCheck("onnx", ref.outputs, await run(session, feedsFor(session, ref.exportProbe)), ref.probeSource);
    checks.push({ ...par.check, durationMs: lap() });

    const latencyFeeds = feedsFor(session, ref.exportLatencyInputs);
    const timed = await measureSideBySide(
      forwardRunner(ref.model, ref.latencyInputs),
      async () => {
        await session.runFeeds(latencyFeeds);
      },
      { warmup: opts.warmupRuns, runs: opts.latencyRuns, batch: ref.latencyInputs[0]?.shape[0] ?? 1 },
    );
    const latency = timed.candidate;
    checks.push({ ...latencyCheck("onnx", latency, timed.baseline), durationMs: lap() });
    checks.push({ ...sizeCheck("onnx", bytes.byteLength, bytes.byteLength, ref.float32WeightBytes), durationMs: lap() });
    return {
      summary: {
        path: file,
        bytes: bytes.byteLength,
        weightBytes: null,
        maxAbsDiff: par.parity?.maxAbsDiff ?? null,
        maxRelDiff: par.parity?.maxRelDiff ?? null,
        p50Ms: latency.p50Ms,
        p95Ms: latency.p95Ms,
        status: worstStatus(checks),
      },
      checks,
    };
  } finally {
    await session.release();
  }
}
