// MANIFEST.json: the proof that a checkpoint folder is complete. A folder
// whose manifest is missing, unreadable or disagrees with any file (size or
// sha256), or that holds files the manifest does not list, does not exist.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { sha256 } from "./durable_fs";

export const MANIFEST_NAME = "MANIFEST.json";
export const MANIFEST_FORMAT = "tscolab-checkpoint/1";

export const manifestEntrySchema = z.object({
  name: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  step: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  createdAt: z.string(),
  /** Small facts stored with the checkpoint (e.g. the metric that made it best). */
  meta: z.record(z.string(), z.unknown()).default({}),
  files: z.array(manifestEntrySchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

/** Why a checkpoint folder is not valid: which file, and what was expected vs found. */
export interface CheckpointProblem {
  file: string;
  problem: string;
  expectedSha256?: string;
  actualSha256?: string;
}

export type VerifyResult =
  { ok: true; manifest: Manifest; /** every listed file's bytes, when asked for */ bytes: Map<string, Buffer> } | { ok: false; problems: CheckpointProblem[]; manifest?: Manifest };

/** File names are relative, slash-separated, and stay inside the folder. */
export function checkFileName(name: string): void {
  if (!name || name === MANIFEST_NAME || path.isAbsolute(name) || name.split("/").some((p) => p === "" || p === "." || p === ".."))
    throw new Error(`invalid checkpoint file name ${JSON.stringify(name)}: use a relative path without '..' (and not ${MANIFEST_NAME})`);
}

async function listFilesRecursive(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...(await listFilesRecursive(path.join(dir, ent.name), rel)));
    else out.push(rel);
  }
  return out;
}

function listFilesRecursiveSync(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...listFilesRecursiveSync(path.join(dir, ent.name), rel));
    else out.push(rel);
  }
  return out;
}

/** The manifest's text parsed, or the problem with it. */
function parseManifest(raw: string | null): { manifest: Manifest } | { problems: CheckpointProblem[] } {
  if (raw === null) return { problems: [{ file: MANIFEST_NAME, problem: "missing" }] };
  try {
    return { manifest: manifestSchema.parse(JSON.parse(raw)) };
  } catch (err) {
    return { problems: [{ file: MANIFEST_NAME, problem: `unreadable (${(err as Error).message.split("\n")[0]})` }] };
  }
}

/** One listed file against its entry: the problem, or none. */
function checkEntry(entry: ManifestEntry, bytes: Buffer | null): CheckpointProblem | null {
  if (bytes === null) return { file: entry.name, problem: "missing", expectedSha256: entry.sha256 };
  const actual = sha256(bytes);
  if (bytes.length === entry.size && actual === entry.sha256) return null;
  return {
    file: entry.name,
    problem: bytes.length === entry.size ? "sha256 mismatch" : `sha256 mismatch (size ${bytes.length}, expected ${entry.size})`,
    expectedSha256: entry.sha256,
    actualSha256: actual,
  };
}

function unlisted(manifest: Manifest, names: string[]): CheckpointProblem[] {
  const listed = new Set(manifest.files.map((f) => f.name));
  return names.filter((name) => name !== MANIFEST_NAME && !listed.has(name)).map((name) => ({ file: name, problem: "not listed in MANIFEST.json" }));
}

/** Re-reads every file of a checkpoint folder and checks it against MANIFEST.json. */
export async function verifyCheckpointDir(dir: string, opts: { keepBytes?: boolean } = {}): Promise<VerifyResult> {
  const parsed = parseManifest(await fs.promises.readFile(path.join(dir, MANIFEST_NAME), "utf8").catch(() => null));
  if ("problems" in parsed) return { ok: false, problems: parsed.problems };
  const { manifest } = parsed;
  const kept = new Map<string, Buffer>();
  const problems: CheckpointProblem[] = [];
  for (const entry of manifest.files) {
    const bytes = await fs.promises.readFile(path.join(dir, entry.name)).catch(() => null);
    const problem = checkEntry(entry, bytes);
    if (problem) problems.push(problem);
    else if (opts.keepBytes) kept.set(entry.name, bytes!);
  }
  problems.push(...unlisted(manifest, await listFilesRecursive(dir)));
  return problems.length ? { ok: false, problems, manifest } : { ok: true, manifest, bytes: kept };
}

/** A whole file, read 1 MiB a call (`onRead` after each), or null when it does not exist. */
function readChunked(file: string, onRead?: () => void): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  } finally {
    onRead?.();
  }
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      onRead?.();
      if (n === 0) break;
      parts.push(chunk.subarray(0, n));
    }
    return Buffer.concat(parts);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The same check with blocking reads, for the process that does the Drive's
 * I/O (a hung call there blocks only that process). `onRead` runs after every
 * read call, so a watchdog can tell a large folder on a slow Drive from a
 * hung call. Errors other than a missing file (ENOTCONN, EIO) are thrown, not
 * reported as problems.
 */
export function verifyCheckpointDirSync(dir: string, opts: { keepBytes?: boolean; onRead?: () => void } = {}): VerifyResult & { manifestText?: string } {
  const read = (file: string): Buffer | null => readChunked(file, opts.onRead);
  const text = read(path.join(dir, MANIFEST_NAME))?.toString("utf8") ?? null;
  const parsed = parseManifest(text);
  if ("problems" in parsed) return { ok: false, problems: parsed.problems };
  const { manifest } = parsed;
  const kept = new Map<string, Buffer>();
  const problems: CheckpointProblem[] = [];
  for (const entry of manifest.files) {
    const bytes = read(path.join(dir, entry.name));
    const problem = checkEntry(entry, bytes);
    if (problem) problems.push(problem);
    else if (opts.keepBytes) kept.set(entry.name, bytes!);
  }
  problems.push(...unlisted(manifest, listFilesRecursiveSync(dir)));
  return problems.length ? { ok: false, problems, manifest } : { ok: true, manifest, bytes: kept, manifestText: text! };
}

/** One line per problem, e.g. `weights.bin: sha256 mismatch (expected ab12…, found cd34…)`. */
export function describeProblems(problems: CheckpointProblem[]): string {
  return problems
    .map((p) => (p.expectedSha256 && p.actualSha256 ? `${p.file}: ${p.problem}: expected sha256 ${p.expectedSha256}, found ${p.actualSha256}` : `${p.file}: ${p.problem}`))
    .join("; ");
}
