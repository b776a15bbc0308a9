// A cross-process lock on one cached repository, so two runs fetching the same
// repository at once do not fail on git's ref locks. mkdir is atomic on every
// filesystem (Drive mounts included); the holder's host and pid let a lock
// left by a killed process be taken over instead of blocking forever.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../errors";
import { processAlive } from "../util/process_alive";
import { HOST_TAG } from "./stale";

const STALE_MS = 10 * 60_000;

function holderIsGone(lockDir: string): boolean {
  try {
    const { pid, host, at } = JSON.parse(fs.readFileSync(path.join(lockDir, "owner.json"), "utf8")) as { pid: number; host?: string; at: number };
    // This machine: the pid says it all (a long fetch of a live run keeps its lock).
    if (host === HOST_TAG) return !processAlive(pid);
    // Another machine sharing the Drive: its pid cannot be probed from here; only age counts.
    return Date.now() - at > STALE_MS;
  } catch {
    // No owner.json yet: a lock being created (or its creator died in
    // between): stale only once the folder itself is old.
    try {
      return Date.now() - fs.statSync(lockDir).mtimeMs > 30_000;
    } catch {
      return false;
    }
  }
}

export async function withDirLock<T>(lockDir: string, fn: () => Promise<T>, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const deadline = Date.now() + timeoutMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, "owner.json"), JSON.stringify({ pid: process.pid, host: HOST_TAG, at: Date.now() }));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (holderIsGone(lockDir)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (opts.signal?.aborted) throw new TscolabError(`interrupted while waiting for another run's fetch of ${path.dirname(lockDir)}`, "run it again");
      if (Date.now() > deadline)
        throw new TscolabError(`the git cache ${path.dirname(lockDir)} is locked by another run`, `wait for it, or delete ${lockDir} if no run is using it`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
