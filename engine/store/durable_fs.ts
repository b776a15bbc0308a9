// Durable file primitives: a write is only "done" once its bytes and the
// directory entry naming it are fsynced, so a power cut or SIGKILL can leave
// a temporary behind but never a half-written file under its final name.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { processAlive } from "../util/process_alive";

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes bytes and fsyncs the file before closing it. */
export async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await fs.promises.open(file, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory so renames and new entries inside it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, "r");
    await fh.sync();
  } catch (err) {
    // Some platforms (Windows) cannot open or fsync a directory, some filesystems refuse;
    // the files themselves are already synced, so this part is best effort.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM" && code !== "ENOTSUP") throw err;
  } finally {
    await fh?.close();
  }
}

/** A unique sibling name for writing aside; carries our pid so cleanup can tell live from stale. */
export function tempSibling(target: string, tag = "tmp"): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return path.join(path.dirname(target), `.${tag}-${path.basename(target)}-${process.pid}-${rand}`);
}

/** Replaces a file atomically: written aside, fsynced, renamed over, parent fsynced. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempSibling(file);
  try {
    await writeFileSynced(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

/** True when a temporary's owner (pid embedded in its name) is no longer running. */
export function ownerIsGone(name: string): boolean {
  const m = /-(\d+)-[a-z0-9]+$/.exec(name);
  if (!m) return true;
  const pid = Number(m[1]);
  if (pid === process.pid) return false;
  return !processAlive(pid);
}

/**
 * `mkdir -p` one level at a time. Node's own recursive mkdir loops forever
 * when mkdir answers ENOENT although the parent exists (under /proc, and on
 * some FUSE mounts), which would hang the kernel; here that is an error.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}
