// Temporaries in the cache carry their writer's pid (`.clone-<pid>-...`,
// `.tmp-<sha>-<pid>-...`): one whose writer is gone was left by a killed run
// and is removed; one whose writer lives may be in progress and is left alone.
import fs from "node:fs";
import path from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes entries of `dir` matching `pattern` (its first group is the pid) whose process has exited. */
export function removeStaleTemporaries(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
