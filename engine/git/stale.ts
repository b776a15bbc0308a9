// Temporaries in the cache carry their writer's host and pid
// (`.clone-<host>-<pid>-...`, `.tmp-<sha>-<host>-<pid>-...`). One whose
// writer is gone was left by a killed run and is removed; one whose writer
// lives may be in progress and is left alone. A Drive can be shared between
// machines, where a pid means nothing: another host's temporaries are only
// removed once they are a day old.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { processAlive } from "../util/process_alive";

const OTHER_HOST_STALE_MS = 24 * 3600_000;

/** This machine, as a short tag safe in file names. */
export const HOST_TAG = crypto.createHash("sha256").update(os.hostname()).digest("hex").slice(0, 8);

/** `<host>-<pid>-<random>`: the tail of every temporary name. */
export function temporaryTag(): string {
  return `${HOST_TAG}-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
}

/** Removes entries of `dir` whose name is `<prefix><host>-<pid>-...` and whose writer is gone. */
export function removeStaleTemporaries(dir: string, prefix: RegExp): string[] {
  const pattern = new RegExp(`^${prefix.source}([0-9a-f]{8})-(\\d+)-`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    let stale: boolean;
    if (m[1] === HOST_TAG) stale = !processAlive(Number(m[2]));
    else {
      try {
        stale = Date.now() - fs.statSync(file).mtimeMs > OTHER_HOST_STALE_MS;
      } catch {
        stale = false;
      }
    }
    if (!stale) continue;
    fs.rmSync(file, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
