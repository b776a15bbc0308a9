// Loads a model file (`.ts` or `.js`) that exports
// `createModel({ tf, inputShape, outputs, task })`. TypeScript is compiled
// with TypeScript's transpileModule (no type check: that is the
// notebook's job) and the module runs with a require that hands it OUR tfjs
// instance for "@tensorflow/tfjs", so no second tfjs (and no second backend
// registry) is ever loaded.
import fs from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { TscolabError } from "../errors";
import { typescript } from "../util/typescript";

const TFJS_IDS = new Set(["@tensorflow/tfjs", "@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"]);

function compile(file: string, source: string): string {
  // .js files go through the compiler too, so `export function createModel` (ES module syntax) works in them.
  if (file.endsWith(".cjs")) return source;
  const ts = typescript();
  const out = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  const syntax = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax) {
    const where = syntax.file && syntax.start !== undefined ? syntax.file.getLineAndCharacterOfPosition(syntax.start) : undefined;
    const at = where ? `${file}:${where.line + 1}:${where.character + 1}` : file;
    throw new TscolabError(`model file ${at} does not compile: ${ts.flattenDiagnosticMessageText(syntax.messageText, " ")}`, "fix the syntax error in the model file");
  }
  return out.outputText;
}

export type ModelFactory = (args: { tf: unknown; inputShape: number[]; outputs: number; task: string }) => unknown;

const TS_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts"];

/** `./blocks` or `./blocks.js` next to a model file, when it is a TypeScript file (Node cannot require those). */
function localTypeScript(fromFile: string, id: string): string | null {
  if (!id.startsWith("./") && !id.startsWith("../")) return null;
  const base = path.resolve(path.dirname(fromFile), id);
  const stem = base.replace(/\.(m|c)?js$/, "");
  const candidates = [base, ...TS_EXTENSIONS.map((e) => stem + e), ...TS_EXTENSIONS.map((e) => path.join(base, `index${e}`))];
  return candidates.find((c) => TS_EXTENSIONS.includes(path.extname(c)) && fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

/**
 * Runs one module with a require that hands out our tfjs and loads sibling
 * TypeScript files the same way (so a model split over several .ts files, as
 * in a cloned repository, works); `modules` caches them, cycles included.
 */
function runModule(file: string, source: string, tf: unknown, modules: Map<string, { exports: Record<string, unknown> }>): void {
  const mod = modules.get(file) as { exports: Record<string, unknown> };
  const baseRequire = createRequire(file);
  const localRequire = Object.assign((id: string) => {
    if (TFJS_IDS.has(id)) return tf;
    const sibling = localTypeScript(file, id);
    if (!sibling) return baseRequire(id);
    if (!modules.has(sibling)) {
      modules.set(sibling, { exports: {} });
      runModule(sibling, fs.readFileSync(sibling, "utf8"), tf, modules);
    }
    return (modules.get(sibling) as { exports: unknown }).exports;
  }, baseRequire);
  const wrapper = vm.runInThisContext(Module.wrap(compile(file, source)), { filename: file }) as (...a: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, localRequire, mod, file, path.dirname(file));
}

/** Compiles and runs the file; returns its createModel (named or default export). */
export function loadModelFactory(file: string, tf: unknown): ModelFactory {
  let source: string;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new TscolabError(
      `model file ${file} cannot be read (${(e as NodeJS.ErrnoException).code})`,
      "check model.file in the config (relative paths start at the notebook or CLI folder)",
    );
  }
  const mod = { exports: {} as Record<string, unknown> };
  try {
    runModule(file, source, tf, new Map([[file, mod]]));
  } catch (e) {
    if (e instanceof TscolabError) throw e;
    throw new TscolabError(`model file ${file} threw while loading: ${(e as Error).message}`, "fix the error at the top level of the model file");
  }
  const exp = mod.exports as { createModel?: unknown; default?: unknown };
  const factory = exp.createModel ?? (typeof exp.default === "function" ? exp.default : (exp.default as { createModel?: unknown } | undefined)?.createModel);
  if (typeof factory !== "function") {
    throw new TscolabError(`model file ${file} does not export createModel`, "add `export function createModel({ tf, inputShape, outputs, task }) { ... return model; }`");
  }
  return factory as ModelFactory;
}
