// tscolab's own version (for ModelProto.producer_version), read once from
// the package.json above this file, so it never drifts from the release.
import * as fs from "node:fs";
import * as path from "node:path";

let cached: string | undefined;

export function tscolabVersion(): string {
  if (cached !== undefined) return cached;
  cached = "unknown";
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tscolab" && pkg.version) {
        cached = pkg.version;
        break;
      }
    } catch {
      // no package.json here: keep walking up
    }
    if (path.dirname(dir) === dir) break;
  }
  return cached;
}
