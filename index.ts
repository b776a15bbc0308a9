// The TypeScript face of tscolab: the same engines the magics and the CLI use.
//   import { verifyEnv, train, exportModel, runNotebook, listRuns, compareRuns, sweep } from "tscolab";
export { verifyEnv } from "./engine/env/verify_env";
export { train } from "./engine/train/train";
export { exportModel } from "./engine/export/export";
export { generate } from "./engine/text/generate";
export type { GenerateOptions, GenerateResult } from "./engine/text/generate";
export { driveMount, driveStatus } from "./engine/store/drive";
export { listRuns, compareRuns, sweep } from "./engine/experiments";
export type { RunRow, RunsList, CompareResult, SweepInput, SweepResult } from "./engine/experiments";
export { runNotebook } from "./kernel/notebook_runner";
export { ensureBackend } from "./engine/backend";
export { notebookProvenance, parseGitModelRef, resolveGitModel, scanModelSource } from "./engine/git";
export { KernelClient } from "./kernel/client";
export { invokeMagic, listMagics, registerMagic } from "./magics";
export { TscolabError, UsageError, UserFacingError } from "./engine/errors";
export type { MagicContext, MagicSpec, MimeBundle } from "./magics/types";
