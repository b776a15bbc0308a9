// A static scan of fetched model code, on the TypeScript AST (so comments and
// string contents never count): child processes, eval and Function of strings,
// network, file-system writes, computed require/import, native bindings.
//
// It is a tripwire, not a sandbox: it catches what a model file has no reason
// to do, written the ordinary ways, and it refuses whatever it cannot see
// through (a computed require, computed access on the global object).
// Determined obfuscation can still get past any static scan; that is what
// reviewing the code before --trust is for.
import type * as ts from "typescript";
import { z } from "zod";
import {
  FS_MEMBER_ONLY_WRITES,
  FS_MODULES,
  FS_WRITE_NAMES,
  GLOBAL_OBJECTS,
  MODULE_FAMILIES,
  NETWORK_GLOBALS,
  PROCESS_MEMBERS,
  SAFE_MODULES,
  TFJS_IO_NAMES,
  moduleBase,
} from "./patterns";
import { typescript } from "../util/typescript";

export const scanFinding = z.object({
  /** The file, as given to the scanner (repository-relative for git models). */
  file: z.string(),
  line: z.number().int().positive(),
  column: z.number().int().positive(),
  /** What was found, e.g. `child process: require("child_process")`, `eval`, `fs write: writeFileSync`. */
  pattern: z.string(),
  /** The source line, trimmed, for the message. */
  code: z.string(),
});
export type ScanFinding = z.infer<typeof scanFinding>;

export interface SourceScan {
  findings: ScanFinding[];
  /** Static module specifiers the code loads (`./layers`, `@tensorflow/tfjs`, ...) and their lines, to follow local ones. */
  imports: { spec: string; line: number; code: string }[];
}

const TIMERS = new Set(["setTimeout", "setInterval", "setImmediate"]);

function scriptKind(t: typeof ts, file: string): ts.ScriptKind {
  if (/\.(tsx)$/.test(file)) return t.ScriptKind.TSX;
  if (/\.(ts|mts|cts)$/.test(file)) return t.ScriptKind.TS;
  if (/\.jsx$/.test(file)) return t.ScriptKind.JSX;
  return t.ScriptKind.JS;
}

/** Scans one file's code; `file` is only used to name it in findings. */
export function scanModelSource(code: string, file: string): ScanFinding[] {
  return scanSource(code, file).findings;
}

export function scanSource(code: string, file: string): SourceScan {
  const t = typescript();
  const sf = t.createSourceFile(file, code, t.ScriptTarget.Latest, true, scriptKind(t, file));
  const lines = code.split(/\r?\n/);
  const findings: ScanFinding[] = [];
  const imports: SourceScan["imports"] = [];
  const seen = new Set<string>();

  const where = (node: ts.Node) => {
    const pos = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    const text = (lines[pos.line] ?? "").trim();
    return { line: pos.line + 1, column: pos.character + 1, code: text.length > 100 ? `${text.slice(0, 97)}...` : text };
  };
  const add = (node: ts.Node, pattern: string) => {
    const at = where(node);
    const key = `${at.line}:${pattern}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ file, ...at, pattern });
  };

  const staticText = (e: ts.Node | undefined): string | undefined => (e && (t.isStringLiteral(e) || t.isNoSubstitutionTemplateLiteral(e)) ? e.text : undefined);

  const stringish = (e: ts.Node | undefined): boolean =>
    !!e &&
    (t.isStringLiteral(e) || t.isNoSubstitutionTemplateLiteral(e) || t.isTemplateExpression(e) || (t.isBinaryExpression(e) && e.operatorToken.kind === t.SyntaxKind.PlusToken));

  // Names bound to an fs module (`import fs from "fs"`, `const fs = require("node:fs")`).
  const fsBindings = new Set<string>();
  const isFsModule = (spec: string | undefined) => spec !== undefined && FS_MODULES.has(moduleBase(spec).bare);
  const requiredModule = (e: ts.Expression | undefined): string | undefined =>
    e && t.isCallExpression(e) && t.isIdentifier(e.expression) && e.expression.text === "require" ? staticText(e.arguments[0]) : undefined;
  const collectFs = (node: ts.Node): void => {
    if (t.isImportDeclaration(node) && isFsModule(staticText(node.moduleSpecifier))) {
      const clause = node.importClause;
      if (clause?.name) fsBindings.add(clause.name.text);
      if (clause?.namedBindings && t.isNamespaceImport(clause.namedBindings)) fsBindings.add(clause.namedBindings.name.text);
      if (clause?.namedBindings && t.isNamedImports(clause.namedBindings)) {
        for (const el of clause.namedBindings.elements) if ((el.propertyName ?? el.name).getText(sf) === "promises") fsBindings.add(el.name.text);
      }
    } else if (t.isImportEqualsDeclaration(node) && t.isExternalModuleReference(node.moduleReference) && isFsModule(staticText(node.moduleReference.expression))) {
      fsBindings.add(node.name.text);
    } else if (t.isVariableDeclaration(node) && t.isIdentifier(node.name) && isFsModule(requiredModule(node.initializer))) {
      fsBindings.add(node.name.text);
    }
    t.forEachChild(node, collectFs);
  };
  collectFs(sf);
  const isFsObject = (e: ts.Expression): boolean =>
    (t.isIdentifier(e) && fsBindings.has(e.text)) || (t.isPropertyAccessExpression(e) && e.name.text === "promises" && isFsObject(e.expression)) || isFsModule(requiredModule(e));

  const checkModule = (spec: string, node: ts.Node, how: string) => {
    const at = where(node);
    imports.push({ spec, line: at.line, code: at.code });
    const { bare, pkg } = moduleBase(spec);
    const family = MODULE_FAMILIES.get(bare) ?? MODULE_FAMILIES.get(pkg) ?? MODULE_FAMILIES.get(bare.split("/")[0]);
    if (family) add(node, `${family}: ${how}("${spec}")`);
    else if (!spec.startsWith(".") && !spec.startsWith("/") && !SAFE_MODULES.has(bare) && !SAFE_MODULES.has(pkg)) add(node, `unscanned package: ${how}("${spec}")`);
  };

  const isGlobalObject = (e: ts.Expression): boolean =>
    t.isIdentifier(e) ? GLOBAL_OBJECTS.has(e.text) : t.isPropertyAccessExpression(e) && GLOBAL_OBJECTS.has(e.name.text) && isGlobalObject(e.expression);
  const isProcess = (e: ts.Expression): boolean =>
    (t.isIdentifier(e) && e.text === "process") || (t.isPropertyAccessExpression(e) && e.name.text === "process" && isGlobalObject(e.expression));

  /** An identifier used as a value (not a property name, declaration name or type). */
  const isReference = (id: ts.Identifier): boolean => {
    const p = id.parent;
    if (t.isPropertyAccessExpression(p) && p.name === id) return false;
    if (
      (t.isPropertyAssignment(p) ||
        t.isMethodDeclaration(p) ||
        t.isPropertyDeclaration(p) ||
        t.isPropertySignature(p) ||
        t.isMethodSignature(p) ||
        t.isGetAccessor(p) ||
        t.isSetAccessor(p)) &&
      p.name === id
    )
      return false;
    if (
      (t.isVariableDeclaration(p) || t.isFunctionDeclaration(p) || t.isFunctionExpression(p) || t.isClassDeclaration(p) || t.isParameter(p) || t.isBindingElement(p)) &&
      p.name === id
    )
      return false;
    if (t.isBindingElement(p) && p.propertyName === id) return false;
    if (t.isImportSpecifier(p) || t.isExportSpecifier(p) || t.isImportClause(p) || t.isNamespaceImport(p) || t.isLabeledStatement(p)) return false;
    if (t.isTypeReferenceNode(p) || t.isQualifiedName(p) || t.isTypeQueryNode(p) || t.isInterfaceDeclaration(p) || t.isTypeAliasDeclaration(p)) return false;
    return true;
  };

  const checkMember = (node: ts.Node, object: ts.Expression, name: string) => {
    if (FS_WRITE_NAMES.has(name)) add(node, `fs write: ${name}`);
    else if (FS_MEMBER_ONLY_WRITES.has(name) && isFsObject(object)) add(node, `fs write: ${name}`);
    const processMember = PROCESS_MEMBERS.get(name);
    if (processMember && (isProcess(object) || name === "dlopen" || name === "mainModule")) add(node, processMember);
    const tfjsIo = TFJS_IO_NAMES.get(name);
    if (tfjsIo && (name !== "http" || (t.isPropertyAccessExpression(object) ? object.name.text === "io" : t.isIdentifier(object) && object.text === "io"))) add(node, tfjsIo);
    if (name === "fetch") add(node, "network: fetch");
    else if (NETWORK_GLOBALS.has(name) && isGlobalObject(object)) add(node, `network: ${name}`);
    if (name === "eval" && isGlobalObject(object)) add(node, "eval");
    if (name === "Function" && isGlobalObject(object)) add(node, "Function constructor");
    if (name === "createRequire" || name === "_load" || name === "_compile") add(node, `code loading: ${name}`);
    // `(() => {}).constructor` is Function (async/generator variants too): a
    // way to eval strings without naming it. `.constructor.name` only reads.
    if (name === "constructor" && !(t.isPropertyAccessExpression(node.parent) && node.parent.expression === node && node.parent.name.text === "name"))
      add(node, "Function constructor (.constructor)");
  };

  const visit = (node: ts.Node): void => {
    if (t.isImportDeclaration(node)) {
      const spec = staticText(node.moduleSpecifier);
      if (spec !== undefined && !node.importClause?.isTypeOnly) {
        checkModule(spec, node, "import");
        const named = node.importClause?.namedBindings;
        if (isFsModule(spec) && named && t.isNamedImports(named)) {
          for (const el of named.elements) {
            const name = (el.propertyName ?? el.name).getText(sf);
            if (FS_WRITE_NAMES.has(name) || (FS_MEMBER_ONLY_WRITES.has(name) && name !== "promises")) add(el, `fs write: ${name}`);
          }
        }
      }
    } else if (t.isExportDeclaration(node) && node.moduleSpecifier) {
      const spec = staticText(node.moduleSpecifier);
      if (spec !== undefined && !node.isTypeOnly) checkModule(spec, node, "export from");
    } else if (t.isImportEqualsDeclaration(node) && t.isExternalModuleReference(node.moduleReference)) {
      const spec = staticText(node.moduleReference.expression);
      if (spec !== undefined) checkModule(spec, node, "require");
      else add(node, "dynamic require of a computed name");
    } else if (t.isCallExpression(node)) {
      const callee = node.expression;
      const arg0 = node.arguments[0];
      const isRequire =
        (t.isIdentifier(callee) && callee.text === "require") ||
        (t.isPropertyAccessExpression(callee) && callee.name.text === "require" && t.isIdentifier(callee.expression) && callee.expression.text === "module");
      if (isRequire || callee.kind === t.SyntaxKind.ImportKeyword) {
        const how = isRequire ? "require" : "import";
        const spec = staticText(arg0);
        if (spec !== undefined) checkModule(spec, node, how);
        else if (arg0) add(node, `dynamic ${how} of a computed name`);
      } else if (t.isIdentifier(callee) && callee.text === "Function") {
        add(node, "Function constructor");
      } else if (TIMERS.has(t.isIdentifier(callee) ? callee.text : t.isPropertyAccessExpression(callee) ? callee.name.text : "") && stringish(arg0)) {
        add(node, "eval of a string (timer with code)");
      } else if (t.isPropertyAccessExpression(callee) && callee.name.text === "csv" && t.isPropertyAccessExpression(callee.expression) && callee.expression.name.text === "data") {
        add(node, "network: tf.data.csv"); // reads any URL, not only files
      } else if (t.isPropertyAccessExpression(callee) && callee.name.text === "save" && /^file:\/\//i.test(staticText(arg0) ?? "")) {
        add(node, "fs write: model.save(file://)");
      }
    } else if (t.isNewExpression(node) && t.isIdentifier(node.expression) && node.expression.text === "Function") {
      add(node, "Function constructor");
    } else if (t.isPropertyAccessExpression(node)) {
      checkMember(node, node.expression, node.name.text);
    } else if (t.isElementAccessExpression(node)) {
      const name = staticText(node.argumentExpression);
      if (name !== undefined) checkMember(node, node.expression, name);
      else if (isGlobalObject(node.expression)) add(node, `computed access on ${node.expression.getText(sf)}`);
    } else if (t.isBindingElement(node)) {
      // const { writeFileSync } = require("fs")  /  const { execSync: run } = cp
      const name = (node.propertyName ?? node.name).getText(sf);
      if (FS_WRITE_NAMES.has(name)) add(node, `fs write: ${name}`);
    } else if (t.isIdentifier(node) && isReference(node)) {
      const name = node.text;
      if (name === "eval") add(node, "eval");
      else if (name === "Function" && !(t.isBinaryExpression(node.parent) && node.parent.operatorToken.kind === t.SyntaxKind.InstanceOfKeyword)) add(node, "Function constructor");
      else if (NETWORK_GLOBALS.has(name)) add(node, `network: ${name}`);
      else if (name === "require") {
        const p = node.parent;
        const called = t.isCallExpression(p) && p.expression === node;
        const resolveOnly = t.isPropertyAccessExpression(p) && p.expression === node && p.name.text === "resolve";
        if (!called && !resolveOnly) add(node, "require used as a value");
      }
    }
    t.forEachChild(node, visit);
  };
  visit(sf);
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { findings, imports };
}
