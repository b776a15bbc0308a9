// The process that does a local-first run's Drive I/O (started by
// drive_io.ts). Every file call here blocks: a Drive call that hangs (a FUSE
// mount whose other end went away) blocks only this process, never the
// trainer's event loop or its libuv threadpool, and the parent, which bounds
// every request with a watchdog, can kill it and carry on. After each call
// that returns it sends a heartbeat, so the watchdog measures one call, not
// a whole (possibly large) copy.
//
// Requests copy committed local folders and files to the Drive (written
// aside, fsynced, re-read and verified, renamed, and re-verified under the
// final name), remove Drive folders, inspect a Drive run, and pull a Drive
// checkpoint to the local disk for a resume.
import fs from "node:fs";
import path from "node:path";
import { BEST_DIR, CHECKPOINTS_DIR, parseCheckpointName } from "./checkpoints";
import { ownerIsGone, sha256, tempSibling } from "./durable_fs";
import { describeProblems, MANIFEST_NAME, manifestSchema, verifyCheckpointDirSync } from "./manifest";
import { runsDir } from "./drive_root";

/** Which side of a copy failed: the Drive, or the local copy (e.g. rotated away meanwhile). */
export type Side = "drive" | "local";

export interface ChildError {
  code: string;
  message: string;
  side: Side;
}

export interface DriveStep {
  name: string;
  step: number;
  /** sha256 of the folder's MANIFEST.json bytes; null when it has none. */
  manifestSha: string | null;
  /** Set for the folders that were verified. */
  valid?: boolean;
  problems?: string;
}

export interface DriveRunInfo {
  exists: boolean;
  runJson: string | null;
  /** Every file at the top of the run folder (run.json, metrics.jsonl, and what else the run wrote there) → its sha256. */
  files: Record<string, string>;
  steps: DriveStep[];
  best: { manifestSha: string; step: number | null; valid?: boolean } | null;
}

export type Request =
  | { op: "ping"; driveRoot: string }
  | { op: "ensureRun"; driveRoot: string; runDir: string; createdAt?: string; createRoot?: boolean }
  | { op: "putFile"; src: string; dest: string }
  | { op: "putFolder"; src: string; dest: string }
  | { op: "remove"; dirs: string[] }
  | { op: "inspect"; runDir: string; verify?: string[]; newestValid?: boolean }
  | { op: "pullFolder"; src: string; dest: string }
  | { op: "pullFile"; src: string; dest: string }
  | { op: "listRuns"; driveRoot: string }
  | { op: "runNames"; driveRoot: string };

export type Message = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: ChildError } | { id: number; alive: true };

let current = 0;
let lastBeat = 0;
/** Temporaries this process could not remove when a copy failed (the Drive was failing too); retried before every request. */
const leftovers = new Set<string>();

function forget(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
    leftovers.delete(p);
  } catch {
    leftovers.add(p);
  }
}

/** After every returned call: tells the parent's watchdog this request still moves. */
function beat(): void {
  const now = Date.now();
  if (now - lastBeat < 100) return;
  lastBeat = now;
  process.send?.({ id: current, alive: true } satisfies Message);
}

class SideError extends Error {
  constructor(
    readonly side: Side,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs one file call on `side`, tagging its error with the side and beating after it returns. */
function on<T>(side: Side, what: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof SideError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new SideError(side, e.code ?? "EUNKNOWN", `${what}: ${e.message}`);
  } finally {
    beat();
  }
}

const CHUNK = 1 << 20;

function writeSynced(file: string, data: Buffer): void {
  const fd = on("drive", `creating ${file}`, () => fs.openSync(file, "w"));
  try {
    for (let at = 0; at < data.length;) {
      const n = Math.min(CHUNK, data.length - at);
      at += on("drive", `writing ${file}`, () => fs.writeSync(fd, data, at, n));
    }
    on("drive", `fsync ${file}`, () => fs.fsyncSync(fd));
  } finally {
    on("drive", `closing ${file}`, () => fs.closeSync(fd));
  }
}

function fsyncDir(side: Side, dir: string): void {
  let fd: number | undefined;
  try {
    fd = on(side, `opening ${dir}`, () => fs.openSync(dir, "r"));
    on(side, `fsync ${dir}`, () => fs.fsyncSync(fd!));
  } catch (err) {
    // As durable_fs's fsyncDir: some filesystems cannot fsync a folder; the files are synced.
    if (!(err instanceof SideError) || !["EINVAL", "EISDIR", "EPERM", "ENOTSUP"].includes(err.code)) throw err;
  } finally {
    if (fd !== undefined) on(side, `closing ${dir}`, () => fs.closeSync(fd!));
  }
}

const exists = (side: Side, p: string) => on(side, `stat ${p}`, () => fs.existsSync(p));

function mkdirOnce(side: Side, dir: string): void {
  on(side, `mkdir ${dir}`, () => {
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  });
}

/** `mkdir -p dir` for the part of `dir` below `top` (which exists), one level at a time. */
function makeDirsBelow(side: Side, top: string, dir: string): void {
  const missing: string[] = [];
  for (let d = dir; d !== top && d !== path.dirname(d) && !exists(side, d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirOnce(side, d);
}

/** The Drive root must exist: an unmounted Drive leaves an empty mount point, and writing there would fill the local disk. */
function requireRoot(driveRoot: string): void {
  const st = on("drive", `stat ${driveRoot}`, () => fs.statSync(driveRoot, { throwIfNoEntry: false }));
  if (!st) throw new SideError("drive", "ENOENT", `the Drive root ${driveRoot} is missing (is the Drive mounted?)`);
  if (!st.isDirectory()) throw new SideError("drive", "ENOTDIR", `the Drive root ${driveRoot} is not a folder`);
}

function removeAside(side: Side, dir: string): void {
  const aside = tempSibling(dir, "old");
  on(side, `renaming ${dir}`, () => fs.renameSync(dir, aside));
  leftovers.add(aside);
  on(side, `removing ${aside}`, () => fs.rmSync(aside, { recursive: true, force: true }));
  leftovers.delete(aside);
}

/** Dead writers' leftovers (`.tmp-*`, `.old-*` whose pid is gone) in a Drive run folder. */
function cleanLeftovers(runDir: string): void {
  for (const dir of [runDir, path.join(runDir, CHECKPOINTS_DIR)]) {
    const names = on("drive", `listing ${dir}`, () => (fs.existsSync(dir) ? fs.readdirSync(dir) : []));
    for (const name of names) {
      const m = /^\.(tmp|old)-(.+)-\d+-[a-z0-9]+$/.exec(name);
      if (!m || !ownerIsGone(name)) continue;
      on("drive", `removing ${name}`, () => fs.rmSync(path.join(dir, name), { recursive: true, force: true }));
    }
  }
}

function ensureRun(driveRoot: string, runDir: string, createdAt?: string, createRoot = false): void {
  // The first contact creates a missing root (as a run written to the Drive directly does); later, a missing root means an unmounted Drive.
  if (createRoot) makeDirsBelow("drive", path.parse(driveRoot).root, driveRoot);
  requireRoot(driveRoot);
  // Another run under the same id (created elsewhere in the same second) is never written over.
  const existing = createdAt ? readText(path.join(runDir, "run.json")) : null;
  if (existing !== null) {
    let theirs: unknown;
    try {
      theirs = JSON.parse(existing).createdAt;
    } catch {
      theirs = undefined;
    }
    if (theirs !== undefined && theirs !== createdAt) throw new SideError("drive", "EEXIST", `the Drive already holds another run ${path.basename(runDir)} (created ${theirs})`);
  }
  const runs = runsDir(driveRoot);
  makeDirsBelow("drive", driveRoot, runs);
  const fresh = !exists("drive", runDir);
  mkdirOnce("drive", runDir);
  for (const sub of [CHECKPOINTS_DIR, BEST_DIR, "exports"]) mkdirOnce("drive", path.join(runDir, sub));
  if (fresh) fsyncDir("drive", runs);
  else cleanLeftovers(runDir);
}

/** Reads a committed local folder whole, checked against its manifest (it may be rotated away during the Drive's slow writes). */
function readLocalFolder(src: string): { manifestText: string; files: [string, Buffer][] } {
  const manifestText = on("local", `reading ${src}`, () => fs.readFileSync(path.join(src, MANIFEST_NAME), "utf8"));
  const manifest = manifestSchema.parse(JSON.parse(manifestText));
  const files: [string, Buffer][] = [];
  for (const entry of manifest.files) {
    const bytes = on("local", `reading ${src}`, () => fs.readFileSync(path.join(src, entry.name)));
    if (bytes.length !== entry.size || sha256(bytes) !== entry.sha256) throw new SideError("local", "ECHANGED", `${src} changed while it was read (${entry.name})`);
    files.push([entry.name, bytes]);
  }
  return { manifestText, files };
}

function verifyOn(side: Side, dir: string, what: string, keepBytes = false) {
  const check = on(side, `verifying ${dir}`, () => verifyCheckpointDirSync(dir, { keepBytes, onRead: beat }));
  if (!check.ok) throw new SideError(side, "EVERIFY", `${what} ${dir} did not verify: ${describeProblems(check.problems)}`);
  return check;
}

/** Writes a folder aside under dest's parent, verifies it, swaps it in, and verifies it again under its own name. */
function commitFolder(side: Side, dest: string, manifestText: string, files: [string, Buffer][]): void {
  const tmp = tempSibling(dest);
  const expected = new Map(files.map(([name, bytes]) => [name, bytes.length]));
  const write = side === "drive" ? writeSynced : (file: string, data: Buffer) => on("local", `writing ${file}`, () => fs.writeFileSync(file, data));
  try {
    mkdirOnce(side, tmp);
    const subdirs = new Set<string>();
    for (const [name, bytes] of files) {
      const file = path.join(tmp, name);
      if (name.includes("/")) {
        makeDirsBelow(side, tmp, path.dirname(file));
        subdirs.add(path.dirname(file));
      }
      write(file, bytes);
    }
    // The manifest goes last and byte for byte: a copy is known by its manifest's sha256.
    write(path.join(tmp, MANIFEST_NAME), Buffer.from(manifestText, "utf8"));
    if (side === "drive") {
      for (const sub of subdirs) fsyncDir(side, sub);
      fsyncDir(side, tmp);
    }
    verifyOn(side, tmp, "the copy");
    let old: string | undefined;
    if (exists(side, dest)) {
      old = tempSibling(dest, "old");
      on(side, `renaming ${dest}`, () => fs.renameSync(dest, old!));
    }
    on(side, `renaming ${tmp}`, () => fs.renameSync(tmp, dest));
    fsyncDir(side, path.dirname(dest));
    if (old) on(side, `removing ${old}`, () => fs.rmSync(old!, { recursive: true, force: true }));
  } catch (err) {
    forget(tmp);
    throw err;
  }
  // Counts only once it verifies where a reader will look for it: the manifest
  // re-read byte for byte, every file there with its size (the bytes were
  // hashed in the folder just renamed; reading them all again would double
  // the Drive's traffic).
  const back = on(side, `reading ${dest}`, () => fs.readFileSync(path.join(dest, MANIFEST_NAME), "utf8"));
  if (back !== manifestText) throw new SideError(side, "EVERIFY", `${dest}/${MANIFEST_NAME} read back different bytes than were written`);
  for (const [name, size] of expected) {
    const st = on(side, `stat ${dest}/${name}`, () => fs.statSync(path.join(dest, name), { throwIfNoEntry: false }));
    if (!st || st.size !== size) throw new SideError(side, "EVERIFY", `${dest}/${name} is ${st ? `${st.size} bytes, not ${size}` : "missing"} after the rename`);
  }
}

function putFolder(src: string, dest: string): { manifestSha: string } {
  const { manifestText, files } = readLocalFolder(src);
  commitFolder("drive", dest, manifestText, files);
  return { manifestSha: sha256(Buffer.from(manifestText, "utf8")) };
}

/** Replaces a file atomically on `to` with verified bytes of `from`'s copy. */
function copyFile(from: Side, to: Side, src: string, dest: string): { sha: string | null } {
  const bytes = on(from, `reading ${src}`, () => {
    try {
      return fs.readFileSync(src);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  });
  if (bytes === null) return { sha: null };
  const tmp = tempSibling(dest);
  try {
    if (to === "drive") writeSynced(tmp, bytes);
    else on("local", `writing ${tmp}`, () => fs.writeFileSync(tmp, bytes));
    const back = on(to, `reading ${tmp}`, () => fs.readFileSync(tmp));
    if (!back.equals(bytes)) throw new SideError(to, "EVERIFY", `${tmp} read back different bytes than were written`);
    on(to, `renaming ${tmp}`, () => fs.renameSync(tmp, dest));
  } catch (err) {
    forget(tmp);
    throw err;
  }
  fsyncDir(to, path.dirname(dest));
  const final = on(to, `reading ${dest}`, () => fs.readFileSync(dest));
  if (!final.equals(bytes)) throw new SideError(to, "EVERIFY", `${dest} read back different bytes than were written`);
  return { sha: sha256(bytes) };
}

function readText(file: string): string | null {
  return on("drive", `reading ${file}`, () => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  });
}

const shaOf = (text: string | Buffer | null) => (text === null ? null : sha256(typeof text === "string" ? Buffer.from(text, "utf8") : text));

function readBytes(file: string): Buffer | null {
  return on("drive", `reading ${file}`, () => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  });
}

function inspect(runDir: string, verify: string[] = [], newestValid = false): DriveRunInfo {
  if (!exists("drive", runDir)) return { exists: false, runJson: null, files: {}, steps: [], best: null };
  const runJson = readText(path.join(runDir, "run.json"));
  const metrics = readText(path.join(runDir, "metrics.jsonl"));
  const ck = path.join(runDir, CHECKPOINTS_DIR);
  const names = on("drive", `listing ${ck}`, () => (fs.existsSync(ck) ? fs.readdirSync(ck) : []));
  const steps: DriveStep[] = names
    .map((name) => ({ name, step: parseCheckpointName(name) }))
    .filter((x): x is { name: string; step: number } => x.step !== undefined)
    .sort((a, b) => b.step - a.step)
    .map((x) => ({ ...x, manifestSha: shaOf(readText(path.join(ck, x.name, MANIFEST_NAME))) }));
  const check = (dir: string, step: number | null) => {
    const r = on("drive", `verifying ${dir}`, () => verifyCheckpointDirSync(dir, { onRead: beat }));
    if (r.ok && step !== null && r.manifest.step !== step) return { valid: false, problems: `${MANIFEST_NAME}: says step ${r.manifest.step}, folder says ${step}` };
    return r.ok ? { valid: true } : { valid: false, problems: describeProblems(r.problems) };
  };
  let foundValid = false;
  for (const s of steps) {
    if (verify.includes(s.name) || (newestValid && !foundValid)) {
      Object.assign(s, check(path.join(ck, s.name), s.step));
      if (s.valid) foundValid = true;
    }
  }
  const bestText = readText(path.join(runDir, BEST_DIR, MANIFEST_NAME));
  let best: DriveRunInfo["best"] = null;
  if (bestText !== null) {
    let step: number | null = null;
    try {
      step = manifestSchema.parse(JSON.parse(bestText)).step;
    } catch {
      // Unreadable: the folder does not verify either.
    }
    best = { manifestSha: shaOf(bestText)!, step };
    if (verify.includes(BEST_DIR) || newestValid) best.valid = check(path.join(runDir, BEST_DIR), null).valid;
  }
  const files: Record<string, string> = {};
  for (const name of on("drive", `listing ${runDir}`, () => fs.readdirSync(runDir, { withFileTypes: true }))) {
    // Dot names are temporaries of copies in progress.
    if (!name.isFile() || name.name.startsWith(".")) continue;
    const sha = name.name === "run.json" ? shaOf(runJson) : name.name === "metrics.jsonl" ? shaOf(metrics) : shaOf(readBytes(path.join(runDir, name.name)));
    if (sha) files[name.name] = sha;
  }
  return { exists: true, runJson, files, steps, best };
}

function pullFolder(src: string, dest: string): void {
  const check = verifyOn("drive", src, "the Drive's", true);
  commitFolder("local", dest, check.manifestText!, [...check.bytes.entries()]);
}

function listRuns(driveRoot: string): string[] {
  requireRoot(driveRoot);
  const dir = runsDir(driveRoot);
  const names = on("drive", `listing ${dir}`, () => (fs.existsSync(dir) ? fs.readdirSync(dir) : []));
  return names.filter((n) => !n.startsWith(".") && exists("drive", path.join(dir, n, "run.json"))).sort();
}

function handle(req: Request): unknown {
  switch (req.op) {
    case "ping":
      requireRoot(req.driveRoot);
      return on("drive", `listing ${req.driveRoot}`, () => fs.readdirSync(req.driveRoot).length);
    case "ensureRun":
      return ensureRun(req.driveRoot, req.runDir, req.createdAt, req.createRoot);
    case "putFile":
      return copyFile("local", "drive", req.src, req.dest);
    case "putFolder":
      return putFolder(req.src, req.dest);
    case "remove":
      for (const dir of req.dirs) if (exists("drive", dir)) removeAside("drive", dir);
      if (req.dirs.length) fsyncDir("drive", path.dirname(req.dirs[0]!));
      return null;
    case "inspect":
      return inspect(req.runDir, req.verify, req.newestValid);
    case "pullFolder":
      return pullFolder(req.src, req.dest);
    case "pullFile":
      return copyFile("drive", "local", req.src, req.dest);
    case "listRuns":
      return listRuns(req.driveRoot);
    case "runNames": {
      const dir = runsDir(req.driveRoot);
      return on("drive", `listing ${dir}`, () => (fs.existsSync(dir) ? fs.readdirSync(dir) : []));
    }
  }
}

process.on("message", (raw: { id: number } & Request) => {
  current = raw.id;
  lastBeat = Date.now();
  for (const p of [...leftovers]) forget(p);
  let reply: Message;
  try {
    reply = { id: raw.id, ok: true, result: handle(raw) ?? null };
  } catch (err) {
    const e = err instanceof SideError ? err : new SideError("drive", (err as NodeJS.ErrnoException).code ?? "EUNKNOWN", (err as Error).message);
    reply = { id: raw.id, ok: false, error: { code: e.code, message: e.message, side: e.side } };
  }
  process.send?.(reply);
});
// The parent went away (it exited, or gave up on a hung call): nothing is left to do.
process.on("disconnect", () => process.exit(0));
// A signal to the whole process group (Ctrl-C in a terminal, a batch scheduler's SIGTERM) is for the trainer, which
// stops with a checkpoint and then needs this process to copy it; the trainer ends it, or its exit closes the channel.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => undefined);
