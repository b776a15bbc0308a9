// Experiments: every run in one table (listRuns), side-by-side comparisons
// (compareRuns) and sweeps of many runs (sweep), over the Drive's run folders.
export { listRuns, scanRuns, indexPath, type ListRunsOptions, type RunsList } from "./runs_index";
export type { RunRow } from "./run_row";
export { compareRuns, type CompareOptions, type CompareResult } from "./compare";
export { sweep, OBJECTIVES, type SweepInput, type SweepResult, type SweepProgress, type TrialView } from "./sweep";
export type { TrialRecord, SweepRecord } from "./sweep_store";
