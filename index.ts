// The TypeScript face of tscolab: the same engines the magics and the CLI use.
//   import { verifyEnv, train, exportModel, runNotebook } from "tscolab";
export { KernelClient } from "./kernel/client";
export { invokeMagic, listMagics, registerMagic } from "./magics";
export { TscolabError, UsageError } from "./magics/types";
export type { MagicContext, MagicSpec, MimeBundle } from "./magics/types";
