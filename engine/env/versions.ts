// Versions of the toolchain and of every @tensorflow package, and every copy
// of @tensorflow/tfjs-core on disk. Two copies of tfjs-core is the classic
// broken notebook: a model built with the notebook folder's copy cannot run
// on the backend registered with the kernel's copy. Only reads files.
import fs from "node:fs";
import path from "node:path";
import type { CoreCopy } from "./report";

/** Packages released in lockstep with tfjs-core; their versions must match it. */
export const LOCKSTEP = [
  "tfjs",
  "tfjs-core",
  "tfjs-layers",
  "tfjs-converter",
  "tfjs-data",
  "tfjs-backend-cpu",
  "tfjs-backend-webgl",
  "tfjs-backend-wasm",
  "tfjs-backend-webgpu",
  "tfjs-node",
  "tfjs-node-gpu",
].map((n) => `@tensorflow/${n}`);

export function readJson(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/** Version of `pkg` as Node would resolve it from `fromDir`; null when absent. */
export function resolvedVersion(pkg: string, fromDir: string): { version: string; dir: string } | null {
  try {
    const pj = require.resolve(`${pkg}/package.json`, { paths: [fromDir] });
    const v = readJson(pj)?.version;
    return typeof v === "string" ? { version: v, dir: fs.realpathSync(path.dirname(pj)) } : null;
  } catch {
    return null;
  }
}

/** npm's version without starting npm (slow): npm ships next to node. */
export function npmVersion(): string | null {
  const fromAgent = /\bnpm\/(\d+\.\d+\.\d+\S*)/.exec(process.env.npm_config_user_agent ?? "");
  if (fromAgent) return fromAgent[1];
  const nodeDir = path.dirname(process.execPath);
  for (const p of [path.join(nodeDir, "../lib/node_modules/npm/package.json"), path.join(nodeDir, "node_modules/npm/package.json")]) {
    const v = readJson(p)?.version;
    if (typeof v === "string") return v;
  }
  return null;
}

/** The node_modules folders Node searches from `dir` upwards. */
export function nodeModulesChain(dir: string): string[] {
  const out: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    if (path.basename(d) !== "node_modules") {
      const nm = path.join(d, "node_modules");
      if (fs.existsSync(nm)) out.push(nm);
    }
    const up = path.dirname(d);
    if (up === d) return out;
    d = up;
  }
}

/**
 * Every package directory named `pkg` (e.g. @tensorflow/tfjs-core) under the
 * given node_modules folders, nested node_modules included; real paths, no
 * duplicates.
 */
export function findPackageCopies(pkg: string, nodeModulesDirs: string[], maxDepth = 8): string[] {
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (nm: string, depth: number) => {
    let real: string;
    try {
      real = fs.realpathSync(nm);
    } catch {
      return;
    }
    if (seen.has(real) || depth > maxDepth) return;
    seen.add(real);
    const candidate = path.join(real, pkg);
    if (fs.existsSync(path.join(candidate, "package.json"))) found.add(fs.realpathSync(candidate));
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(real, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const dirs = e.name.startsWith("@") ? safeList(path.join(real, e.name)).map((s) => path.join(real, e.name, s)) : [path.join(real, e.name)];
      for (const d of dirs) {
        const nested = path.join(d, "node_modules");
        if (fs.existsSync(nested)) visit(nested, depth + 1);
      }
    }
  };
  for (const nm of nodeModulesDirs) visit(nm, 0);
  return [...found];
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every @tensorflow/* package directly in the given node_modules folders, name → version (first wins). */
export function tensorflowPackages(nodeModulesDirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const nm of nodeModulesDirs) {
    for (const name of safeList(path.join(nm, "@tensorflow")).sort()) {
      const full = `@tensorflow/${name}`;
      const v = readJson(path.join(nm, "@tensorflow", name, "package.json"))?.version;
      if (typeof v === "string" && !(full in out)) out[full] = v;
    }
  }
  return out;
}

export interface CoreCopiesInput {
  /** Folder the kernel's tfjs resolves from (its node_modules owner). */
  kernelDir: string;
  /** The notebook's folder: cells resolve their imports from here. */
  notebookDir: string;
}

/** All tfjs-core copies visible to the kernel or the notebook, and who uses each. */
export function coreCopies({ kernelDir, notebookDir }: CoreCopiesInput): CoreCopy[] {
  const dirs = [...new Set([...nodeModulesChain(kernelDir), ...nodeModulesChain(notebookDir)])];
  const kernelCore = resolvedVersion("@tensorflow/tfjs-core", kernelDir)?.dir;
  const notebookCore = resolvedVersion("@tensorflow/tfjs-core", notebookDir)?.dir;
  return findPackageCopies("@tensorflow/tfjs-core", dirs).map((dir) => {
    const usedBy: CoreCopy["usedBy"] = [];
    if (dir === kernelCore) usedBy.push("kernel");
    if (dir === notebookCore) usedBy.push("notebook");
    return { path: dir, version: String(readJson(path.join(dir, "package.json"))?.version ?? "unknown"), usedBy };
  });
}
