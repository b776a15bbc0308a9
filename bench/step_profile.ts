// npm run bench:profile — where one training step's time goes, kernel by kernel, for the
// bench models (bench/train_models.ts: mlp, cnn, transformer) trained by tscolab's own
// step on the default backend (bench/tfjs_epoch.ts, as `npm run bench` times them).
//
// After a few warm-up steps, every kernel registered for the active backend is re-registered
// through tfjs' public kernel registry wrapped in a timing shim, N steps run, and the stock
// configs go back. The wasm backend's kernels write their outputs before they return, so the
// wall time around kernelFunc is the kernel's own time. A kernel that runs another through the
// registry is charged its own time only (the inner one is timed by its own shim).
//
// Per model: the step's ms (with and without the shim, so its cost shows), a table of kernel →
// calls/step, ms/step, share of the step, GFLOP/s for matmuls and convolutions (with every
// shape they ran at), the time outside kernels (JS, the gradient tape, disposal), and kernels
// grouped into "native" (named by nativeKernelsInForce() of engine/backend/native, when that
// module exists) and "wasm" (all others).
//   node dist/bench/step_profile.js [--models mlp,cnn,transformer] [--steps 5] [--warmup 3] [--top 15] [--json]
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { z } from "zod";
import { ensureBackend } from "../engine/backend";
import { installFastKernels, patchesInForce } from "../engine/backend/kernels";
import { parseFlags } from "./argv";
import { makeTrainStep } from "./tfjs_epoch";
import { BENCH_MODEL_NAMES, BUILDERS, disposeBenchModel, MODEL_TITLES, TOKENS_PER_SAMPLE, trainFlopsPerSample, type BenchModelName } from "./train_models";

const options = z.object({
  models: z
    .string()
    .default(BENCH_MODEL_NAMES.join(","))
    .transform((s) => s.split(",").map((m) => z.enum(BENCH_MODEL_NAMES).parse(m.trim()))),
  steps: z.coerce.number().int().min(1).default(5),
  warmup: z.coerce.number().int().min(1).default(3),
  /** Batch of the MLP and the CNN, and of the transformer (sequences), as `npm run bench` uses. */
  batchSize: z.coerce.number().int().min(1).default(64),
  transformerBatch: z.coerce.number().int().min(1).default(32),
  /** Kernels listed per model; the rest are summed on one line. */
  top: z.coerce.number().int().min(1).default(15),
  /** Also list the input shapes of every other kernel (where the non-matmul time goes). */
  allShapes: z.coerce.boolean().default(false),
  json: z.coerce.boolean().default(false),
});

const USAGE = "--models mlp,cnn,transformer --steps N --warmup N --batch-size N --transformer-batch N --top N --all-shapes --json";

interface Timing {
  calls: number;
  ms: number;
  /** Floating-point operations, for the kernels whose count is known (matmuls and convolutions). */
  flops: number;
}

interface KernelTiming extends Timing {
  shapes: Map<string, Timing>;
}

const FLOP_KERNELS = new Set([
  "MatMul",
  "BatchMatMul",
  "_FusedMatMul",
  "TscolabFusedDense",
  "TscolabFusedDenseGrad",
  "TscolabFusedConv2D",
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropInput",
  "Conv2DBackpropFilter",
]);

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const dims = (t: TensorInfo) => (t.shape.length ? t.shape.join("×") : "scalar");

/** The work of one call of a matmul or convolution kernel, and the shapes it ran at. */
function flopsOf(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>, out: TensorInfo): { flops: number; shape: string } | null {
  if (name === "MatMul" || name === "BatchMatMul" || name === "_FusedMatMul") {
    const { a, b } = inputs;
    const tA = Boolean(attrs.transposeA);
    const tB = Boolean(attrs.transposeB);
    const [ar, ac] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const m = tA ? ac : ar;
    const k = tA ? ar : ac;
    const n = tB ? br : bc;
    const batch = Math.max(prod(a.shape.slice(0, -2)), prod(b.shape.slice(0, -2)));
    return { flops: 2 * batch * m * n * k, shape: `${dims(a)}${tA ? "ᵀ" : ""} · ${dims(b)}${tB ? "ᵀ" : ""}` };
  }
  // A Dense layer [rows, in] → [rows, out]: its forward product; backward, the weight gradient Xᵀ·dZ and, when asked, the input's dZ·Wᵀ.
  if (name === "TscolabFusedDense" || name === "TscolabFusedDenseGrad") {
    const { x } = inputs;
    const inSize = x.shape[x.shape.length - 1];
    const rows = prod(x.shape) / inSize;
    const units = name === "TscolabFusedDense" ? out.shape[out.shape.length - 1] : out.shape[1];
    const products = name === "TscolabFusedDenseGrad" && attrs.inputGrad ? 2 : 1;
    const what = name === "TscolabFusedDense" ? "" : products === 2 ? " (dW, db, dx)" : " (dW, db)";
    return { flops: 2 * rows * inSize * units * products, shape: `${rows}×${inSize} → ${units}${what}` };
  }
  // A convolution costs 2 · output positions · filters · (kernel area · input channels), NHWC.
  if (name === "Conv2D" || name === "FusedConv2D" || name === "TscolabFusedConv2D") {
    const { x, filter } = inputs;
    const perOutput = prod(filter.shape.slice(0, 3));
    return { flops: 2 * prod(out.shape) * perOutput, shape: `x ${dims(x)} ⊛ f ${dims(filter)} → ${dims(out)}` };
  }
  if (name === "Conv2DBackpropInput") {
    const { dy, filter } = inputs;
    return { flops: 2 * prod(dy.shape) * prod(filter.shape.slice(0, 3)), shape: `dy ${dims(dy)} ⊛ f ${dims(filter)} → dx ${dims(out)}` };
  }
  if (name === "Conv2DBackpropFilter") {
    const { x, dy } = inputs;
    const f = attrs.filterShape as number[];
    return { flops: 2 * prod(dy.shape) * prod(f.slice(0, 3)), shape: `x ${dims(x)}, dy ${dims(dy)} → df ${f.join("×")}` };
  }
  return null;
}

/**
 * Wraps every kernel registered for `backendName` in a timing shim; returns the timings and a
 * function that puts the original configs back. Registration goes through tfjs' public
 * registry, so whatever is registered (stock, our patches, native) is what gets timed.
 */
function installTimingShim(backendName: string, allShapes: boolean): { timings: Map<string, KernelTiming>; restore(): void } {
  const timings = new Map<string, KernelTiming>();
  // Time spent in kernels called from inside the running kernel, one entry per active call.
  const childMs: number[] = [];
  const originals = getKernelsForBackend(backendName);
  const wrap = (config: KernelConfig): KernelConfig => {
    const name = config.kernelName;
    const inner = config.kernelFunc;
    const timed: KernelFunc = (args) => {
      childMs.push(0);
      const t0 = performance.now();
      let out: ReturnType<KernelFunc> | undefined;
      try {
        out = inner(args);
        return out;
      } finally {
        const ms = performance.now() - t0;
        const self = ms - childMs.pop()!;
        if (childMs.length) childMs[childMs.length - 1] += ms;
        let t = timings.get(name);
        if (!t) timings.set(name, (t = { calls: 0, ms: 0, flops: 0, shapes: new Map() }));
        t.calls++;
        t.ms += self;
        const first = Array.isArray(out) ? out[0] : out;
        const inputs = args.inputs as Record<string, TensorInfo>;
        const work = FLOP_KERNELS.has(name)
          ? first
            ? flopsOf(name, inputs, (args.attrs ?? {}) as Record<string, unknown>, first as TensorInfo)
            : null
          : allShapes
            ? {
                flops: 0,
                shape: Object.entries(inputs)
                  .map(([k, v]) => `${k} ${dims(v)}`)
                  .join(", "),
              }
            : null;
        if (work) {
          t.flops += work.flops;
          let s = t.shapes.get(work.shape);
          if (!s) t.shapes.set(work.shape, (s = { calls: 0, ms: 0, flops: 0 }));
          s.calls++;
          s.ms += self;
          s.flops += work.flops;
        }
      }
    };
    return { ...config, kernelFunc: timed };
  };
  for (const config of originals) {
    unregisterKernel(config.kernelName, config.backendName);
    registerKernel(wrap(config));
  }
  return {
    timings,
    restore() {
      for (const config of originals) {
        unregisterKernel(config.kernelName, config.backendName);
        registerKernel(config);
      }
    },
  };
}

interface NativeKernels {
  /** Kernel names engine/backend/native routes to onnxruntime right now (empty when it is absent). */
  inForce(): Set<string>;
  note: string;
}

/** engine/backend/native's nativeKernelsInForce(), when that module exists and loads. */
async function nativeKernels(): Promise<NativeKernels> {
  const where = path.join(__dirname, "..", "engine", "backend", "native");
  const none = (note: string): NativeKernels => ({ inForce: () => new Set(), note: `${note}: every kernel counts as wasm` });
  let mod: { nativeKernelsInForce?: () => string[] };
  try {
    mod = (await import(where)) as typeof mod;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // Only the module itself missing means "absent"; a dependency of it missing is a load failure.
    if (err.code === "MODULE_NOT_FOUND" && err.message.split("\n")[0].includes(`'${where}'`)) return none("engine/backend/native absent");
    return none(`engine/backend/native failed to load (${err.message.split("\n")[0]})`);
  }
  const list = mod.nativeKernelsInForce;
  if (typeof list !== "function") return none("engine/backend/native exports no nativeKernelsInForce()");
  // Entries may be bare kernel names or labelled like the patches ("native:MatMul(…)").
  return { inForce: () => new Set(list().map((s) => /^(?:[\w-]+:)?(\w+)/.exec(s)?.[1] ?? s)), note: "engine/backend/native loaded" };
}

interface ModelProfile {
  model: BenchModelName;
  nativeKernels: string[];
  title: string;
  batchSize: number;
  steps: number;
  stepMs: number;
  stepMsUnwrapped: number;
  /** Page faults and system CPU time per step over the unwrapped steps: memory the process had to map again. */
  pageFaultsPerStep: number;
  systemMsPerStep: number;
  samplesPerSec: number;
  tokensPerSec: number;
  analyticGflops: number;
  kernelMs: number;
  outsideMs: number;
  groups: { native: number; wasm: number };
  kernels: {
    name: string;
    group: "native" | "wasm";
    callsPerStep: number;
    msPerStep: number;
    share: number;
    gflops: number | null;
    shapes: { shape: string; callsPerStep: number; msPerStep: number; gflops: number | null }[];
  }[];
}

async function profileModel(m: BenchModelName, batchSize: number, o: z.infer<typeof options>, nativeNow: NativeKernels): Promise<ModelProfile> {
  const backendName = tf.getBackend();
  const bm = BUILDERS[m](tf, batchSize, batchSize);
  const step = makeTrainStep(tf, bm, "tscolab");
  const { x, y } = bm.batches[0];
  const run = (n: number) => {
    const t0 = performance.now();
    let loss: tf.Scalar | null = null;
    for (let i = 0; i < n; i++) {
      loss?.dispose();
      loss = step(x, y, 0);
    }
    const value = loss!.dataSync()[0];
    loss!.dispose();
    if (!Number.isFinite(value)) throw new Error(`${m}: loss is ${value}`);
    return (performance.now() - t0) / n;
  };
  try {
    run(o.warmup);
    const native = nativeNow.inForce(); // after warm-up: kernels may be routed on first use
    const usageBefore = process.resourceUsage();
    const stepMsUnwrapped = run(o.steps);
    const usageAfter = process.resourceUsage();
    const shim = installTimingShim(backendName, o.allShapes);
    let stepMs: number;
    try {
      stepMs = run(o.steps);
    } finally {
      shim.restore();
    }
    const per = (v: number) => v / o.steps;
    const rows = [...shim.timings].map(([name, t]) => ({
      name,
      group: native.has(name) ? ("native" as const) : ("wasm" as const),
      callsPerStep: per(t.calls),
      msPerStep: per(t.ms),
      share: per(t.ms) / stepMs,
      gflops: t.flops ? t.flops / t.ms / 1e6 : null,
      shapes: [...t.shapes]
        .map(([shape, s]) => ({ shape, callsPerStep: per(s.calls), msPerStep: per(s.ms), gflops: s.flops ? s.flops / s.ms / 1e6 : null }))
        .sort((a, b) => b.msPerStep - a.msPerStep),
    }));
    rows.sort((a, b) => b.msPerStep - a.msPerStep);
    const kernelMs = rows.reduce((s, r) => s + r.msPerStep, 0);
    const group = (g: "native" | "wasm") => rows.filter((r) => r.group === g).reduce((s, r) => s + r.msPerStep, 0);
    const samplesPerSec = (batchSize * 1000) / stepMs;
    return {
      model: m,
      nativeKernels: [...native],
      title: MODEL_TITLES[m],
      batchSize,
      steps: o.steps,
      stepMs,
      stepMsUnwrapped,
      pageFaultsPerStep: (usageAfter.minorPageFault + usageAfter.majorPageFault - usageBefore.minorPageFault - usageBefore.majorPageFault) / o.steps,
      systemMsPerStep: (usageAfter.systemCPUTime - usageBefore.systemCPUTime) / 1000 / o.steps,
      samplesPerSec,
      tokensPerSec: samplesPerSec * TOKENS_PER_SAMPLE[m],
      analyticGflops: (samplesPerSec * trainFlopsPerSample(m)) / 1e9,
      kernelMs,
      outsideMs: stepMs - kernelMs,
      groups: { native: group("native"), wasm: group("wasm") },
      kernels: rows,
    };
  } finally {
    step.dispose();
    disposeBenchModel(bm);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fix = (x: number, d = 2) => x.toFixed(d);

function print(p: ModelProfile, top: number): void {
  const tokens = TOKENS_PER_SAMPLE[p.model] > 1 ? ` = ${Math.round(p.tokensPerSec)} tokens/s` : "";
  console.log(`\n== ${p.model}: ${p.title}, batch ${p.batchSize}, ${p.steps} timed steps ==`);
  if (p.nativeKernels.length) console.log(`native kernels in force: ${p.nativeKernels.join(", ")}`);
  console.log(
    `step ${fix(p.stepMs, 1)} ms with the timing shim (${fix(p.stepMsUnwrapped, 1)} ms without) = ${Math.round(p.samplesPerSec)} samples/s${tokens}; ` +
      `${fix(p.analyticGflops, 1)} GFLOP/s on the bench's analytic count`,
  );
  console.log(`without the shim: ${Math.round(p.pageFaultsPerStep)} page faults and ${fix(p.systemMsPerStep, 1)} ms of system time per step`);
  console.log("| kernel | group | calls/step | ms/step | share of step | GFLOP/s |");
  console.log("|---|---|---|---|---|---|");
  for (const k of p.kernels.slice(0, top))
    console.log(`| ${k.name} | ${k.group} | ${fix(k.callsPerStep, 1)} | ${fix(k.msPerStep)} | ${pct(k.share)} | ${k.gflops === null ? "" : fix(k.gflops, 1)} |`);
  const rest = p.kernels.slice(top);
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.msPerStep, 0);
    const calls = rest.reduce((s, k) => s + k.callsPerStep, 0);
    console.log(`| ${rest.length} other kernels | | ${fix(calls, 1)} | ${fix(ms)} | ${pct(ms / p.stepMs)} | |`);
  }
  console.log(`| outside kernels (JS, tape, disposal) | | | ${fix(p.outsideMs)} | ${pct(p.outsideMs / p.stepMs)} | |`);
  console.log(
    `groups: native ${fix(p.groups.native)} ms/step (${pct(p.groups.native / p.stepMs)}), wasm ${fix(p.groups.wasm)} ms/step (${pct(p.groups.wasm / p.stepMs)}), ` +
      `outside kernels ${fix(p.outsideMs)} ms/step (${pct(p.outsideMs / p.stepMs)})`,
  );
  // Every matmul and convolution; other kernels (--all-shapes) only among the top ones.
  const shaped = p.kernels.filter((k, i) => k.shapes.length && (FLOP_KERNELS.has(k.name) || i < top));
  if (!shaped.length) return;
  console.log("| kernel | shape | calls/step | ms/step | GFLOP/s |");
  console.log("|---|---|---|---|---|");
  for (const k of shaped)
    for (const s of k.shapes) console.log(`| ${k.name} | ${s.shape} | ${fix(s.callsPerStep, 1)} | ${fix(s.msPerStep)} | ${s.gflops === null ? "" : fix(s.gflops, 1)} |`);
}

async function main() {
  const o = parseFlags(process.argv.slice(2), options, USAGE);
  const chosen = await ensureBackend();
  await tf.setBackend(chosen.tfBackend);
  installFastKernels(chosen.tfBackend);
  const native = await nativeKernels();
  console.log(`backend ${chosen.tfBackend} (${chosen.name}); ${patchesInForce().length} tscolab patches; ${native.note}`);
  console.log(`${o.warmup} warm-up step(s), then ${o.steps} step(s) without and ${o.steps} with the timing shim, per model`);
  const profiles: ModelProfile[] = [];
  for (const m of o.models) {
    const p = await profileModel(m, m === "transformer" ? o.transformerBatch : o.batchSize, o, native);
    profiles.push(p);
    print(p, o.top);
  }
  if (o.json) console.log(JSON.stringify({ backend: chosen.tfBackend, patches: patchesInForce(), native: native.note, profiles }));
}

main().catch((e) => {
  console.error(`profile failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
