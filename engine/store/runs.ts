// Run folders: `<drive>/tscolab/runs/<runId>/` with run.json,
// metrics.jsonl, checkpoints/, best/, exports/. Run ids start with a UTC
// timestamp so they sort by creation time, then carry the run's name.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { TscolabError } from "../errors";
import { runsDir } from "./drive_root";
import { BEST_DIR, CHECKPOINTS_DIR, cleanStaleTemporaries } from "./checkpoints";
import { rethrowDiskError } from "./disk_errors";
import { fsyncDir, makeDirs, writeFileAtomic } from "./durable_fs";
import { currentWriter } from "./writer";

export const RUN_JSON = "run.json";
export const METRICS_FILE = "metrics.jsonl";
export const EXPORTS_DIR = "exports";

/**
 * run.json: these keys are always there; the trainer adds `config` (resolved),
 * `environment`, `provenance`, `dataset`, `tiers`, `best`, ... freely.
 * `status`: "running" | "interrupted" | "completed" | "stopped" | "failed".
 */
export const runJsonSchema = z.looseObject({
  runId: z.string(),
  runName: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.string(),
  /** True while a valid checkpoint can continue the run with --resume. */
  resumable: z.boolean().default(false),
});
export type RunJson = z.infer<typeof runJsonSchema>;

export interface RunHandle {
  runId: string;
  runDir: string;
  driveRoot: string;
  runJson: RunJson;
}

/** `iris MLP #2` → `iris-mlp-2`: safe on every filesystem, short enough for a table. */
export function slugRunName(name: string | undefined): string {
  const slug = (name ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 48);
  return slug || "run";
}

/** `20261123-005505-iris-mlp`: UTC time first, so ids sort by creation time. */
export function makeRunId(runName: string | undefined, now = new Date()): string {
  const t = now.toISOString(); // 2026-11-23T00:55:05.123Z
  const stamp = `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}-${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}`;
  return `${stamp}-${slugRunName(runName)}`;
}

/**
 * Creates a new run folder with its sub-folders and a first run.json
 * (`status: "running"`), merging `fields` (e.g. `config`, `environment`).
 */
export async function createRun(
  driveRoot: string,
  opts: { runName?: string; now?: Date; fields?: Record<string, unknown>; /** Ids taken elsewhere (a local-first run's Drive). */ taken?: ReadonlySet<string> } = {},
): Promise<RunHandle> {
  const root = runsDir(driveRoot);
  const base = makeRunId(opts.runName, opts.now);
  try {
    makeDirs(root);
    // mkdir without `recursive` fails on an existing folder: two runs started in the same second get -2, -3, ...
    for (let n = 1; ; n++) {
      const runId = n === 1 ? base : `${base}-${n}`;
      if (opts.taken?.has(runId)) continue;
      const runDir = path.join(root, runId);
      try {
        await fs.promises.mkdir(runDir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw err;
      }
      for (const sub of [CHECKPOINTS_DIR, BEST_DIR, EXPORTS_DIR]) await fs.promises.mkdir(path.join(runDir, sub));
      await fs.promises.writeFile(path.join(runDir, METRICS_FILE), "");
      const now = (opts.now ?? new Date()).toISOString();
      const runJson = runJsonSchema.parse({
        ...opts.fields,
        runId,
        runName: opts.runName ?? "run",
        createdAt: now,
        updatedAt: now,
        status: "running",
        resumable: false,
        writer: currentWriter(),
      });
      await writeFileAtomic(path.join(runDir, RUN_JSON), JSON.stringify(runJson, null, 2) + "\n");
      await fsyncDir(root);
      return { runId, runDir, driveRoot, runJson };
    }
  } catch (err) {
    rethrowDiskError(err, "creating the run folder", root);
  }
}

async function readRunJson(runDir: string): Promise<RunJson> {
  let text: string;
  try {
    text = await fs.promises.readFile(path.join(runDir, RUN_JSON), "utf8");
  } catch {
    throw new TscolabError(`${runDir} is not a tscolab run folder (no ${RUN_JSON})`, "pass a run id from %drive status, a run folder, or last");
  }
  try {
    return runJsonSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new TscolabError(`${path.join(runDir, RUN_JSON)} is not valid: ${(err as Error).message.split("\n")[0]}`, "restore run.json from a backup or start a new run");
  }
}

/** Run ids under the Drive root, oldest first. */
export async function listRunIds(driveRoot: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(runsDir(driveRoot));
  } catch {
    return [];
  }
  const ids = names.filter((n) => !n.startsWith(".") && fs.existsSync(path.join(runsDir(driveRoot), n, RUN_JSON)));
  return ids.sort();
}

/**
 * Opens a run by id, by folder path, or `"last"` (the newest run id). Cleans
 * leftovers of dead writers in it (live writers' temporaries are kept).
 */
export async function openRun(driveRoot: string, ref: string, opts: { cwd?: string } = {}): Promise<RunHandle> {
  const root = runsDir(driveRoot);
  let runDir: string;
  if (ref === "last") {
    const ids = await listRunIds(driveRoot);
    if (!ids.length) throw new TscolabError(`no runs yet under ${root}`, "start one with %train (or tscolab train), or point --drive at the Drive root that holds your runs");
    runDir = path.join(root, ids[ids.length - 1]!);
  } else {
    const asPath = path.resolve(opts.cwd ?? process.cwd(), ref);
    if (/[\\/]/.test(ref) || ref.startsWith(".")) runDir = asPath;
    else runDir = path.join(root, ref);
    if (!fs.existsSync(path.join(runDir, RUN_JSON))) {
      if (fs.existsSync(path.join(asPath, RUN_JSON))) runDir = asPath;
      else {
        const ids = (await listRunIds(driveRoot)).slice(-5).reverse();
        throw new TscolabError(
          `no run ${JSON.stringify(ref)} under ${root}${ids.length ? `; newest: ${ids.join(", ")}` : " (it has no runs)"}`,
          "pass a run id from %drive status, a run folder, or last",
        );
      }
    }
  }
  const runJson = await readRunJson(runDir);
  try {
    await cleanStaleTemporaries(runDir);
  } catch {
    // A read-only Drive (e.g. exporting from a shared folder) still opens.
  }
  const resolvedDrive = path.dirname(path.dirname(path.dirname(runDir)));
  return { runId: path.basename(runDir), runDir, driveRoot: resolvedDrive, runJson };
}

/**
 * Updates run.json atomically: a patch is merged shallowly; a function gets
 * the current object and returns the next. `updatedAt` is set for you.
 */
export async function updateRunJson(runDir: string, patch: Record<string, unknown> | ((current: RunJson) => Record<string, unknown>)): Promise<RunJson> {
  const current = await readRunJson(runDir);
  const next = runJsonSchema.parse({
    ...(typeof patch === "function" ? patch(current) : { ...current, ...patch }),
    updatedAt: new Date().toISOString(),
  });
  const file = path.join(runDir, RUN_JSON);
  try {
    await writeFileAtomic(file, JSON.stringify(next, null, 2) + "\n");
  } catch (err) {
    rethrowDiskError(err, "updating run.json", file, "the previous run.json and committed checkpoints are intact", path.basename(runDir));
  }
  return next;
}
