// Where an export goes, and proof that it can be written before any work is
// done (a full or read-only disk should fail in the first second, in one line).
import fs from "node:fs";
import path from "node:path";
import { EXPORTS_DIR } from "../store";
import { makeDirs } from "../store/durable_fs";
import { TscolabError } from "../errors";

/** `20261123-011502`: exports of one run sort by time and never overwrite each other. */
export function stamp(now = new Date()): string {
  const t = now.toISOString();
  return `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}-${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}`;
}

/** Default: `<run>/exports/<checkpoint>-<time>` for a run, `./exports/<model>-<time>` for a model in memory. */
export function defaultOutDir(cwd: string, source: { runDir?: string; label: string }, now = new Date()): string {
  const base = source.runDir ? path.join(source.runDir, EXPORTS_DIR) : path.join(cwd, "exports");
  return path.join(base, `${source.label.replace(/[^A-Za-z0-9._-]+/g, "-")}-${stamp(now)}`);
}

export async function ensureWritableDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.tscolab-write-test-${process.pid}`);
  try {
    makeDirs(dir);
    await fs.promises.writeFile(probe, "ok");
    await fs.promises.rm(probe, { force: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TscolabError(`cannot write the export to ${dir}: ${err.message.split("\n")[0]}`, "pass a writable folder with --out DIR");
  }
}
