// Stopping git must stop its helpers too: `git clone https://...` runs
// `git remote-http` as a grandchild, which keeps its connection (and runs on,
// reparented to init) when only git itself is killed. So interruptible git
// commands go through a tiny launcher that starts git in its own process group
// and, when it is stopped, signals the whole group. simple-git runs the
// launcher as its "binary" ([node, launcher.js]), so every simple-git guard
// still applies to the arguments.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const LAUNCHER = `"use strict";
// tscolab: run git in its own process group; a stop signal reaches all of it.
const { spawn } = require("child_process");
const child = spawn("git", process.argv.slice(2), { stdio: "inherit", detached: true });
const group = (sig) => { try { process.kill(-child.pid, sig); } catch (e) {} };
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(sig, () => {
    group(sig);
    setTimeout(() => { group("SIGKILL"); process.exit(143); }, 2000).unref();
  });
}
child.on("error", (e) => { process.stderr.write("fatal: " + e.message + "\\n"); process.exit(127); });
child.on("exit", (code, signal) => { group("SIGKILL"); process.exit(code === null ? 128 + (require("os").constants.signals[signal] || 15) : code); });
`;

// simple-git accepts a custom binary only with these characters.
const SAFE_PATH = /^([a-z]:)?([a-z0-9/.\\_~-]+)$/i;

let launcher: [string, string] | null | undefined;

/** [node, launcher.js] for simple-git's `binary`, or null where process groups are not available. */
export function groupLauncher(): [string, string] | null {
  if (launcher !== undefined) return launcher;
  launcher = null;
  if (process.platform === "win32" || !SAFE_PATH.test(process.execPath)) return launcher;
  const hash = crypto.createHash("sha256").update(LAUNCHER).digest("hex").slice(0, 12);
  const file = path.join(os.tmpdir(), `tscolab-git-group-${hash}.js`);
  if (!SAFE_PATH.test(file)) return launcher;
  try {
    if (!fs.existsSync(file)) {
      // Written aside and renamed: a concurrent run never sees half a file.
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, LAUNCHER, { mode: 0o644 });
      fs.renameSync(tmp, file);
    }
    launcher = [process.execPath, file];
  } catch {
    launcher = null; // read-only /tmp: git still stops, its helpers may linger
  }
  return launcher;
}
