// Turns the collected facts into the report's checks: one finding per row,
// each with a status and, when something is wrong, the fix. Pure functions
// of their inputs, so every verdict can be tested without the machine that
// produces it.
import { BACKEND_PACKAGES, type CandidateReport } from "../backend";
import { CUDA_LIBRARIES, needsPtxJit, type GpuDevice } from "../backend/gpu";
import { NATIVE_OFF_BY_ENV } from "../backend/native";
import type { Check, CoreCopy, VerifyEnvReport } from "./report";
import { LOCKSTEP } from "./versions";

export interface Facts {
  versions: VerifyEnvReport["versions"];
  /** The kernel's tfjs-core version: the one every lockstep package must match. */
  coreVersion: string;
  copies: CoreCopy[];
  kernelDir: string;
  candidates: CandidateReport[];
  selected: CandidateReport | null;
  /** $TSCOLAB_BACKEND as given (null when unset or "auto"). */
  requested: string | null;
  gpu: VerifyEnvReport["gpu"];
  /** The device training would use when the GPU backend works (CUDA_VISIBLE_DEVICES honoured). */
  trainingDevice: GpuDevice | null;
  resources: VerifyEnvReport["resources"];
  /** tscolab's kernels training runs with on the selected backend. */
  patches: string[];
  native: VerifyEnvReport["backend"]["native"];
  /** TSCOLAB_FAST_KERNELS=0: stock tfjs kernels only. */
  fastKernelsOff: boolean;
}

const MIN_NODE_MAJOR = 20;
const LOW_MEMORY_MiB = 1024;
const LOW_DISK_MiB = 1024;

/** A sentence as a clause: no trailing full stop before "; ...". */
const clause = (s: string): string => s.replace(/[.\s]+$/, "");
const fmtGflops = (g: number | null): string => (g === null ? "n/a" : g >= 10 ? g.toFixed(0) : g.toFixed(2));

export function toolchainChecks(f: Facts): Check[] {
  const checks: Check[] = [];
  const major = Number(/^v?(\d+)/.exec(f.versions.node)?.[1] ?? 0);
  checks.push(
    major >= MIN_NODE_MAJOR
      ? { id: "node", status: "ok", message: `Node ${f.versions.node}` }
      : {
          id: "node",
          status: "fail",
          message: `Node ${f.versions.node} is too old: tscolab needs Node ${MIN_NODE_MAJOR} or newer`,
          fix: `switch to Node ${MIN_NODE_MAJOR}+ (for example \`nvm install ${MIN_NODE_MAJOR}\`)`,
        },
  );
  checks.push({ id: "npm", status: "ok", message: f.versions.npm ? `npm ${f.versions.npm}` : "npm not found next to node (only needed to install packages)" });
  for (const tool of ["typescript", "tslab"] as const) {
    const v = f.versions[tool];
    checks.push(
      v
        ? {
            id: tool,
            status: "ok",
            message: `${tool} ${v}${tool === "tslab" && f.versions.cellTypescript ? ` (type-checks cells with TypeScript ${f.versions.cellTypescript})` : ""}`,
          }
        : { id: tool, status: "fail", message: `${tool} is not installed where the kernel runs (${f.kernelDir})`, fix: `run \`npm install\` in ${f.kernelDir}` },
    );
  }
  return checks;
}

export function tfjsChecks(f: Facts): Check[] {
  const checks: Check[] = [];
  const offLine = Object.entries(f.versions.tensorflow).filter(([name, v]) => LOCKSTEP.includes(name) && v !== f.coreVersion);
  const listed = Object.entries(f.versions.tensorflow)
    .map(([n, v]) => `${n.replace("@tensorflow/", "")} ${v}`)
    .join(", ");
  checks.push(
    offLine.length === 0
      ? { id: "tfjs.versions", status: "ok", message: `@tensorflow packages in line at ${f.coreVersion}: ${listed}` }
      : {
          id: "tfjs.versions",
          status: "fail",
          message: `@tensorflow versions out of line with @tensorflow/tfjs-core ${f.coreVersion}: ${offLine.map(([n, v]) => `${n} ${v}`).join(", ")}`,
          fix: `use one version for every tfjs package: \`npm install ${offLine.map(([n]) => `${n}@${f.coreVersion}`).join(" ")}\` (verify_env never installs anything itself)`,
        },
  );
  const copies = f.copies;
  if (copies.length === 1) {
    checks.push({ id: "tfjs.core-copies", status: "ok", message: `one @tensorflow/tfjs-core (${copies[0].version}), shared by the kernel and notebook cells` });
  } else if (copies.length === 0) {
    checks.push({ id: "tfjs.core-copies", status: "fail", message: "no @tensorflow/tfjs-core found", fix: `run \`npm install\` in ${f.kernelDir}` });
  } else {
    const describe = (c: CoreCopy) => `${c.version} at ${c.path}${c.usedBy.length ? ` (used by the ${c.usedBy.join(" and ")})` : ""}`;
    const extra = copies.filter((c) => !c.usedBy.includes("kernel"));
    const kernel = copies.find((c) => c.usedBy.includes("kernel"));
    checks.push({
      id: "tfjs.core-copies",
      status: "fail",
      message: `${copies.length} copies of @tensorflow/tfjs-core: ${copies.map(describe).join("; ")}. Tensors and models from one copy do not work with the other's backends`,
      fix: `delete ${extra.map((c) => c.path).join(" and ")} so every import resolves the kernel's tfjs-core${kernel ? ` ${kernel.version}` : ""}, or pin every @tensorflow package to one version and run \`npm dedupe\``,
    });
  }
  return checks;
}

export function backendChecks(f: Facts): Check[] {
  const checks: Check[] = [];
  for (const c of f.candidates) {
    const id = `backend.${c.name}`;
    if (!c.installed) {
      checks.push({ id, status: "ok", message: `${c.name}: ${c.package} not installed (optional)` });
    } else if (c.error) {
      checks.push({ id, status: "warn", message: `${c.name}: ${c.error}`, fix: c.fix });
    } else if (c.gpuFallback) {
      checks.push({
        id,
        status: "warn",
        message: `${c.name}: ${c.package} ${c.version} loads and passes the smoke test (${fmtGflops(c.gflops)} GFLOP/s) but runs on the CPU: ${c.gpuFallback}`,
        fix: `make ${CUDA_LIBRARIES.join(" and ")} visible (CUDA 11.x + cuDNN 8, e.g. on LD_LIBRARY_PATH); tfjs-node-gpu 4.x cannot use CUDA 12`,
      });
    } else {
      checks.push({
        id,
        status: "ok",
        message: `${c.name}: ${c.package} ${c.version ?? ""} works, matMul smoke test passed, ${fmtGflops(c.gflops)} GFLOP/s${c.device === "gpu" ? " on the GPU" : ""}`,
      });
    }
  }
  const sel = f.selected;
  const order = f.candidates.map((c) => c.name).join(", ");
  if (f.requested && !f.candidates.some((c) => c.name === f.requested)) {
    checks.push({ id: "backend.selected", status: "fail", message: `TSCOLAB_BACKEND=${f.requested} is not a backend`, fix: `set TSCOLAB_BACKEND to one of ${order}, or unset it` });
  } else if (f.requested && !sel) {
    const c = f.candidates.find((x) => x.name === f.requested)!;
    const why = !c.installed ? `${c.package} is not installed` : (c.error ?? "it failed its probe");
    checks.push({
      id: "backend.selected",
      status: "fail",
      message: `TSCOLAB_BACKEND=${f.requested} but that backend cannot be used: ${why}`,
      fix: c.installed ? (c.fix ?? "unset TSCOLAB_BACKEND") : `unset TSCOLAB_BACKEND to train on the best usable backend, or install ${c.package}`,
    });
  } else if (!sel) {
    checks.push({
      id: "backend.selected",
      status: "fail",
      message: "no tfjs backend passes its probe: training cannot run",
      fix: `reinstall @tensorflow/tfjs with \`npm install\` in ${f.kernelDir}`,
    });
  } else if (sel.name === "cpu" && !f.requested) {
    const wasm = f.candidates.find((c) => c.name === "wasm");
    const ratio = wasm?.gflops && sel.gflops ? ` (${Math.round(wasm.gflops / sel.gflops)}× slower than wasm measured here)` : "";
    checks.push({
      id: "backend.selected",
      status: "warn",
      message: `training will use the plain-JavaScript cpu backend, ${fmtGflops(sel.gflops)} GFLOP/s${ratio}`,
      fix: wasm?.installed
        ? (wasm.fix ?? "repair @tensorflow/tfjs-backend-wasm")
        : `install @tensorflow/tfjs-backend-wasm@${f.coreVersion} (a pure WebAssembly package, nothing to compile)`,
    });
  } else {
    const via = f.requested ? ", as TSCOLAB_BACKEND requests" : "";
    checks.push({
      id: "backend.selected",
      status: "ok",
      message: `training will use ${sel.name} (${fmtGflops(sel.gflops)} GFLOP/s${sel.device === "gpu" ? " on the GPU" : ""}${via})`,
    });
  }
  if (sel) {
    const message = f.fastKernelsOff
      ? "stock tfjs kernels only (TSCOLAB_FAST_KERNELS=0)"
      : f.patches.length
        ? `${f.patches.length} tscolab kernels patched in for ${sel.name}: ${f.patches.map((p) => p.replace(/^[^:]*:/, "")).join(", ")}`
        : `stock tfjs kernels (tscolab patches none for ${sel.name})`;
    checks.push({ id: "backend.patches", status: "ok", message });
  }
  if (sel?.name === "wasm") checks.push(nativeCheck(f.native));
  return checks;
}

/** One line: which kernels run natively and how fast, or why none does (a warn: wasm still trains, only slower). */
function nativeCheck(n: Facts["native"]): Check {
  const speeds = n.speeds.map((s) => `${s.kernel} ${s.shape} ${s.gflops} GFLOP/s`).join(", ");
  if (n.on) return { id: "backend.native", status: "ok", message: `native kernels (${n.reason}) for large shapes of ${n.kernels.join(", ")}${speeds ? `: ${speeds}` : ""}` };
  const message = `native kernels off (${n.reason}); large matMuls and convolutions run on wasm`;
  // Turned off on purpose is fine; off because the binding is missing or broken costs speed, so it warns.
  if ((NATIVE_OFF_BY_ENV as readonly string[]).includes(n.reason)) return { id: "backend.native", status: "ok", message };
  const fix = n.reason.startsWith("TSCOLAB_NATIVE_THREADS=")
    ? "unset TSCOLAB_NATIVE_THREADS (every core) or set it to a whole number of threads"
    : "run `npm ci` to restore onnxruntime-node at the pinned version, or set TSCOLAB_NATIVE=0 to train on wasm alone";
  return { id: "backend.native", status: "warn", message, fix };
}

const describeDevice = (d: GpuDevice): string =>
  `GPU ${d.index}: ${d.name}, ${d.memoryMiB === null ? "memory n/a" : `${d.memoryMiB} MiB`}, driver ${d.driver}, compute ${d.computeCapability ?? "n/a"}, tier ${d.tier}`;

export function gpuChecks(f: Facts): Check[] {
  const checks: Check[] = [];
  const g = f.gpu;
  const smi = g.nvidiaSmi;
  switch (smi.status) {
    case "missing":
      checks.push({ id: "gpu.nvidia-smi", status: "ok", message: "no NVIDIA GPU: nvidia-smi is not on PATH" });
      break;
    case "failed":
      checks.push({
        id: "gpu.nvidia-smi",
        status: "warn",
        message: `${clause(smi.message)}; training will run on the CPU`,
        fix: "the NVIDIA driver is not working: on Colab restart the runtime (Runtime → Restart); elsewhere check `lsmod | grep nvidia` and install the driver that matches the running kernel",
      });
      break;
    case "garbled":
      checks.push({
        id: "gpu.nvidia-smi",
        status: "warn",
        message: `${clause(smi.message)}; GPUs unknown, training will run on the CPU`,
        fix: "run `nvidia-smi` by hand: a broken driver install or a wrapper script earlier on PATH prints this",
      });
      break;
    case "timeout":
      checks.push({
        id: "gpu.nvidia-smi",
        status: "warn",
        message: `${clause(smi.message)}; training will run on the CPU`,
        fix: "the driver is wedged: restart the runtime or reboot; `dmesg | grep -i xid` shows GPU faults",
      });
      break;
    case "ok":
      checks.push({
        id: "gpu.nvidia-smi",
        status: "ok",
        message: g.devices.map(describeDevice).join("; ") + (smi.computeCapQueried ? "" : " (driver too old to report compute capability)"),
      });
      break;
  }
  const gpuPackage = f.candidates.find((c) => c.name === "tensorflow-gpu");
  if (g.present || gpuPackage?.installed) {
    const missing = g.cudaLibraries.filter((l) => !l.found).map((l) => l.name);
    if (missing.length === 0) {
      checks.push({ id: "gpu.cuda-libraries", status: "ok", message: g.cudaLibraries.map((l) => `${l.name} at ${l.path}`).join(", ") });
    } else {
      const cuda12 = g.cuda12Only ? `; only a newer CUDA runtime is installed (${g.newerCudaRuntime}), and tfjs-node-gpu 4.x (libtensorflow 2.9) is built for CUDA 11` : "";
      checks.push({
        id: "gpu.cuda-libraries",
        status: "warn",
        message: `${missing.join(" and ")} not found: tfjs-node-gpu would silently fall back to the CPU${cuda12}`,
        fix: "install the CUDA 11.x runtime and cuDNN 8 libraries next to any CUDA 12 (they coexist) and put their folder on LD_LIBRARY_PATH",
      });
    }
  }
  for (const d of g.devices.filter((x) => needsPtxJit(x.computeCapability))) {
    checks.push({
      id: `gpu.ptx-jit.${d.index}`,
      status: "warn",
      message: `${d.name} (compute ${d.computeCapability}) is newer than the GPUs libtensorflow 2.9 was compiled for: the driver JIT-compiles its PTX on first use, which takes minutes and can fail`,
      fix: "set CUDA_CACHE_MAXSIZE=4294967296 so the JIT result is cached across runs, and expect a slow first epoch",
    });
  }
  if (g.present) {
    if (f.selected?.device === "gpu" && f.trainingDevice) {
      checks.push({ id: "gpu.usable", status: "ok", message: `training will run on GPU ${f.trainingDevice.index} (${f.trainingDevice.name}) through tensorflow-gpu` });
    } else {
      checks.push({
        id: "gpu.usable",
        status: "warn",
        message: `${g.devices.map((d) => d.name).join(", ")} detected, but training will run on the CPU (${f.selected?.name ?? "no backend"}): ${gpuUnusedReason(f)}`,
        fix: `to train on the GPU, install @tensorflow/tfjs-node-gpu@${f.coreVersion} where ${CUDA_LIBRARIES.join(" and ")} are present, then re-run %verify_env (it never installs anything itself)`,
      });
    }
  }
  return checks;
}

/** Why no backend drives the GPU, in one clause. */
export function gpuUnusedReason(f: Facts): string {
  const c = f.candidates.find((x) => x.name === "tensorflow-gpu");
  if (f.requested && f.requested !== "tensorflow-gpu") return `TSCOLAB_BACKEND=${f.requested} asks for another backend`;
  if (!c || !c.installed) return `${BACKEND_PACKAGES["tensorflow-gpu"]} is not installed, and no other tfjs backend can use an NVIDIA GPU`;
  if (c.error) return c.error;
  if (c.gpuFallback) return `${c.package} runs on the CPU: ${c.gpuFallback}`;
  return "the GPU backend is not the one selected";
}

export function resourceChecks(f: Facts): Check[] {
  const r = f.resources;
  const checks: Check[] = [{ id: "resources.cpu", status: "ok", message: `${r.cpuCores} CPU core${r.cpuCores === 1 ? "" : "s"} (${r.cpuModel})` }];
  checks.push(
    r.freeMemoryMiB < LOW_MEMORY_MiB
      ? {
          id: "resources.memory",
          status: "warn",
          message: `only ${r.freeMemoryMiB} MiB of ${r.memoryMiB} MiB memory free`,
          fix: "close other notebooks or use a smaller --batch-size",
        }
      : { id: "resources.memory", status: "ok", message: `${r.memoryMiB} MiB memory, ${r.freeMemoryMiB} MiB free` },
  );
  if (r.freeDiskMiB === null) {
    checks.push({
      id: "resources.disk",
      status: "warn",
      message: `cannot read the free space under ${r.driveRoot}`,
      fix: "check that the Drive root is on a mounted file system (%drive mount DIR)",
    });
  } else if (r.freeDiskMiB < LOW_DISK_MiB) {
    checks.push({
      id: "resources.disk",
      status: "warn",
      message: `only ${r.freeDiskMiB} MiB free under ${r.driveRoot}: checkpoints may not fit`,
      fix: "free space, or mount a larger Drive root with %drive mount DIR / --drive DIR",
    });
  } else {
    checks.push({ id: "resources.disk", status: "ok", message: `${r.freeDiskMiB} MiB free under ${r.driveRoot}` });
  }
  const wasmUsed = f.selected?.name === "wasm";
  checks.push(
    !r.wasmSimd && wasmUsed
      ? {
          id: "resources.wasm-simd",
          status: "warn",
          message: "WebAssembly SIMD is not available: the wasm backend runs several times slower",
          fix: `use a Node with WebAssembly SIMD (Node 16.4+; this is ${f.versions.node})`,
        }
      : {
          id: "resources.wasm-simd",
          status: "ok",
          message: `WebAssembly SIMD ${r.wasmSimd ? "available" : "not available"}, threads ${r.wasmThreads ? "available" : "not available"}`,
        },
  );
  return checks;
}
