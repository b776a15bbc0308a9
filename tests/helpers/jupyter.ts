// Finding Python's Jupyter for the tests that need it (nbconvert,
// jupyter_kernel_test). Missing Jupyter is said loudly; with
// TSCOLAB_REQUIRE_JUPYTER=1 (set by .ci/run) it is a failure, not a skip.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

function canImport(python: string, modules: string[]): boolean {
  try {
    execFileSync(python, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** A Python that can import the modules (the PATH's python3 may be a pyenv without Debian's packages). */
export function findPython(modules: string[]): string | undefined {
  return ["python3", "/usr/bin/python3"].find((p) => canImport(p, modules));
}

export const jupyterRequired = process.env.TSCOLAB_REQUIRE_JUPYTER === "1";

/** Returns the python to use, or undefined after a loud warning (throws when Jupyter is required). */
export function requirePython(modules: string[], what: string): string | undefined {
  const python = findPython(modules);
  if (python) return python;
  const message = `${what} needs Python with ${modules.join(", ")} (Debian: apt-get install jupyter-nbconvert jupyter-client python3-jupyter-kernel-test)`;
  if (jupyterRequired) throw new Error(`TSCOLAB_REQUIRE_JUPYTER=1 but ${message}`);
  console.warn(`\n!!! SKIPPED: ${message}\n`);
  return undefined;
}

/** Installs the tscolab kernelspec into a temporary Jupyter data dir; returns env for Jupyter commands. */
export function kernelspecEnv(): { env: NodeJS.ProcessEnv; prefix: string } {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-jupyter-"));
  execFileSync(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), "install", "--prefix", prefix], { stdio: "pipe" });
  const dataDir = path.join(prefix, "share", "jupyter");
  return { prefix, env: { ...process.env, JUPYTER_PATH: dataDir, JUPYTER_DATA_DIR: dataDir, JUPYTER_RUNTIME_DIR: path.join(prefix, "runtime"), JUPYTER_PLATFORM_DIRS: "1" } };
}

export { ROOT };
