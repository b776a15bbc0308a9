// Scans a model file and every local file it loads (relative imports,
// followed transitively), since a clean model.ts that requires ./helper.js is
// only as safe as helper.js. Files are named relative to the repository root.
import fs from "node:fs";
import path from "node:path";
import { scanSource, type ScanFinding } from "./scan";

const CODE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

/** Node's resolution of a relative specifier, plus TypeScript's `./x.js` → `./x.ts`. */
function resolveLocal(fromFile: string, spec: string): string | null {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base, ...CODE_EXTENSIONS.map((e) => base + e), ...CODE_EXTENSIONS.map((e) => path.join(base, `index${e}`))];
  if (/\.(m|c)?js$/.test(base)) candidates.push(...[".ts", ".tsx", ".mts", ".cts"].map((e) => base.replace(/\.(m|c)?js$/, e)));
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

export interface TreeScan {
  findings: ScanFinding[];
  /** Every file scanned, repository-relative, entry first. */
  files: string[];
}

/** `rootName` names the root in findings about files outside it (default: "the repository"). */
export function scanModelTree(entry: string, root: string, opts: { rootName?: string } = {}): TreeScan {
  const findings: ScanFinding[] = [];
  const files: string[] = [];
  const queue = [path.resolve(entry)];
  const seen = new Set(queue);
  const rel = (f: string) => path.relative(root, f).split(path.sep).join("/");
  while (queue.length) {
    const file = queue.shift() as string;
    files.push(rel(file));
    if (!CODE_EXTENSIONS.includes(path.extname(file))) continue; // JSON, data: nothing runs
    const scan = scanSource(fs.readFileSync(file, "utf8"), rel(file));
    findings.push(...scan.findings);
    for (const { spec, line, code } of scan.imports) {
      if (!spec.startsWith(".") && !spec.startsWith("/")) continue;
      const target = resolveLocal(file, spec);
      if (!target) continue; // loading fails by itself, with Node's own message
      // Real paths: a symlink in the repository may point anywhere.
      const fromRoot = path.relative(fs.realpathSync(root), fs.realpathSync(target));
      const inside = fromRoot !== ".." && !fromRoot.startsWith(`..${path.sep}`) && !path.isAbsolute(fromRoot);
      if (!inside) {
        findings.push({ file: rel(file), line, column: 1, pattern: `loads a file outside ${opts.rootName ?? "the repository"} ("${spec}")`, code });
        continue;
      }
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return { findings, files };
}
