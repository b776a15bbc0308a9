// The reproducibility bundle (`--bundle`): DIR/bundle.zip with the config,
// an environment snapshot, the metrics, training plots and the health
// report, so a result can be re-checked without the Drive folder.
import fs from "node:fs";
import path from "node:path";
import { zipSync, strToU8 } from "fflate";
import { readMetrics } from "../store";
import { historySvg } from "../train/plot";
import type { EpochRow } from "../train/progress";
import type { ModelSource } from "./source";

export const BUNDLE_NAME = "bundle.zip";

const json = (v: unknown) => strToU8(JSON.stringify(v, null, 2) + "\n");

/** Images the trainer may have left in the run folder's plots/ (kept as they are). */
export function runPlotFiles(runDir: string): Record<string, Uint8Array> {
  const dir = path.join(runDir, "plots");
  const out: Record<string, Uint8Array> = {};
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir)) if (/\.(svg|png|jpe?g|html)$/i.test(name)) out[`plots/run/${name}`] = fs.readFileSync(path.join(dir, name));
  return out;
}

export async function writeBundle(
  outDir: string,
  parts: { source: ModelSource; environment: Record<string, unknown>; exportOptions: Record<string, unknown>; healthFiles: { json: string; md: string } },
): Promise<{ path: string; bytes: number; files: string[] }> {
  const { source } = parts;
  const files: Record<string, Uint8Array> = {};
  const runJson = source.runJson as Record<string, unknown> | undefined;
  files["config.json"] = json({
    export: parts.exportOptions,
    train: runJson?.config ?? null,
    dataset: source.dataset ?? null,
    // An in-memory model has no run config: its topology is the config.
    modelTopology: source.kind === "memory" ? source.model.toJSON(null, false) : undefined,
  });
  files["environment.json"] = json({ export: parts.environment, train: runJson?.environment ?? null });
  if (source.runDir) {
    files["run.json"] = json(runJson);
    const metricsFile = path.join(source.runDir, "metrics.jsonl");
    if (fs.existsSync(metricsFile)) files["metrics.jsonl"] = fs.readFileSync(metricsFile);
    // The same loss / validation-metric plot %train shows live.
    const { rows } = await readMetrics(source.runDir);
    const svg = historySvg(rows as unknown as EpochRow[], source.dataset?.task ?? "classification");
    if (svg) files["plots/history.svg"] = strToU8(svg + "\n");
    Object.assign(files, runPlotFiles(source.runDir));
  }
  files["health_report.json"] = fs.readFileSync(parts.healthFiles.json);
  files["health_report.md"] = fs.readFileSync(parts.healthFiles.md);
  const zip = zipSync(files, { level: 6 });
  const file = path.join(outDir, BUNDLE_NAME);
  await fs.promises.writeFile(file, zip);
  return { path: file, bytes: zip.byteLength, files: Object.keys(files).sort() };
}
