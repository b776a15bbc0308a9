// resolveGitModel: a `{ git: { repo, rev, path } }` model source → a model file
// on disk that is safe to load (or a refusal), plus its provenance for run.json.
//
//   repo ─clone/fetch→ <drive>/tscolab/cache/git/<key>/repo.git
//   rev  ─rev-parse→  commit sha
//   tree ─checkout→   <drive>/tscolab/cache/git/<key>/commits/<sha>/
//   path ─scan→       findings: refuse unless trust
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { TscolabError } from "../errors";
import { openRepoCache, resolveRev } from "./cache";
import { entryKind, listCodeFiles, materialiseCommit } from "./materialise";
import { canonicalRepo, checkRev, gitModelSource, normaliseRepoPath } from "./ref";
import { scanFinding, type ScanFinding } from "./scan";
import { scanModelTree } from "./scan_tree";

export const gitProvenance = z.object({
  /** The repository as cloned: a URL, or an absolute path for a local one. */
  repo: z.string(),
  requestedRev: z.string(),
  /** The commit REV resolved to. */
  commit: z.string(),
  path: z.string(),
  /** sha256 of the model file's bytes at that commit. */
  sha256: z.string(),
  /** Every file the scan followed (the model file first), repository-relative. */
  scanned: z.array(z.string()),
  /** What the scan found; non-empty only when the user trusted the code. */
  findings: z.array(scanFinding),
  trusted: z.boolean(),
});
export type GitProvenance = z.infer<typeof gitProvenance>;

export interface ResolveGitOptions {
  /** Drive root: the cache lives in `<drive>/tscolab/cache/git/`. */
  driveRoot: string;
  /** Run the code even when the scan finds something (`--trust`, `"trust": true`). */
  trust?: boolean;
  /** Folder a relative local repository path starts from (default: process.cwd()). */
  cwd?: string;
  /** Aborting it stops a clone or fetch in progress (the notebook's interrupt). */
  signal?: AbortSignal;
}

export interface ResolvedGitModel {
  /** Absolute path of the checked-out model file. */
  file: string;
  /** The commit's checked-out tree (the file's siblings load from here). */
  dir: string;
  provenance: GitProvenance;
  /** Things worth telling the user (e.g. the cache answered because a fetch failed). */
  notes: string[];
}

function describe(f: ScanFinding): string {
  return `${f.file}:${f.line}: ${f.pattern} (\`${f.code}\`)`;
}

/** The one-line refusal: the first finding in full, the count of the rest. */
export function refusal(findings: ScanFinding[], where: string): TscolabError {
  const more =
    findings.length > 1
      ? `; and ${findings.length - 1} more: ${findings
          .slice(1, 4)
          .map((f) => `${f.file}:${f.line} ${f.pattern}`)
          .join(", ")}${findings.length > 4 ? ", ..." : ""}`
      : "";
  return new TscolabError(`refusing to run ${where}: ${describe(findings[0])}${more}`, 'read that code; if you trust it, pass --trust (or "trust": true in the model config)');
}

export async function resolveGitModel(source: { repo: string; rev?: string; path: string }, opts: ResolveGitOptions): Promise<ResolvedGitModel> {
  const parsed = gitModelSource.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TscolabError(`model.git.${issue.path.join(".") || "(source)"}: ${issue.message}`, 'give { "git": { "repo": URL-or-path, "rev": REV, "path": FILE } }');
  }
  const rev = checkRev(parsed.data.rev);
  const file = normaliseRepoPath(parsed.data.path);
  const repo = canonicalRepo(parsed.data.repo, opts.cwd ?? process.cwd());
  const notes: string[] = [];

  const cache = await openRepoCache(opts.driveRoot, repo, opts.signal);
  const resolved = await resolveRev(cache, rev, cache.cloned, opts.signal);
  if (resolved.note) notes.push(resolved.note);
  const commit = resolved.commit;
  const at = `${repo} at ${rev}${rev === commit ? "" : ` (${commit.slice(0, 12)})`}`;

  const kind = await entryKind(cache, commit, file);
  if (kind !== "blob") {
    const what = kind === null ? "not found" : kind === "tree" ? "is a folder, not a file" : kind === "link" ? "is a symbolic link (not followed)" : "is a submodule (not fetched)";
    const files = await listCodeFiles(cache, commit);
    throw new TscolabError(
      `model file "${file}" ${what} in ${at}${files.length ? `; code files there: ${files.join(", ")}` : ""}`,
      "set model.git.path to a .ts or .js file of that commit",
    );
  }

  const dir = await materialiseCommit(cache, commit);
  const abs = path.join(dir, ...file.split("/"));
  const sha256 = crypto.createHash("sha256").update(fs.readFileSync(abs)).digest("hex");

  // Scan before anything of the repository runs.
  const scan = scanModelTree(abs, dir);
  if (scan.findings.length && !opts.trust) throw refusal(scan.findings, `${file} from ${at}`);
  if (scan.findings.length) notes.push(`trusted ${file} despite ${scan.findings.length} finding(s): ${scan.findings.slice(0, 3).map(describe).join("; ")}`);

  return {
    file: abs,
    dir,
    provenance: { repo, requestedRev: rev, commit, path: file, sha256, scanned: scan.files, findings: scan.findings, trusted: !!opts.trust },
    notes,
  };
}
