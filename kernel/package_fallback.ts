// Packages the kernel ships (TensorFlow.js first of all) importable from a
// notebook in any folder, as Colab preinstalls its libraries. tslab resolves a
// cell's imports from the notebook's folder only, so after `tscolab install
// --user` a notebook in ~/work could not `import * as tf from
// "@tensorflow/tfjs"`; and `npm install` there would bring a second
// tfjs-core, which the magics cannot train or export with.
//
// The rule: the notebook's folder (and the node_modules above it) first, as
// before; only a package found in none of them comes from the kernel's own
// node_modules — for the type-checker and at run time alike. tscolab itself
// is such a package (its types declare the variables `--as` binds): found
// nowhere above the notebook, it is the running kernel's own package.
import fs from "node:fs";
import Module from "node:module";
import path from "node:path";
import { PACKAGE_ROOT } from "./package_root";

/** The kernel's own package name, as a notebook imports it. */
export const PACKAGE_NAME = "tscolab";

let installed = false;

/** The node_modules folder the kernel's own @tensorflow/tfjs lives in (hoisted or not). */
function kernelModules(): string {
  return path.resolve(path.dirname(require.resolve("@tensorflow/tfjs/package.json")), "..", "..");
}

/** `@scope/name/dist/x.d.ts` → `@scope/name`; `name/index.js` → `name`. */
function packageOf(rest: string): string {
  const parts = rest.split(/[\\/]/);
  return parts[0].startsWith("@") && parts.length > 1 ? `${parts[0]}/${parts[1]}` : parts[0];
}

export function installPackageFallback(notebookDir: string): void {
  if (installed) return;
  installed = true;
  const fallback = kernelModules();

  // Run time: Node looks in NODE_PATH folders after every node_modules above
  // the requiring file. Set for this process only, not for its children.
  const saved = process.env.NODE_PATH;
  process.env.NODE_PATH = [saved, fallback].filter(Boolean).join(path.delimiter);
  (Module as unknown as { _initPaths(): void })._initPaths();
  if (saved === undefined) delete process.env.NODE_PATH;
  else process.env.NODE_PATH = saved;
  // tscolab is not in a node_modules folder when the kernel runs from its own checkout.
  const loader = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
  const resolveFilename = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    try {
      return resolveFilename.call(this, request, ...rest);
    } catch (e) {
      if (request !== PACKAGE_NAME && !request.startsWith(PACKAGE_NAME + "/")) throw e;
      return resolveFilename.call(this, PACKAGE_ROOT + request.slice(PACKAGE_NAME.length), ...rest);
    }
  };

  // Type-checking: tslab's compiler host reads through this ts.sys, and it
  // looks for packages under <notebook>/node_modules. Answer a lookup there
  // from the kernel's copy when no folder from the notebook up has the package.
  const sys = (require("@tslab/typescript-for-tslab") as typeof import("typescript")).sys;
  const local = path.join(notebookDir, "node_modules") + path.sep;
  const seen = new Map<string, boolean>();
  const foundAbove = (pkg: string): boolean => {
    let hit = seen.get(pkg);
    if (hit === undefined) {
      hit = false;
      for (let dir = notebookDir; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "node_modules", pkg))) hit = true;
        if (hit || path.dirname(dir) === dir) break;
      }
      seen.set(pkg, hit);
    }
    return hit;
  };
  const redirect = (p: string): string => {
    if (!p.startsWith(local)) return p;
    const rest = p.slice(local.length);
    const pkg = packageOf(rest);
    // tslab forwards its own package itself (forwardTslabPath).
    if (!pkg || pkg === "tslab" || foundAbove(pkg)) return p;
    return pkg === PACKAGE_NAME ? path.join(PACKAGE_ROOT, rest.slice(pkg.length)) : path.join(fallback, rest);
  };
  const { fileExists, directoryExists, readFile, readDirectory, getDirectories } = sys;
  sys.fileExists = (p) => fileExists.call(sys, redirect(p));
  sys.directoryExists = (p) => directoryExists.call(sys, redirect(p));
  sys.readFile = (p, encoding) => readFile.call(sys, redirect(p), encoding);
  sys.getDirectories = (p) => getDirectories.call(sys, redirect(p));
  sys.readDirectory = (p, ...rest) => readDirectory.call(sys, redirect(p), ...rest);
}
