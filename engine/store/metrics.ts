// metrics.jsonl: one JSON line per epoch, appended and fsynced. A
// SIGKILL can tear the last line; readers skip it and a resume rewinds the
// file to the checkpoint's step so the resumed epochs are not listed twice.
import fs from "node:fs";
import path from "node:path";
import { rethrowDiskError } from "./disk_errors";
import { writeFileAtomic } from "./durable_fs";
import { METRICS_FILE } from "./runs";

export type MetricsRow = Record<string, unknown> & { epoch: number; step: number };

/** Appends one row (a JSON line) and fsyncs it. */
export async function appendMetrics(runDir: string, row: MetricsRow): Promise<void> {
  const file = path.join(runDir, METRICS_FILE);
  try {
    const fh = await fs.promises.open(file, "a");
    try {
      await fh.write(JSON.stringify(row) + "\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    rethrowDiskError(err, "appending to metrics.jsonl", file, "earlier metrics lines and committed checkpoints are intact", path.basename(runDir));
  }
}

/** Every complete row; a torn or garbled line (from a kill mid-write) is skipped and counted. */
export async function readMetrics(runDir: string): Promise<{ rows: MetricsRow[]; skippedLines: number }> {
  let text = "";
  try {
    text = await fs.promises.readFile(path.join(runDir, METRICS_FILE), "utf8");
  } catch {
    return { rows: [], skippedLines: 0 };
  }
  const rows: MetricsRow[] = [];
  let skippedLines = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line);
      if (typeof row?.step === "number" && typeof row?.epoch === "number") rows.push(row);
      else skippedLines++;
    } catch {
      skippedLines++;
    }
  }
  return { rows, skippedLines };
}

/** Keeps the rows with `step <= step` (what the checkpoint being resumed had seen), drops the rest. */
export async function rewindMetrics(runDir: string, step: number): Promise<{ kept: number; dropped: number }> {
  const { rows, skippedLines } = await readMetrics(runDir);
  const kept = rows.filter((r) => r.step <= step);
  const dropped = rows.length - kept.length + skippedLines;
  if (dropped === 0) return { kept: kept.length, dropped };
  const file = path.join(runDir, METRICS_FILE);
  try {
    await writeFileAtomic(file, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  } catch (err) {
    rethrowDiskError(err, "rewinding metrics.jsonl", file, "metrics.jsonl is unchanged");
  }
  return { kept: kept.length, dropped };
}
