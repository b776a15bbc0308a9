// Where a local-first run keeps its fast local copy. The trainer commits
// run.json, metrics.jsonl, the run's other files, checkpoints and best/ there,
// and a mirror copies them to the Drive in the background. The rule:
//
//   1. the run config's `checkpoint.local`: a folder, or false (no local copy:
//      write to the Drive directly)
//   2. $TSCOLAB_LOCAL: a folder, or false / 0 / off
//   3. <system temp folder>/tscolab-local
//
// Runs of different Drive roots never share a local folder: each Drive root
// gets its own sub-folder, named after it plus a hash of its full path, laid
// out like a Drive root (tscolab/runs/<runId>) so the store's run functions
// work on both.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runsDir } from "./drive_root";
import { sha256 } from "./durable_fs";

/** What the config or the environment may say. */
export type LocalSetting = string | false | null | undefined;

const OFF = new Set(["false", "0", "off", "no"]);

/** The local root folder, or null when runs write to the Drive directly. */
export function resolveLocalRoot(setting: LocalSetting, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | null {
  if (setting === false) return null;
  if (typeof setting === "string" && setting) return OFF.has(setting.toLowerCase()) ? null : path.resolve(cwd, setting);
  const fromEnv = env.TSCOLAB_LOCAL?.trim();
  if (fromEnv) return OFF.has(fromEnv.toLowerCase()) ? null : path.resolve(cwd, fromEnv);
  return path.join(os.tmpdir(), "tscolab-local");
}

/** The local stand-in for one Drive root: `<local>/<name>-<hash>`, with the Drive's tscolab/runs layout inside. */
export function localDriveRoot(localRoot: string, driveRoot: string): string {
  const abs = path.resolve(driveRoot);
  const name = (path.basename(abs) || "root").replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 40);
  return path.join(localRoot, `${name}-${sha256(Buffer.from(abs)).slice(0, 10)}`);
}

/**
 * The folder to read run `runId` from on this machine: its local copy while
 * one is left, else its Drive folder. A mirror removes the local copy once the
 * Drive holds all of it, so a copy still here is at least as new as the
 * Drive's (the Drive was away, or the process ended before the mirror did).
 */
export function readableRunDir(driveRoot: string, runId: string, localRoot: string | null): string {
  if (localRoot) {
    const local = path.join(runsDir(localDriveRoot(localRoot, driveRoot)), runId);
    if (fs.existsSync(path.join(local, "run.json"))) return local;
  }
  return path.join(runsDir(driveRoot), runId);
}

const localRoots = new Set<string>();

/** Remembers a local root, so that a disk error there names the local disk, not the Drive. */
export function noteLocalRoot(root: string): void {
  localRoots.add(path.resolve(root));
}

/** True when `file` lies in a local root in use. */
export function isLocalPath(file: string): boolean {
  const abs = path.resolve(file);
  for (const root of localRoots) if (abs === root || abs.startsWith(root + path.sep)) return true;
  return false;
}
