// TypeScript execution through tslab's executor and converter (type-checked,
// top-level await, imports resolved from the notebook's folder).
//
// tslab reports through a console object it is given: the value of a cell's
// last expression arrives via `log(value)`, compile diagnostics via
// `error("%s%d:%d - %s", ...)` and runtime errors via `error(err)`. We give it
// a console that records these instead of printing them, so the kernel can
// send an execute_result and a proper error message.
import { format } from "node:util";
import type { ConverterSet, Executor } from "tslab/dist/executor";
import { installPackageFallback, PACKAGE_NAME } from "./package_fallback";

// tslab ships CommonJS without an exports map; these are its documented modules.
const { createExecutor } = require("tslab/dist/executor") as typeof import("tslab/dist/executor");
const { createConverter, isCompleteCode } = require("tslab/dist/converter") as typeof import("tslab/dist/converter");

export interface ErrorInfo {
  ename: string;
  evalue: string;
  traceback: string[];
}

export type TsOutcome = { ok: true; hasValue: boolean; value?: unknown } | { ok: false; error: ErrorInfo };

const DIAGNOSTIC_FORMAT = "%s%d:%d - %s";
const BINDING_SLOT = "__tscolab_binding__";

export class InterruptedError extends Error {
  override name = "KeyboardInterrupt";
}

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) {
    const name = e.name || "Error";
    const lines = (e.stack ?? "").split("\n");
    // Node prefixes errors thrown from vm code with the source line and a caret; skip to the frames.
    const frames = lines.filter((l) => /^\s+at /.test(l)).filter((l) => !/node:internal|node:vm|tslab[\\/]dist[\\/]executor|[\\/]dist[\\/](kernel|magics)[\\/]/.test(l));
    return { ename: name, evalue: e.message, traceback: [`${name}: ${e.message}`, ...frames] };
  }
  const text = typeof e === "string" ? e : format("%o", e);
  return { ename: "Error", evalue: text, traceback: [`Uncaught ${text}`] };
}

class LazyConverters implements ConverterSet {
  private nodeConv?: ReturnType<typeof createConverter>;
  private browserConv?: ReturnType<typeof createConverter>;
  get node() {
    return (this.nodeConv ??= createConverter({ isJS: false, isBrowser: false }));
  }
  get browser() {
    return (this.browserConv ??= createConverter({ isJS: false, isBrowser: true }));
  }
  close() {
    this.nodeConv?.close();
    this.browserConv?.close();
  }
}

export class TsRunner {
  private readonly executor: Executor;
  private readonly converters = new LazyConverters();
  private capture: { value?: unknown; hasValue: boolean; diagnostics: string[]; error?: unknown } = { hasValue: false, diagnostics: [] };
  private lineOffset = 0;

  constructor(rootDir: string) {
    installPackageFallback(rootDir); // the kernel's @tensorflow/tfjs importable from any notebook folder
    this.executor = createExecutor(rootDir, this.converters, {
      log: (value?: unknown) => {
        this.capture.value = value;
        this.capture.hasValue = true;
      },
      error: (first?: unknown, ...rest: unknown[]) => {
        if (first === DIAGNOSTIC_FORMAT) {
          const [file, line, col, text] = rest as [string, number, number, string];
          this.capture.diagnostics.push(`${file}${Number(line) + this.lineOffset}:${col} - ${text}`);
        } else {
          this.capture.error = first;
        }
      },
    });
  }

  /** Loads the TypeScript compiler now rather than on the first cell. */
  warmUp(): void {
    void this.converters.node;
  }

  /** The notebook's top-level variables (tslab keeps them as module exports). */
  get variables(): Record<string, unknown> {
    return this.executor.locals;
  }

  /** Runs a TypeScript piece; `lineOffset` shifts diagnostics to the cell's lines. */
  async run(code: string, lineOffset = 0): Promise<TsOutcome> {
    this.capture = { hasValue: false, diagnostics: [] };
    this.lineOffset = lineOffset;
    const ok = await this.executor.execute(code);
    const { value, hasValue, diagnostics, error } = this.capture;
    if (ok) return { ok: true, hasValue, value };
    if (diagnostics.length) {
      return { ok: false, error: { ename: "TypeScriptError", evalue: diagnostics[0], traceback: diagnostics.map((d) => `TypeScriptError: ${d}`) } };
    }
    if (error instanceof Error && error.message === "Interrupted asynchronously") {
      return { ok: false, error: errorInfo(new InterruptedError("execution interrupted; the kernel and its variables are kept")) };
    }
    if (error instanceof Error && /Script execution (was )?interrupted/.test(error.message)) {
      return { ok: false, error: errorInfo(new InterruptedError("execution interrupted; the kernel and its variables are kept")) };
    }
    return { ok: false, error: errorInfo(error) };
  }

  /** Evaluates a TypeScript expression for `{expr}` in magic lines. */
  async evaluate(expr: string): Promise<unknown> {
    const out = await this.run(`(${expr})`);
    if (!out.ok) throw new Error(out.error.evalue);
    return out.value;
  }

  /**
   * Binds a value to a notebook variable visible to later cells (`--as NAME`).
   * `type` is the value's type and the package module that exports it: the
   * variable is declared as `import("tscolab/dist/<module>").<name>`, so
   * completion, inspection and the type-checker know its fields. The module
   * itself, not the package index: the first binding then type-checks that
   * type and what it uses, not the whole API (seconds saved). Without a type,
   * or if the declarations cannot be read, the variable is `any`.
   */
  async bind(name: string, value: unknown, type?: { name: string; module: string }): Promise<void> {
    (globalThis as Record<string, unknown>)[BINDING_SLOT] = value;
    try {
      const declare = (t: string) => this.run(`let ${name}: ${t} = (globalThis as any).${BINDING_SLOT};`);
      let out = await declare(type ? `import("${PACKAGE_NAME}/dist/${type.module}").${type.name}` : "any");
      if (!out.ok && type) out = await declare("any");
      if (!out.ok) throw new Error(`could not bind ${name}: ${out.error.evalue}`);
    } finally {
      delete (globalThis as Record<string, unknown>)[BINDING_SLOT];
    }
  }

  interrupt(): void {
    this.executor.interrupt();
  }

  complete(code: string, position: number) {
    return this.executor.complete(code, position);
  }

  inspect(code: string, position: number) {
    return this.executor.inspect(code, position);
  }

  isComplete(code: string) {
    return isCompleteCode(code);
  }

  close(): void {
    this.executor.close();
  }
}
