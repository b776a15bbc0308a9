// The TypeScript face of tscolab: the same engines the magics and the CLI use.
//   import { verifyEnv, train, exportModel, evaluate, predict, monitor, listRuns, compareRuns, sweep, runNotebook } from "tscolab";
export { verifyEnv } from "./engine/env/verify_env";
export { train } from "./engine/train/train";
export { exportModel } from "./engine/export/export";
export { evaluate, predict } from "./engine/evaluate/evaluate";
export { monitor } from "./engine/monitor/monitor";
export { bundleRun } from "./engine/bundle/bundle";
export { reproduce } from "./engine/bundle/reproduce";
export { driveMount, driveStatus } from "./engine/store/drive";
export { listRuns, compareRuns, sweep } from "./engine/experiments";
export { runWorker, type WorkerOptions, type WorkerResult } from "./engine/experiments/queue/worker";
export type { RunRow, RunsList, CompareResult, SweepInput, SweepResult } from "./engine/experiments";
export { pipeline } from "./engine/pipeline";
export type { PipelineInput, PipelineResult } from "./engine/pipeline";
export { loadImageFolder } from "./engine/data/images";
export { runNotebook } from "./kernel/notebook_runner";
export { ensureBackend } from "./engine/backend";
export { notebookProvenance, parseGitModelRef, resolveGitModel, scanModelSource } from "./engine/git";
export { KernelClient } from "./kernel/client";
export { invokeMagic, listMagics, registerMagic } from "./magics";
export { TscolabError, UsageError, UserFacingError } from "./engine/errors";
export type { MagicContext, MagicSpec, MimeBundle } from "./magics/types";
// The results of the engines (and of the magics): a variable bound with `--as` in a notebook has these types.
export type { TrainResult } from "./engine/train/train";
export type { TrainSummary } from "./engine/train/summary";
export type { ExportResult } from "./engine/export/export";
export type { VerifyEnvReport } from "./engine/env/report";
export type { DriveStatus } from "./engine/store/drive";
