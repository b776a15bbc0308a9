// onnxruntime's C API, called through koffi (an FFI whose npm package ships
// prebuilt binaries), on the library inside onnxruntime-node. It does the one
// thing the package's binding cannot: bind an output to memory the caller
// owns. The binding lets onnxruntime write into its own buffer, copies that
// into the caller's tensor, and copies it again into a fresh ArrayBuffer it
// returns. Here every output is a tensor over the wasm heap where tfjs
// allocated it, and onnxruntime writes the product there. On a 2048×256·256×1024
// product (an 8 MiB output) that is 5.6 against 6.8 ms a call, with the same bits.
//
// The C API is a table of function pointers; onnxruntime only ever appends to
// it, so an index stays valid from the version it appeared in. The indices
// below are those of onnxruntime's header (checked against 1.30.0, the pinned
// version; the library's own version string is compared before any is called).
import path from "node:path";
import type { NativeSession, NativeTensor, OrtRuntime } from "./ort_runtime";

/** Positions in the OrtApi table (onnxruntime_c_api.h). */
const API = {
  GetErrorMessage: 2,
  CreateEnv: 3,
  CreateSessionFromArray: 8,
  Run: 9,
  CreateSessionOptions: 10,
  SetIntraOpNumThreads: 24,
  CreateTensorWithDataAsOrtValue: 49,
  CreateCpuMemoryInfo: 69,
  ReleaseStatus: 93,
  ReleaseSession: 95,
  ReleaseValue: 96,
  ReleaseSessionOptions: 100,
  AddSessionConfigEntry: 130,
} as const;

/** The oldest OrtApi version with every entry above (AddSessionConfigEntry came last). */
const API_VERSION = 22;

const ORT_LOGGING_LEVEL_WARNING = 2;
const ORT_ARENA_ALLOCATOR = 1;
const ORT_MEM_TYPE_DEFAULT = 0;
const ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT = 1;

type Fn = (...args: unknown[]) => unknown;

interface Koffi {
  load(path: string): { func(signature: string): Fn };
  decode(pointer: unknown, type: unknown, length?: number): unknown;
  proto(signature: string): unknown;
}

const loadedLibraries: unknown[] = [];

/**
 * The C API of the onnxruntime library in `packageDir` as an OrtRuntime, or throws why it cannot be
 * used (koffi missing, no library for this platform, another version than `version`).
 */
export function loadCApiRuntime(packageDir: string, version: string, threads: number): OrtRuntime {
  const koffi = require("koffi") as Koffi;
  const libraryPath = path.join(packageDir, "bin", "napi-v6", process.platform, process.arch, process.platform === "linux" ? "libonnxruntime.so.1" : "libonnxruntime.dylib");
  // Kept for the life of the process: koffi closes a library whose handle is garbage-collected,
  // which would unmap every function and session below.
  const lib = koffi.load(libraryPath);
  loadedLibraries.push(lib);
  const apiBase = lib.func("void *OrtGetApiBase()")();
  const [getApi, getVersionString] = koffi.decode(apiBase, "void *", 2) as unknown[];
  const libraryVersion = (koffi.decode(getVersionString, koffi.proto("const char *GetVersionString()")) as Fn)() as string;
  if (libraryVersion !== version) throw new Error(`the onnxruntime library is ${libraryVersion}, not ${version}`);
  const table = (koffi.decode(getApi, koffi.proto("void *GetApi(uint32_t version)")) as Fn)(API_VERSION);
  if (!table) throw new Error(`the onnxruntime library has no C API version ${API_VERSION}`);
  const entries = koffi.decode(table, "void *", API.AddSessionConfigEntry + 1) as unknown[];
  const fn = (index: number, signature: string) => koffi.decode(entries[index], koffi.proto(signature)) as Fn;

  const getErrorMessage = fn(API.GetErrorMessage, "const char *GetErrorMessage(void *status)");
  const releaseStatus = fn(API.ReleaseStatus, "void ReleaseStatus(void *status)");
  const check = (status: unknown, what: string) => {
    if (!status) return;
    const message = getErrorMessage(status) as string;
    releaseStatus(status);
    throw new Error(`onnxruntime ${what}: ${message}`);
  };
  const createEnv = fn(API.CreateEnv, "void *CreateEnv(int level, const char *logid, _Out_ void **out)");
  const createSessionOptions = fn(API.CreateSessionOptions, "void *CreateSessionOptions(_Out_ void **out)");
  const setIntraOpNumThreads = fn(API.SetIntraOpNumThreads, "void *SetIntraOpNumThreads(void *options, int threads)");
  const addSessionConfigEntry = fn(API.AddSessionConfigEntry, "void *AddSessionConfigEntry(void *options, const char *key, const char *value)");
  const releaseSessionOptions = fn(API.ReleaseSessionOptions, "void ReleaseSessionOptions(void *options)");
  const createSessionFromArray = fn(API.CreateSessionFromArray, "void *CreateSessionFromArray(void *env, const void *model, size_t length, void *options, _Out_ void **out)");
  const releaseSession = fn(API.ReleaseSession, "void ReleaseSession(void *session)");
  const createCpuMemoryInfo = fn(API.CreateCpuMemoryInfo, "void *CreateCpuMemoryInfo(int type, int memType, _Out_ void **out)");
  const createTensor = fn(
    API.CreateTensorWithDataAsOrtValue,
    "void *CreateTensorWithDataAsOrtValue(void *info, void *data, size_t length, const int64_t *shape, size_t rank, int type, _Out_ void **out)",
  );
  const releaseValue = fn(API.ReleaseValue, "void ReleaseValue(void *value)");
  const run = fn(
    API.Run,
    "void *Run(void *session, void *runOptions, const char **inputNames, void **inputs, size_t inputCount, const char **outputNames, size_t outputCount, void **outputs)",
  );

  const out: unknown[] = [null];
  check(createEnv(ORT_LOGGING_LEVEL_WARNING, "tscolab", out), "CreateEnv");
  const env = out[0];
  check(createCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, out), "CreateCpuMemoryInfo");
  const cpu = out[0];

  /** An OrtValue over `t.data` itself (no copy): inputs are read there and outputs written there. */
  const value = (t: NativeTensor) => {
    check(createTensor(cpu, t.data, t.data.byteLength, t.dims, t.dims.length, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, out), `tensor ${t.name}`);
    return out[0];
  };

  return {
    version: libraryVersion,
    packageDir,
    bindingPath: libraryPath,
    threads,
    via: "C API",
    open(model: Uint8Array): NativeSession {
      check(createSessionOptions(out), "CreateSessionOptions");
      const options = out[0];
      try {
        check(setIntraOpNumThreads(options, threads), "SetIntraOpNumThreads");
        // The pool's threads sleep between calls: a spinning one would take the core the wasm kernels run on.
        check(addSessionConfigEntry(options, "session.intra_op.allow_spinning", "0"), "AddSessionConfigEntry");
        check(createSessionFromArray(env, model, model.byteLength, options, out), "CreateSessionFromArray");
      } finally {
        releaseSessionOptions(options);
      }
      const session = out[0];
      return {
        run(feeds, fetches) {
          const values: unknown[] = [];
          try {
            for (const t of [...feeds, ...fetches]) values.push(value(t));
            const inputs = values.slice(0, feeds.length);
            const outputs = values.slice(feeds.length);
            check(
              run(
                session,
                null,
                feeds.map((f) => f.name),
                inputs,
                feeds.length,
                fetches.map((f) => f.name),
                fetches.length,
                outputs,
              ),
              "Run",
            );
          } finally {
            for (const v of values) releaseValue(v);
          }
        },
        dispose: () => releaseSession(session),
      };
    },
  };
}
