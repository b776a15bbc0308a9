// verifyEnv(): the zero-install environment check behind %verify_env,
// `tscolab verify-env` and the TypeScript API. It only reads files, runs
// nvidia-smi and probes backends (native ones in child processes); it never
// installs, downloads or changes the active tfjs backend.
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import { TscolabError } from "../errors";
import { backendName, kernelModulesRoot, TFJS_BACKEND, nativeProbeTimeoutMs, probeCandidates, selectBackend, type CandidateReport } from "../backend";
import { resolveDriveRoot } from "../store/drive_root";
import { detectGpus, findCudaLibraries, trainingGpu } from "../backend/gpu";
import { patchesFor } from "../backend/kernels";
import { describeNativeRuntime, NATIVE_KERNEL_NAMES, nativeOffByEnv, probeNativeKernels } from "../backend/native";
import { PROFILES, profileForDevice, type ProfileName } from "../backend/profile";
import { backendChecks, gpuChecks, resourceChecks, tfjsChecks, toolchainChecks, type Facts } from "./checks";
import { overallStatus, verifyEnvReport, type VerifyEnvReport } from "./report";
import { collectResources } from "./resources";
import { coreCopies, nodeModulesChain, npmVersion, resolvedVersion, tensorflowPackages } from "./versions";

export const verifyEnvOptions = z.object({
  /** Drive root whose free disk is checked (else the Drive root rule's: %drive mount, $TSCOLAB_DRIVE, ~/tscolab-drive). */
  drive: z.string().optional(),
  /** The notebook's folder: where cells resolve imports; defaults to the process's cwd. */
  cwd: z.string().optional(),
  /** Environment to read (PATH for nvidia-smi, TSCOLAB_BACKEND, CUDA_VISIBLE_DEVICES). */
  env: z.record(z.string(), z.string().optional()).optional(),
  /** Extra folders to resolve backend packages from (tests, unusual layouts). */
  resolveFrom: z.array(z.string()).optional(),
  /** The only folders searched for CUDA libraries (no linker cache): tests, unusual layouts. */
  cudaDirs: z.array(z.string()).optional(),
  /** Child-process timeout per native binding; default $TSCOLAB_PROBE_TIMEOUT seconds, else 30 s. */
  nativeTimeoutMs: z.number().int().positive().optional(),
  gpuTimeoutMs: z.number().int().positive().default(5_000),
  /** Milliseconds spent measuring GFLOP/s per backend. */
  budgetMs: z.number().int().positive().default(60),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
});
export type VerifyEnvOptions = z.input<typeof verifyEnvOptions>;

/** Runs every check and returns the report. Never throws for a broken environment; it reports it. */
export async function verifyEnv(options: VerifyEnvOptions = {}): Promise<VerifyEnvReport> {
  const o = verifyEnvOptions.parse(options);
  const started = Date.now();
  const env = (o.env ?? process.env) as NodeJS.ProcessEnv;
  const cwd = path.resolve(o.cwd ?? process.cwd());
  const driveRoot = resolveDriveRoot(o.drive, cwd);
  const requestedRaw = env.TSCOLAB_BACKEND?.trim();
  const requested = requestedRaw && requestedRaw !== "auto" ? requestedRaw : null;

  // Child processes first, so they run while this process does its own work.
  const gpuRun = detectGpus({ env, timeoutMs: o.gpuTimeoutMs, signal: o.signal });
  const candidateRun = probeCandidates({
    resolveFrom: o.resolveFrom,
    cwd,
    nativeTimeoutMs: o.nativeTimeoutMs ?? nativeProbeTimeoutMs(env),
    budgetMs: o.budgetMs,
    signal: o.signal,
  });
  // A fresh probe, not the cached verdict training uses: this is where a user looks when native is off.
  const nativeOff = nativeOffByEnv(env);
  const nativeRun = nativeOff ? null : probeNativeKernels({ fresh: true, timeoutMs: o.nativeTimeoutMs ?? nativeProbeTimeoutMs(env), budgetMs: 240, signal: o.signal, env });

  const kernelDir = kernelModulesRoot();
  const coreVersion = resolvedVersion("@tensorflow/tfjs-core", kernelDir)?.version ?? tf.version_core;
  const tslab = resolvedVersion("tslab", kernelDir);
  const versions: VerifyEnvReport["versions"] = {
    node: process.version,
    npm: npmVersion(),
    typescript: resolvedVersion("typescript", kernelDir)?.version ?? null,
    tslab: tslab?.version ?? null,
    cellTypescript: tslab ? (resolvedVersion("@tslab/typescript-for-tslab", tslab.dir)?.version ?? null) : null,
    tensorflow: tensorflowPackages([...nodeModulesChain(kernelDir), ...nodeModulesChain(cwd), ...(o.resolveFrom ?? []).flatMap(nodeModulesChain)]),
  };
  const copies = coreCopies({ kernelDir, notebookDir: cwd });
  const cuda = findCudaLibraries({ dirs: o.cudaDirs, ldconfig: !o.cudaDirs, env });
  const resources = collectResources(driveRoot);

  const [gpuFound, { reports }, nativeProbe] = await Promise.all([gpuRun, candidateRun, nativeRun]);
  // Interrupted: the children are already killed; say so in one line, no half report.
  if (o.signal?.aborted) throw new TscolabError("verify_env was interrupted before it finished (it changes nothing, so just run it again)");

  const selected = pickSelected(reports, requested);
  const gpu: VerifyEnvReport["gpu"] = { ...gpuFound, cudaLibraries: cuda.libraries, cuda12Only: cuda.cuda12Only, newerCudaRuntime: cuda.newerCudaRuntime };
  const trainingDevice = selected?.device === "gpu" ? trainingGpu(gpuFound, env) : null;
  // The patches training runs with on the selected backend: in force from the first %train (or tfjs import) on, reported before it too.
  const patches = selected ? patchesFor(TFJS_BACKEND[selected.name], env) : [];
  const onWasm = selected?.name === "wasm";
  const native: VerifyEnvReport["backend"]["native"] = {
    on: onWasm && !!nativeProbe?.ok,
    reason: !nativeProbe
      ? (nativeOff ?? "off")
      : !nativeProbe.ok
        ? (nativeProbe.error ?? "the probe failed")
        : onWasm
          ? describeNativeRuntime(nativeProbe.version, nativeProbe.threads, nativeProbe.via)
          : `not used: training runs on ${selected?.name ?? "no backend"}, native kernels serve wasm`,
    version: nativeProbe?.version ?? null,
    kernels: onWasm && nativeProbe?.ok ? [...NATIVE_KERNEL_NAMES] : [],
    speeds: nativeProbe?.speeds ?? [],
    threads: nativeProbe?.ok ? nativeProbe.threads : null,
  };
  const facts: Facts = {
    versions,
    coreVersion,
    copies,
    kernelDir,
    candidates: reports,
    selected,
    requested,
    gpu,
    trainingDevice,
    resources,
    patches,
    native,
    fastKernelsOff: env.TSCOLAB_FAST_KERNELS === "0",
  };
  const checks = [...toolchainChecks(facts), ...tfjsChecks(facts), ...backendChecks(facts), ...gpuChecks(facts), ...resourceChecks(facts)];
  const profile = chooseProfile(facts);
  checks.push({ id: "profile", status: "ok", message: `profile ${profile.name}: ${profile.reason}` });

  return verifyEnvReport.parse({
    status: overallStatus(checks),
    versions,
    tfjsCore: { copies },
    backend: { selected: selected?.name ?? null, active: (tf.engine().backendName as string | null) ?? null, requested, patches, native, candidates: reports },
    gpu,
    resources,
    profile: { ...profile, settings: PROFILES[profile.name] },
    checks,
    elapsedMs: Date.now() - started,
  });
}

/** What training will use: the requested backend if it works, else (no request) the best usable one. */
function pickSelected(reports: CandidateReport[], requested: string | null): CandidateReport | null {
  if (requested) {
    const name = backendName.safeParse(requested);
    if (!name.success) return null;
    const c = reports.find((r) => r.name === name.data);
    return c && c.loadable && c.smoke ? c : null;
  }
  return selectBackend(reports) ?? null;
}

/** The profile follows the device training will really use (not merely a GPU that is present). */
export function chooseProfile(f: Facts): { name: ProfileName; reason: string } {
  return profileForDevice({
    backend: f.selected?.name ?? null,
    device: f.selected?.device ?? null,
    gflops: f.selected?.gflops,
    trainingGpu: f.trainingDevice,
    detectedGpus: f.gpu.devices,
  });
}
