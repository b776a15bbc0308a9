// The tscolab package folder, found from this file whether it runs compiled
// (dist/kernel) or from source under vitest (kernel/).
import fs from "node:fs";
import path from "node:path";

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "tscolab") return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the tscolab package above ${from}`);
  }
}

export const PACKAGE_ROOT = findRoot(__dirname);
export const PACKAGE_VERSION: string = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")).version;
export const LAUNCHER = path.join(PACKAGE_ROOT, "bin", "tscolab.js");
