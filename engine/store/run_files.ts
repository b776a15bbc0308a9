// Two more files of a run folder, written through the store's durable
// primitives like run.json and metrics.jsonl:
// - profile.json: the reference profile of the run's training inputs and of
//   the model's outputs (engine/monitor/run_profile.ts builds it), replaced
//   atomically at the end of every completed tier 3.
// - digests.jsonl: one line per recorded step, `{ step, epoch, sha256 }` of
//   the model's weights, so a reproduction can name the first step where its
//   weights differ. A resume rewinds it to the checkpoint's step, as it does
//   metrics.jsonl.
import fs from "node:fs";
import path from "node:path";
import { rethrowDiskError } from "./disk_errors";
import { writeFileAtomic } from "./durable_fs";

export const PROFILE_JSON = "profile.json";
export const DIGESTS_FILE = "digests.jsonl";

export interface DigestLine {
  step: number;
  epoch: number;
  sha256: string;
}

export async function writeProfileFile(runDir: string, profile: unknown): Promise<string> {
  const file = path.join(runDir, PROFILE_JSON);
  try {
    await writeFileAtomic(file, JSON.stringify(profile) + "\n");
  } catch (err) {
    rethrowDiskError(err, "writing profile.json", file, "the run's checkpoints and metrics are intact", path.basename(runDir));
  }
  return file;
}

/** The parsed profile.json, or null when the run has none. */
export async function readProfileFile(runDir: string): Promise<unknown | null> {
  try {
    return JSON.parse(await fs.promises.readFile(path.join(runDir, PROFILE_JSON), "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Appends digest lines (no fsync: a lost tail only makes a later comparison coarser). */
export function appendDigests(runDir: string, lines: DigestLine[]): void {
  if (!lines.length) return;
  const file = path.join(runDir, DIGESTS_FILE);
  try {
    fs.appendFileSync(file, lines.map((l) => JSON.stringify(l) + "\n").join(""));
  } catch (err) {
    rethrowDiskError(err, "appending to digests.jsonl", file, "the run's checkpoints and metrics are intact", path.basename(runDir));
  }
}

/** Every complete digest line of a run folder (or of a digests.jsonl's text). */
export function parseDigests(text: string): DigestLine[] {
  const out: DigestLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const d = JSON.parse(line);
      if (typeof d?.step === "number" && typeof d?.epoch === "number" && typeof d?.sha256 === "string") out.push(d);
    } catch {
      // a torn last line
    }
  }
  return out;
}

export function readDigests(runDir: string): DigestLine[] {
  try {
    return parseDigests(fs.readFileSync(path.join(runDir, DIGESTS_FILE), "utf8"));
  } catch {
    return [];
  }
}

/** Keeps the lines with `step <= step` (what the checkpoint being resumed had seen). */
export async function rewindDigests(runDir: string, step: number): Promise<void> {
  const file = path.join(runDir, DIGESTS_FILE);
  if (!fs.existsSync(file)) return;
  const lines = readDigests(runDir);
  const kept = lines.filter((l) => l.step <= step);
  if (kept.length === lines.length && fs.readFileSync(file, "utf8").endsWith("\n")) return;
  await writeFileAtomic(file, kept.map((l) => JSON.stringify(l) + "\n").join(""));
}
