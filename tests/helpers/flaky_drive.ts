// A Drive that drops out on demand: a real FUSE file system
// (tests/fixtures/flaky_drive/flaky_fs.py, on Debian's python3-fusepy and
// fuse3) that passes calls through to a backing folder, and answers ENOTCONN,
// EIO or EROFS, or hangs, while a switch file exists. Missing FUSE is said
// loudly; with TSCOLAB_REQUIRE_FUSE=1 (set by .ci/run, which installs the
// packages) it is a failure, not a skip.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./jupyter";

const SCRIPT = path.join(ROOT, "tests", "fixtures", "flaky_drive", "flaky_fs.py");
/** Debian's python3-fusepy lives in the system Python (the PATH's python3 may be a pyenv). */
const PYTHONS = ["/usr/bin/python3", "python3"];

export const fuseRequired = process.env.TSCOLAB_REQUIRE_FUSE === "1";

export type Switch = "enotconn" | "eio" | "hang" | "readonly" | "latency_ms" | "lose_writes";

export interface FlakyDrive {
  /** The mount point: use it as the Drive root. */
  root: string;
  /** What the Drive really holds (read it here: the mount may be failing on purpose). */
  backing: string;
  /** Turns a failure on (`hang`: at most `value` seconds; `latency_ms`: milliseconds per call). */
  on(what: Switch, value?: number): void;
  off(what: Switch): void;
  unmount(): void;
}

function pythonWithFusepy(): string | undefined {
  return PYTHONS.find((p) => {
    try {
      execFileSync(p, ["-c", "import fusepy"], { stdio: "ignore", timeout: 20_000 });
      return true;
    } catch {
      return false;
    }
  });
}

function mounted(mountPoint: string): boolean {
  return fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === mountPoint);
}

/** Why this machine cannot mount the flaky Drive, or undefined when it can. */
export function fuseProblem(): string | undefined {
  if (process.platform !== "linux") return `FUSE tests need Linux (this is ${process.platform})`;
  if (!fs.existsSync("/dev/fuse")) return "/dev/fuse does not exist (a container needs --device /dev/fuse and CAP_SYS_ADMIN)";
  try {
    fs.accessSync("/dev/fuse", fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    return "/dev/fuse exists but this user cannot open it (run the tests as root, or add the user to the fuse group)";
  }
  if (!fs.existsSync("/usr/bin/fusermount") && !fs.existsSync("/usr/bin/fusermount3")) return "fusermount is missing (Debian: apt-get install fuse3)";
  if (!pythonWithFusepy()) return "Python's fusepy is missing (Debian: apt-get install python3-fusepy fuse3)";
  return undefined;
}

/** Says loudly why the FUSE tests skip, or throws when they are required; true when they can run. */
export function requireFuse(what: string): boolean {
  const problem = fuseProblem();
  if (!problem) return true;
  if (fuseRequired) throw new Error(`TSCOLAB_REQUIRE_FUSE=1 but ${what} cannot run: ${problem}`);
  console.warn(`\n!!! SKIPPED: ${what}: ${problem}\n`);
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function mountFlakyDrive(): Promise<FlakyDrive> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-flaky-drive-"));
  const [backing, root, control] = ["backing", "mnt", "control"].map((d) => path.join(base, d)) as [string, string, string];
  for (const d of [backing, root, control]) fs.mkdirSync(d);
  const python = pythonWithFusepy()!;
  let log = "";
  const proc: ChildProcess = spawn(python, [SCRIPT, backing, root, control], { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  const deadline = Date.now() + 20_000;
  while (!mounted(root)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`the flaky FUSE Drive did not mount at ${root}: ${log.trim() || `exit ${proc.exitCode}`}`);
    }
    await sleep(50);
  }
  const file = (what: Switch) => path.join(control, what);
  return {
    root,
    backing,
    on: (what, value) => fs.writeFileSync(file(what), value === undefined ? "" : String(value)),
    off: (what) => fs.rmSync(file(what), { force: true }),
    unmount: () => {
      for (const f of fs.readdirSync(control)) fs.rmSync(path.join(control, f), { force: true });
      try {
        execFileSync(fs.existsSync("/usr/bin/fusermount3") ? "fusermount3" : "fusermount", ["-u", "-z", root], { stdio: "ignore" });
      } catch {
        // Already gone.
      }
      proc.kill("SIGKILL");
    },
  };
}
