// The types the kernel (or the CLI) and a magic share.
//
// A magic is three things: a zod schema for its arguments (which also
// generates its help), an engine call, and a rendering of the engine's result.
// The kernel and the CLI both go through `invokeMagic` in ./registry.ts, so a
// flag means the same thing in `%train --epochs 3` and `tscolab train --epochs 3`.
import type { z } from "zod";

/** A Jupyter MIME bundle: "text/plain" is always present, richer types optional. */
export type MimeBundle = Record<string, unknown> & { "text/plain": string };

/** A display that can be replaced in place (Jupyter's update_display_data). */
export interface DisplayHandle {
  update(bundle: MimeBundle): void;
}

/** Where a magic's output goes: a notebook (iopub) or a terminal. */
export interface MagicIO {
  /** Shows a rich output and returns a handle to update it in place. */
  display(bundle: MimeBundle): DisplayHandle;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Clears the cell's output (IPython's clear_output); absent for the CLI. */
  clearOutput?(wait: boolean): void;
  /** True when the output is a notebook; false for the CLI. */
  readonly rich: boolean;
}

export interface MagicContext extends MagicIO {
  /** Folder the notebook (or the CLI) runs in; relative paths resolve here. */
  cwd: string;
  /** Aborted when the user interrupts (stop button, SIGINT). */
  signal: AbortSignal;
  /** The notebook's top-level variables (empty for the CLI). */
  variables: Record<string, unknown>;
}

/** One positional argument: which schema field it fills. */
export interface PositionalSpec {
  name: string;
  /** Collects every remaining positional into an array. */
  rest?: boolean;
}

export interface MagicSpec<S extends z.ZodObject = z.ZodObject, R = unknown> {
  /** `%name`; the CLI command is the same name with `_` turned into `-`. */
  name: string;
  /** One line for `%lsmagic` and the top of `--help`. */
  summary: string;
  /** Every flag and positional; `.describe()` texts become the help. */
  args: S;
  positionals?: PositionalSpec[];
  /** Extra help text (examples) printed after the generated flag list. */
  examples?: string[];
  /** Cell magic (`%%name`): the cell body after the first line is passed to run. */
  acceptsBody?: boolean;
  run(args: z.infer<S>, ctx: MagicContext, body?: string): Promise<R>;
  /**
   * The result's TypeScript type: its name and the module that exports it,
   * from the package root (`engine/train/train`). A notebook variable bound
   * with `--as` is declared with it, so completion, inspection and the
   * type-checker know its fields.
   */
  resultType?: { name: string; module: string };
  /** Rich rendering of the result; defaults to JSON as text. */
  render?(result: R): MimeBundle;
  /** CLI exit code for a result; defaults to 0. */
  exitCode?(result: R): number;
  /**
   * Why a result is a failure, or undefined. The notebook shows (and binds)
   * the result, then fails the cell with this line, so run-all stops there
   * as the CLI's non-zero exit code stops a script.
   */
  failure?(result: R): string | undefined;
}

export { TscolabError, UsageError, UserFacingError } from "../engine/errors";
