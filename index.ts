// The TypeScript face of tscolab: the same engines the magics and the CLI use.
//   import { verifyEnv, train, exportModel, runNotebook } from "tscolab";
export { verifyEnv } from "./magics/verify_env/engine";
export { train } from "./magics/train/engine";
export { exportModel } from "./magics/export/engine";
export { driveMount, driveStatus } from "./magics/drive/engine";
export { runNotebook } from "./kernel/notebook_runner";
export { ensureBackend } from "./magics/shared/backend";
export { notebookProvenance, parseGitModelRef, resolveGitModel, scanModelSource } from "./magics/shared/git";
export { KernelClient } from "./kernel/client";
export { invokeMagic, listMagics, registerMagic } from "./magics";
export { TscolabError, UsageError } from "./magics/types";
export type { MagicContext, MagicSpec, MimeBundle } from "./magics/types";
