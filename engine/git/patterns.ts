// What the scanner of fetched model code looks for (child processes, eval of
// strings, network, file-system writes). A model file builds layers;
// none of these belong in one, so each is a finding the user must --trust.
// Maps, not object literals: a name like "constructor" must not hit Object.prototype.

/** Node modules whose mere import is a finding, by family. */
export const MODULE_FAMILIES = new Map<string, string>(
  Object.entries({
    child_process: "child process",
    worker_threads: "child process",
    cluster: "child process",
    vm: "code evaluation",
    module: "code loading",
    repl: "code evaluation",
    inspector: "code evaluation",
    v8: "code evaluation",
    wasi: "code loading",
    http: "network",
    https: "network",
    http2: "network",
    net: "network",
    dgram: "network",
    tls: "network",
    dns: "network",
    undici: "network",
    ws: "network",
    "node-fetch": "network",
    "cross-fetch": "network",
    "isomorphic-fetch": "network",
    axios: "network",
    got: "network",
    request: "network",
    superagent: "network",
  }),
);

/**
 * Modules a model file may load without a finding: tfjs (it gets the kernel's
 * own instance) and Node modules that neither run code, reach the network nor
 * write. Any other package is a finding: it is not part of the repository,
 * so the scan never saw its code (it would load from whatever node_modules
 * lies above the checkout).
 */
export const SAFE_MODULES = new Set([
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-layers",
  "@tensorflow/tfjs-data",
  "@tensorflow/tfjs-backend-cpu",
  "@tensorflow/tfjs-backend-wasm",
  "path",
  "util",
  "assert",
  "events",
  "url",
  "buffer",
  "string_decoder",
  "querystring",
  "os",
  "crypto",
  "zlib",
  "stream",
  "timers",
  "perf_hooks",
  "fs",
  "fs/promises",
  "path/posix",
  "path/win32",
  "util/types",
  "assert/strict",
  "stream/promises",
  "timers/promises",
]);

/** Modules whose write functions are findings (reading is fine). */
export const FS_MODULES = new Set(["fs", "fs/promises", "fs-extra", "graceful-fs"]);

/** File-system calls that write, delete, move or change permissions. */
export const FS_WRITE_NAMES = new Set([
  "writeFile",
  "writeFileSync",
  "appendFile",
  "appendFileSync",
  "createWriteStream",
  "rm",
  "rmSync",
  "rmdir",
  "rmdirSync",
  "unlink",
  "unlinkSync",
  "rename",
  "renameSync",
  "mkdir",
  "mkdirSync",
  "mkdtemp",
  "mkdtempSync",
  "copyFile",
  "copyFileSync",
  "cp",
  "cpSync",
  "chmod",
  "chmodSync",
  "lchmod",
  "lchmodSync",
  "fchmod",
  "fchmodSync",
  "chown",
  "chownSync",
  "lchown",
  "lchownSync",
  "fchown",
  "fchownSync",
  "symlink",
  "symlinkSync",
  "link",
  "linkSync",
  "truncate",
  "truncateSync",
  "ftruncate",
  "ftruncateSync",
  "utimes",
  "utimesSync",
  "lutimes",
  "lutimesSync",
  "futimes",
  "futimesSync",
  "writeSync",
  "writev",
  "writevSync",
  "outputFile",
  "outputFileSync",
  "outputJson",
  "outputJsonSync",
  "writeJson",
  "writeJsonSync",
  "remove",
  "removeSync",
  "move",
  "moveSync",
  "emptyDir",
  "emptyDirSync",
  "ensureFile",
  "ensureFileSync",
  "ensureDir",
  "ensureDirSync",
]);

/** Names that are only writes when called on an fs module (`fs.open(f, "w")`, `fs.write`). */
export const FS_MEMBER_ONLY_WRITES = new Set(["open", "openSync", "write", "promises"]);

/** Globals that reach the network. */
export const NETWORK_GLOBALS = new Set(["fetch", "WebSocket", "XMLHttpRequest", "EventSource"]);

/** tfjs calls that download (http handlers) or write files (tfjs-node's file:// handler). */
export const TFJS_IO_NAMES = new Map<string, string>(
  Object.entries({
    loadLayersModel: "network: tfjs model download",
    loadGraphModel: "network: tfjs model download",
    browserHTTPRequest: "network: tfjs http handler",
    http: "network: tfjs http handler",
    fileSystem: "fs write: tfjs file handler",
  }),
);

/** `process.<name>` members that load native code or reach other processes. */
export const PROCESS_MEMBERS = new Map<string, string>(
  Object.entries({
    binding: "process.binding",
    _linkedBinding: "process.binding",
    dlopen: "process.dlopen",
    mainModule: "process.mainModule",
    kill: "process.kill",
  }),
);

/** Identifiers naming the global object: computed access on them can reach anything. */
export const GLOBAL_OBJECTS = new Set(["globalThis", "global", "window", "self", "process", "require", "module"]);

/** `node:fs/promises` → `fs/promises`; `@scope/pkg/x` → `@scope/pkg`; `ws/lib` → `ws`. */
export function moduleBase(spec: string): { bare: string; pkg: string } {
  const bare = spec.replace(/^node:/, "");
  const parts = bare.split("/");
  const pkg = bare.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return { bare, pkg };
}
