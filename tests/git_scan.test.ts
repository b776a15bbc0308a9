// The scanner for fetched model code works on the TypeScript AST: every
// dangerous pattern is found with its line, and the same words inside
// comments, strings or as harmless property names are not.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { scanModelSource, scanModelTree } from "../engine/git";

const patterns = (code: string, file = "model.ts") => scanModelSource(code, file).map((f) => f.pattern);

describe("scanModelSource finds", () => {
  const cases: Array<[string, string, string]> = [
    ["require child_process", `const cp = require("child_process");`, 'child process: require("child_process")'],
    ["node: prefix", `import { execSync } from "node:child_process";`, 'child process: import("node:child_process")'],
    ["worker_threads", `import { Worker } from "worker_threads";`, 'child process: import("worker_threads")'],
    ["cluster", `const c = require('cluster');`, 'child process: require("cluster")'],
    ["import equals", `import cp = require("child_process");`, 'child process: require("child_process")'],
    ["re-export", `export * from "node:child_process";`, 'child process: export from("node:child_process")'],
    ["dynamic import of a literal", `await import("child_process");`, 'child process: import("child_process")'],
    ["eval", `eval("1+1");`, "eval"],
    ["indirect eval", `const e = eval; e("x");`, "eval"],
    ["globalThis.eval", `globalThis.eval("x");`, "eval"],
    ["new Function", `const f = new Function("return 1");`, "Function constructor"],
    ["Function()", `const f = Function("return 1");`, "Function constructor"],
    ["constructor of a function", `(() => 0).constructor("return process")();`, "Function constructor (.constructor)"],
    ["Function passed on", `Reflect.construct(Function, ["return process"])();`, "Function constructor"],
    ["async function constructor", `const AF = (async () => {}).constructor; new AF("x");`, "Function constructor (.constructor)"],
    ["process.mainModule.require", `process.mainModule.require("child_process");`, "process.mainModule"],
    ["require.call", `require.call(null, "child_process");`, "require used as a value"],
    ["setTimeout with a string", `setTimeout("doIt()", 10);`, "eval of a string (timer with code)"],
    ["vm", `import vm from "vm";`, 'code evaluation: import("vm")'],
    ["http", `import http from "http";`, 'network: import("http")'],
    ["https", `const https = require("node:https");`, 'network: require("node:https")'],
    ["net", `require("net")`, 'network: require("net")'],
    ["dgram", `require("dgram")`, 'network: require("dgram")'],
    ["tls", `require("tls")`, 'network: require("tls")'],
    ["dns/promises", `require("dns/promises")`, 'network: require("dns/promises")'],
    ["undici", `import { request } from "undici";`, 'network: import("undici")'],
    ["ws", `import WebSocket from "ws";`, 'network: import("ws")'],
    ["fetch", `const r = await fetch("https://example.com/w.bin");`, "network: fetch"],
    ["tf platform fetch", `tf.env().platform.fetch(url);`, "network: fetch"],
    ["loadLayersModel", `const m = await tf.loadLayersModel("https://x/model.json");`, "network: tfjs model download"],
    ["tf.data.csv", `const ds = tf.data.csv("https://example.com/train.csv");`, "network: tf.data.csv"],
    ["writeFileSync", `fs.writeFileSync("/tmp/x", "y");`, "fs write: writeFileSync"],
    ["fs.promises.writeFile", `await fs.promises.writeFile("x", "y");`, "fs write: writeFile"],
    ["named import of a write", `import { appendFileSync } from "node:fs";`, "fs write: appendFileSync"],
    ["destructured write", `const { rmSync: del } = require("fs");`, "fs write: rmSync"],
    ["createWriteStream", `fs.createWriteStream("out")`, "fs write: createWriteStream"],
    ["unlink", `fs.unlinkSync(p)`, "fs write: unlinkSync"],
    ["rename", `fs.renameSync(a, b)`, "fs write: renameSync"],
    ["mkdir", `fs.mkdirSync(d)`, "fs write: mkdirSync"],
    ["copyFile", `fs.copyFileSync(a, b)`, "fs write: copyFileSync"],
    ["chmod", `fs.chmodSync(p, 0o777)`, "fs write: chmodSync"],
    ["element access write", `fs["writeFileSync"]("x", "y")`, "fs write: writeFileSync"],
    ["fs.openSync on an fs binding", `import * as fs from "fs"; fs.openSync("x", "w");`, "fs write: openSync"],
    ["model.save to file://", `await model.save("file:///tmp/m");`, "fs write: model.save(file://)"],
    ["a package from outside the repository", `import _ from "lodash";`, 'unscanned package: import("lodash")'],
    ["a scoped package", `const x = require("@evil/helper/sub");`, 'unscanned package: require("@evil/helper/sub")'],
    ["an unlisted node module", `import ah from "node:async_hooks";`, 'unscanned package: import("node:async_hooks")'],
    ["tfjs-node (its file:// handler writes)", `import "@tensorflow/tfjs-node";`, 'unscanned package: import("@tensorflow/tfjs-node")'],
    ["dynamic require", `const m = require("child_" + "process");`, "dynamic require of a computed name"],
    ["dynamic import", "const m = await import(`./${name}`);", "dynamic import of a computed name"],
    ["require as a value", `const r = require; r("child_process");`, "require used as a value"],
    ["module.require computed", `module.require(name);`, "dynamic require of a computed name"],
    ["createRequire", `require("module").createRequire(__filename)("child_process");`, "code loading: createRequire"],
    ["process.binding", `process.binding("spawn_sync");`, "process.binding"],
    ["process.dlopen", `process.dlopen(m, "/tmp/x.node");`, "process.dlopen"],
    ["computed global access", `globalThis[key]("x");`, "computed access on globalThis"],
    ["computed process access", `process[k]`, "computed access on process"],
  ];
  for (const [name, code, pattern] of cases) {
    test(name, () => {
      expect(patterns(code)).toContain(pattern);
    });
  }
});

describe("scanModelSource does not flag", () => {
  test("the words in comments, strings and templates", () => {
    const code = [
      "// require('child_process').execSync('rm -rf /'); eval(x); fetch(url)",
      "/* import http from 'http'; fs.writeFileSync('x') */",
      'const doc = "we never call eval() or require(\\"child_process\\") or fs.writeFileSync";',
      "const t = `fetch and spawn and new Function()`;",
      "/** @example fs.rmSync(path) */",
    ].join("\n");
    expect(scanModelSource(code, "m.ts")).toEqual([]);
  });

  test("an ordinary model file (tfjs import, reads, layers, property names)", () => {
    const code = `
      import * as tf from "@tensorflow/tfjs";
      import { readFileSync } from "fs";
      import { join } from "node:path";
      import * as layers from "@tensorflow/tfjs-layers";
      import { createHash } from "crypto";
      import { hidden } from "./layers";
      const config = JSON.parse(readFileSync(__dirname + "/config.json", "utf8"));
      const opts = { eval: false, fetch: 3, write: true };
      process.stdout.write("building\\n");
      const env = process.env.MODEL_WIDTH;
      export function createModel({ tf: t, inputShape, outputs }: { tf: typeof tf; inputShape: number[]; outputs: number }) {
        const m = t.sequential();
        m.add(t.layers.dense({ units: hidden, inputShape, activation: "relu" }));
        m.add(t.layers.dense({ units: outputs, activation: "softmax" }));
        setTimeout(() => undefined, 0);
      const isFn = createModel instanceof Function;
      console.log(m.constructor.name);
        return m;
      }
      type F = typeof fetch;
      interface X { eval: number }
    `;
    expect(scanModelSource(code, "model.ts")).toEqual([]);
  });

  test("names that exist on Object.prototype", () => {
    // Only what they are: packages from outside the repository, nothing from Object.prototype.
    expect(patterns(`require("constructor");\nimport x from "toString";\nobj.hasOwnProperty("a"); a.valueOf(); b.toString();`)).toEqual([
      'unscanned package: require("constructor")',
      'unscanned package: import("toString")',
    ]);
  });

  test("type-only imports of dangerous modules", () => {
    expect(scanModelSource(`import type { ChildProcess } from "child_process";`, "m.ts")).toEqual([]);
  });
});

test("a finding names file, line, column, pattern and the source line", () => {
  const code = 'import * as tf from "@tensorflow/tfjs";\n\n// spawn below\nconst { execSync } = require("child_process");\n';
  const [f] = scanModelSource(code, "models/net.ts");
  expect(f).toEqual({ file: "models/net.ts", line: 4, column: 22, pattern: 'child process: require("child_process")', code: 'const { execSync } = require("child_process");' });
});

test("scanModelTree follows local imports and refuses files outside the repository", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-scan-"));
  fs.mkdirSync(path.join(root, "lib"));
  fs.writeFileSync(path.join(root, "model.ts"), 'import { make } from "./lib/build";\nexport const createModel = make;\n');
  fs.writeFileSync(path.join(root, "lib", "build.ts"), 'import "./helper.js";\nexport function make() { return null; }\n');
  fs.writeFileSync(path.join(root, "lib", "helper.ts"), '\n\nrequire("child_process").execSync("true");\n');
  fs.writeFileSync(path.join(root, "unused.ts"), 'require("child_process");\n');
  const scan = scanModelTree(path.join(root, "model.ts"), root);
  expect(scan.files).toEqual(["model.ts", "lib/build.ts", "lib/helper.ts"]);
  expect(scan.findings).toHaveLength(1);
  expect(scan.findings[0]).toMatchObject({ file: "lib/helper.ts", line: 3, pattern: 'child process: require("child_process")' });

  // A repository nested in the temporary folder, loading a file beside it.
  const nested = path.join(root, "repo");
  fs.mkdirSync(nested);
  fs.writeFileSync(path.join(nested, "model.ts"), '\nconst outside = require("../unused.ts");\n');
  const out = scanModelTree(path.join(nested, "model.ts"), nested);
  expect(out.findings).toEqual([
    { file: "model.ts", line: 2, column: 1, pattern: 'loads a file outside the repository ("../unused.ts")', code: 'const outside = require("../unused.ts");' },
  ]);
  fs.rmSync(root, { recursive: true, force: true });
});
