// listRuns(): every run folder under the Drive root as a row, newest first,
// filtered and sorted. The run folders are the record; the index
// (`<drive>/tscolab/runs-index.json`) only caches each run's row under its
// run.json's mtime and size, is rebuilt from the folders whenever it is
// missing, stale or garbled, and may be deleted at any time.
import fs from "node:fs";
import path from "node:path";
import { resolveDriveRoot, runsDir as runsDirOf } from "../store/drive_root";
import { RUN_JSON } from "../store/runs";
import { writeFileAtomic } from "../store/durable_fs";
import { UsageError } from "../errors";
import { checkKey, matches, parseCondition, parseSort, sortRows } from "./query";
import { rowFromRunJson, timeFromRunId, unreadableRow, type RunRow } from "./run_row";

export const INDEX_FILE = "runs-index.json";
const INDEX_FORMAT = "tscolab-runs-index/2";

export interface ListRunsOptions {
  /** Drive root (default: the mounted one, $TSCOLAB_DRIVE, ./drive). */
  drive?: string;
  cwd?: string;
  /** `KEY OP VALUE` conditions, ANDed. */
  where?: string[];
  /** Dotted key; `-key` sorts descending. Default: newest first. */
  sort?: string;
  limit?: number;
}

export interface RunsList {
  driveRoot: string;
  /** Runs under the Drive root before filtering. */
  total: number;
  /** After --where, before --limit. */
  matched: number;
  runs: RunRow[];
  index: { path: string; reused: number; read: number; written: boolean };
}

type CachedRow = Omit<RunRow, "runDir">;
interface IndexFile {
  format: typeof INDEX_FORMAT;
  entries: Record<string, { mtimeMs: number; size: number; ino: number; row: CachedRow }>;
}

export const indexPath = (driveRoot: string) => path.join(driveRoot, "tscolab", INDEX_FILE);

function readIndex(file: string): IndexFile["entries"] {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as IndexFile;
    if (parsed?.format === INDEX_FORMAT && parsed.entries && typeof parsed.entries === "object") return parsed.entries;
  } catch {
    /* missing or garbled: rebuilt from the run folders */
  }
  return {};
}

/** Every run folder as a row (unfiltered, unsorted), reusing the index where run.json did not change. */
export async function scanRuns(driveRoot: string): Promise<{ rows: RunRow[]; reused: number; read: number; written: boolean }> {
  const dir = runsDirOf(driveRoot);
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { rows: [], reused: 0, read: 0, written: false };
    throw e;
  }
  const file = indexPath(driveRoot);
  const cached = readIndex(file);
  const next: IndexFile["entries"] = {};
  const rows: RunRow[] = [];
  let reused = 0;
  let read = 0;
  let changed = false;
  for (const d of names) {
    // Dot-names are temporaries being written aside; plain files are not runs.
    if (d.name.startsWith(".") || !(d.isDirectory() || d.isSymbolicLink())) continue;
    const runId = d.name;
    const jsonPath = path.join(dir, runId, RUN_JSON);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(jsonPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") continue; // a symlink to a file
      rows.push(unreadableRow(dir, runId, code === "ENOENT" ? "no run.json in the folder (not a run, or its creation was cut short)" : `run.json cannot be read (${code})`));
      continue;
    }
    const hit = cached[runId];
    // An atomic rewrite of run.json is a new file: a new inode, even within one mtime tick.
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size && hit.ino === st.ino) {
      next[runId] = hit;
      rows.push({ ...hit.row, runDir: path.join(dir, runId) });
      reused++;
      continue;
    }
    let text: string;
    try {
      text = fs.readFileSync(jsonPath, "utf8");
    } catch (e) {
      rows.push(unreadableRow(dir, runId, `run.json cannot be read (${(e as NodeJS.ErrnoException).code})`));
      continue;
    }
    read++;
    const row = rowFromRunJson(dir, runId, text);
    rows.push(row);
    const { runDir: _runDir, ...cachedRow } = row;
    next[runId] = { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, row: cachedRow };
    changed = true;
  }
  if (!changed && Object.keys(cached).length !== Object.keys(next).length) changed = true;
  let written = false;
  if (changed) {
    try {
      await writeFileAtomic(file, JSON.stringify({ format: INDEX_FORMAT, entries: next }));
      written = true;
    } catch {
      // A read-only Drive lists fine without its cache.
    }
  }
  return { rows, reused, read, written };
}

const newestFirst = (a: RunRow, b: RunRow) => {
  const ta = a.createdAt ?? timeFromRunId(a.runId) ?? "";
  const tb = b.createdAt ?? timeFromRunId(b.runId) ?? "";
  return ta < tb ? 1 : ta > tb ? -1 : a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
};

/** Every run under the Drive root, newest first, with --where / --sort / --limit applied. */
export async function listRuns(opts: ListRunsOptions = {}): Promise<RunsList> {
  const driveRoot = resolveDriveRoot(opts.drive, opts.cwd);
  const conditions = (opts.where ?? []).map(parseCondition);
  const sort = opts.sort ? parseSort(opts.sort) : undefined;
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) throw new UsageError(`--limit: expected a whole number >= 0, got ${opts.limit}`);
  const scan = await scanRuns(driveRoot);
  const all = scan.rows.sort(newestFirst);
  for (const c of conditions) checkKey(c.key, all, "--where");
  if (sort) checkKey(sort.key, all, "--sort");
  let rows = conditions.length ? all.filter((r) => conditions.every((c) => matches(r, c))) : all;
  const matched = rows.length;
  if (sort) rows = sortRows(rows, sort);
  if (opts.limit !== undefined) rows = rows.slice(0, opts.limit);
  return { driveRoot, total: all.length, matched, runs: rows, index: { path: indexPath(driveRoot), reused: scan.reused, read: scan.read, written: scan.written } };
}
