// exportModel(): the one engine behind %export, `tscolab export` and the
// TypeScript API. Writes every requested format, reloads and validates each,
// writes DIR/health_report.{json,md} and, with `bundle`, DIR/bundle.zip.
import fs from "node:fs";
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { ensureBackend } from "../backend";
import { UsageError } from "../errors";
import { writeBundle } from "./bundle";
import { environmentSnapshot } from "./environment";
import {
  formatSummary,
  healthCheck,
  checkStatus,
  check,
  fmtNumber,
  countChecks,
  healthScore,
  stopwatch,
  worstStatus,
  writeHealthReport,
  type FormatSummary,
  type HealthCheck,
  type HealthReport,
} from "./health";
import { architectureOf, architectureSummary, parameterStatsOf, type ArchitectureSummary, type ParameterStats } from "./architecture";
import { buildMetadata } from "./metadata";
import { rawInputModel, type RawInputModel } from "./raw_inputs";
import { recommend, recommendation } from "./recommend";
import { FORMAT_RULES, type FormatName } from "./formats";
import { exportOnnxFormat } from "./onnx_format";
import { loadRunValidation, runValidationCheck } from "./run_validation";
import { exportOptions, type ExportHooks, type ExportOptions } from "./options";
import { defaultOutDir, ensureWritableDir } from "./out_dir";
import { scanParameters } from "./probe";
import { buildReference, denormalize, disposeReference } from "./reference";
import { headForSource as headFor, memorySource, runSource, type ModelSource } from "./source";
import { captureModel } from "./tfjs_files";
import { exportTfjsFormat, type FormatOutcome } from "./tfjs_format";
import { writeTextExportFiles } from "../text/export_files";

export const TOOL = "tscolab-export/1";

export const exportResult = z.object({
  out: z.string(),
  source: z.record(z.string(), z.unknown()),
  formats: z.record(z.string(), formatSummary),
  healthScore: z.number(),
  status: checkStatus,
  healthReport: z.object({ json: z.string(), md: z.string() }),
  bundle: z.object({ path: z.string(), bytes: z.number(), files: z.array(z.string()) }).nullable(),
  checks: z.array(healthCheck),
  architecture: architectureSummary,
  recommendations: z.array(recommendation),
});
export type ExportResult = z.infer<typeof exportResult>;

function parseOptions(options: ExportOptions) {
  const parsed = exportOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length && issue.code !== "custom" ? `${String(issue.path[0])}: ` : "";
    throw new UsageError(`${where}${issue.message}`);
  }
  return parsed.data;
}

/** Checks on the model being exported, before any format. */
function sourceChecks(
  source: ModelSource,
  raw: RawInputModel,
  architecture: ArchitectureSummary,
  stats: ParameterStats,
  ms: { raw: number; architecture: number; stats: number },
  lap: () => number,
): HealthCheck[] {
  const checks: HealthCheck[] = [];
  const layerCounts = Object.entries(architecture.byClass)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  checks.push(
    check(
      "source.architecture",
      "passed",
      `${architecture.layers} layers (${layerCounts}), ${architecture.parameters.total} parameters (${architecture.parameters.trainable} trainable)`,
      { ...architecture },
      ms.architecture,
    ),
  );
  const large = stats.weights.filter((w) => Math.max(Math.abs(w.min ?? 0), Math.abs(w.max ?? 0)) > 1e3);
  const deadKernels = stats.weights.filter((w) => w.count > 1 && w.zeros === w.count && /kernel/.test(w.name));
  const spread = `mean ${fmtNumber(stats.mean, 4)}, std ${fmtNumber(stats.std, 4)}, range [${fmtNumber(stats.min, 4)}, ${fmtNumber(stats.max, 4)}], ${stats.zeros} exact zeros`;
  checks.push(
    check(
      "source.parameter_stats",
      large.length || deadKernels.length ? "warning" : "passed",
      large.length || deadKernels.length
        ? `${[...large.map((w) => `${w.name} reaches |w| > 1e3`), ...deadKernels.map((w) => `${w.name} is all zeros`)].join("; ")} (${spread})`
        : `${stats.weights.length} weight tensors: ${spread}`,
      { ...stats },
      ms.stats,
    ),
  );
  checks.push(check("source.raw_inputs", raw.how === "kept-outside" ? "warning" : "passed", raw.message, { how: raw.how, layers: raw.layers }, ms.raw));
  lap();
  const scan = scanParameters(source.model);
  checks.push(
    scan.nonFinite === 0
      ? check("source.params_finite", "passed", `the model to export has ${scan.parameters} parameters, all finite`, { ...scan }, lap())
      : check("source.params_finite", "failed", `the model to export has ${scan.nonFinite} NaN/Inf parameters (in ${scan.badWeights.join(", ")})`, { ...scan }, lap()),
  );
  const d = source.dataset;
  const isClassifier = d?.task === "classification";
  // Counts, not the arrays: MNIST has 784 features, each with a mean and std.
  const summary = d && { task: d.task, labels: d.labels ?? null, features: d.features?.length ?? null, normalization: !!d.normalization, inputShape: d.inputShape ?? null };
  if (!d) {
    checks.push(check("source.metadata", "warning", "no dataset information (labels, normalization): a consumer gets raw outputs and must normalise inputs on its own", {}, lap()));
  } else if (isClassifier && !d.labels) {
    checks.push(check("source.metadata", "warning", "classification without a label vocabulary: outputs are class indices", { ...summary }, lap()));
  } else {
    checks.push(
      check(
        "source.metadata",
        "passed",
        `labels ${d.labels ? `(${d.labels.length})` : "n/a"}, normalization ${d.normalization ? "yes" : "none"}, stored in userDefinedMetadata`,
        { ...summary },
        lap(),
      ),
    );
  }
  // Found while the checkpoint was chosen, before this report's clock started.
  for (const w of source.warnings) checks.push(check("source.checkpoint", "warning", w, {}, 0));
  return checks;
}

/**
 * Exports a model (`model`: a tf.LayersModel in memory, or `run` + `checkpoint`
 * from the Drive store) to `formats`, proves each artifact by reloading it,
 * and writes the health report. Never throws for a failing check: failures
 * are in `status` / `checks`. Throws UsageError / TscolabError for bad input
 * (unknown format, missing run or checkpoint, unwritable out dir).
 */
export async function exportModel(options: ExportOptions, hooks: ExportHooks = {}): Promise<ExportResult> {
  const opts = parseOptions(options);
  const cwd = opts.cwd ?? process.cwd();
  const progress = hooks.onProgress ?? (() => {});

  const backend = await ensureBackend();
  const source = opts.model !== undefined ? memorySource(opts.model, opts.dataset) : await runSource(opts.run!, opts.checkpoint, { drive: opts.drive, cwd });
  const loadedHere = source.kind === "run";
  let raw: RawInputModel | undefined;
  try {
    const out = opts.out ? path.resolve(cwd, opts.out) : defaultOutDir(cwd, { runDir: source.runDir, label: source.kind === "run" ? opts.checkpoint : source.model.name });
    await ensureWritableDir(out);
    const environment = environmentSnapshot(backend);

    progress(source.kind === "run" ? `measuring the ${String(source.describe.checkpoint)} checkpoint's model` : "measuring the in-memory model");
    const lap = stopwatch();
    // The export takes raw inputs: the training normalisation goes inside its graph.
    raw = await rawInputModel(source.model, source.dataset?.normalization);
    const inGraph = raw.how === "folded" || raw.how === "prepended";
    const captured = await captureModel(raw.model);
    const rawMs = lap();
    const architecture = architectureOf(raw.model, raw.message);
    const architectureMs = lap();
    const stats = parameterStatsOf(raw.model);
    const checks: HealthCheck[] = sourceChecks(source, raw, architecture, stats, { raw: rawMs, architecture: architectureMs, stats: lap() }, lap);
    const validation = await loadRunValidation(source, cwd);
    const norm = inGraph ? source.dataset!.normalization! : null;
    const ref = buildReference(source.model, captured, opts, validation.value?.x, { model: raw.model, normalization: norm });
    if (validation.skip) checks.push({ ...validation.skip, durationMs: lap() });
    // Each format re-scores the run's validation rows as it takes them (raw when the normalisation is in its graph).
    const rawValidation = validation.value && norm ? { ...validation.value, x: denormalize(validation.value.x, norm), normalizationInGraph: true } : validation.value;
    const extraChecks = rawValidation ? (format: FormatName) => (m: tf.LayersModel) => [runValidationCheck(format, m, rawValidation)] : undefined;
    const formats: Record<string, z.infer<typeof formatSummary>> = {};
    const head = headFor(source);
    const metadata = buildMetadata(raw.model, source.dataset, source.describe, TOOL, { normalizationInGraph: inGraph, head });
    lap();
    try {
      const wanted = [...new Set(opts.formats)];
      for (const [i, format] of wanted.entries()) {
        if (hooks.signal?.aborted) {
          // Stop between formats, but keep (and report) what is done.
          checks.push(check("export.interrupted", "failed", `interrupted before ${wanted.slice(i).join(", ")}; run the export again for them`, { skipped: wanted.slice(i) }, 0));
          break;
        }
        progress(`${format}: writing and validating`);
        let outcome: FormatOutcome;
        if (format === "onnx") outcome = await exportOnnxFormat(out, ref, metadata, opts);
        else outcome = await exportTfjsFormat(format, out, ref, metadata, { ...opts, convertedBy: TOOL, extraChecks: extraChecks?.(format) });
        // NaN outputs give an Infinity/NaN diff: JSON has no such numbers, so the summary says null (the parity check keeps the words).
        formats[format] = Object.fromEntries(Object.entries(outcome.summary).map(([k, v]) => [k, typeof v === "number" && !Number.isFinite(v) ? null : v])) as FormatSummary;
        checks.push(...outcome.checks);
        checks.push(...(await writeTextExportFiles(path.join(out, FORMAT_RULES[format].folder), format, source)));
      }
    } finally {
      disposeReference(ref);
      validation.value?.x.dispose();
      if (rawValidation !== validation.value) rawValidation?.x.dispose();
    }
    // A reused --out may still hold another format from an earlier export: say the report does not vouch for it.
    const stale = (Object.keys(FORMAT_RULES) as FormatName[]).filter((f) => !(f in formats) && fs.existsSync(path.join(out, FORMAT_RULES[f].folder)));
    if (stale.length)
      checks.push(
        check(
          "export.out_dir",
          "warning",
          `${out} also holds ${stale.join(", ")} from an earlier export, not validated by this report; remove it or export to a new --out`,
          { stale },
          0,
        ),
      );

    const report: HealthReport = {
      tool: TOOL,
      createdAt: new Date().toISOString(),
      out,
      source: source.describe,
      environment,
      formats,
      counts: countChecks(checks),
      healthScore: healthScore(checks),
      status: worstStatus(checks),
      checks,
      architecture,
      parameterStats: stats,
      recommendations: recommend({ checks, formats, parameterStats: stats, rawInputs: raw.how, hasDataset: !!source.dataset }),
    };
    const healthFiles = await writeHealthReport(out, report);
    let bundle: ExportResult["bundle"] = null;
    if (opts.bundle) {
      progress("writing bundle.zip");
      const { model: _model, dataset: _dataset, ...exportArgs } = opts;
      bundle = await writeBundle(out, { source, environment, exportOptions: exportArgs, healthFiles });
    }
    progress("done");
    return {
      out,
      source: source.describe,
      formats,
      healthScore: report.healthScore,
      status: report.status,
      healthReport: healthFiles,
      bundle,
      checks,
      architecture,
      recommendations: report.recommendations,
    };
  } finally {
    if (raw && raw.model !== source.model) raw.model.dispose();
    if (loadedHere) source.model.dispose();
  }
}
