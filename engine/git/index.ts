// Models from git, pinned to a revision and scanned before they run, with the
// provenance (commit, sha256, notebook state) that run.json records.
export { resolveGitModel, refusal, gitProvenance, type GitProvenance, type ResolveGitOptions, type ResolvedGitModel } from "./resolve";
export { parseGitModelRef, formatGitModelRef, isGitModelRef, gitModelSource, type GitModelSource } from "./ref";
export { scanModelSource, scanFinding, type ScanFinding } from "./scan";
export { scanModelTree, type TreeScan } from "./scan_tree";
export { notebookProvenance, notebookProvenanceSchema, type NotebookProvenance } from "./notebook";
export { gitCacheRoot, cacheKey } from "./cache";
export { gitModelForTraining, runProvenance, type GitModelForTraining } from "./train_hook";
