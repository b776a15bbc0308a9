// node dist/bench/kernel_speed.js — each patched wasm kernel against stock
// tfjs-backend-wasm on the shapes of the bench models (train_models.ts), side by side
// (alternating stock/ours, median of N), plus the two matMul plans per shape
// (the evidence behind PACK_COST in wasm_matmul_2d.ts) and small batched
// matMuls (behind MIN_SLICE_MACS in wasm_batch_mat_mul.ts).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installFastKernels, uninstallFastKernels } from "../engine/backend/kernels";
import { choosePlan, wasmMatMul2d, type MatMulPlan } from "../engine/backend/kernels/wasm_matmul_2d";
import type { WasmBackendLike } from "../engine/backend/kernels/wasm_heap";

const REPEATS = Number(process.env.TSCOLAB_BENCH_REPEATS ?? 7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// wasm kernels run synchronously inside the op call, so the op's wall time is
// the kernel's; no dataSync (its copy-out would be timed too).
function timeOnce(f: () => tf.Tensor | tf.Tensor[]): number {
  const t0 = performance.now();
  const out = f();
  const ms = performance.now() - t0;
  tf.dispose(out);
  return ms;
}

/** Stock vs ours, alternating; null for stock when tfjs has no such kernel. */
function sideBySide(label: string, f: () => tf.Tensor | tf.Tensor[]) {
  const stock: number[] = [];
  const ours: number[] = [];
  let stockError: string | null = null;
  for (let r = 0; r <= REPEATS; r++) {
    for (const patched of r % 2 ? [true, false] : [false, true]) {
      if (patched) installFastKernels("wasm");
      else uninstallFastKernels("wasm");
      if (!patched && stockError) continue;
      try {
        const ms = timeOnce(f);
        if (r > 0) (patched ? ours : stock).push(ms);
      } catch (e) {
        if (patched) throw e;
        stockError = (e as Error).message.split("\n")[0];
      }
    }
  }
  installFastKernels("wasm");
  const s = stockError ? `fails (${stockError.slice(0, 50)})` : `${median(stock).toFixed(2)} ms`;
  const ratio = stockError ? "—" : `${(median(stock) / median(ours)).toFixed(1)}×`;
  console.log(`| ${label} | ${s} | ${median(ours).toFixed(2)} ms | ${ratio} |`);
}

function planTable(backend: WasmBackendLike) {
  console.log("\nmatMul plans (bit-identical results; ms, median):");
  console.log("| m×k×n | transposes | normal | swapped | chosen |");
  console.log("|---|---|---|---|---|");
  const cases: [number, number, number, boolean, boolean][] = [
    [64, 2056, 1024, false, false],
    [2056, 64, 1024, true, false],
    [64, 1024, 2056, false, true],
    [64, 1024, 512, false, false],
    [1024, 64, 512, true, false],
    [64, 512, 1024, false, true],
    [288, 7744, 64, true, false],
  ];
  for (const [m, k, n, ta, tb] of cases) {
    const times: Record<"normal" | "swapped", number[]> = { normal: [], swapped: [] };
    for (let r = 0; r <= REPEATS; r++) {
      for (const plan of (r % 2 ? ["normal", "swapped"] : ["swapped", "normal"]) as MatMulPlan[]) {
        // Fresh operands every call, as in training (weights change every step).
        const a = tf.randomNormal(ta ? [k, m] : [m, k]);
        const b = tf.randomNormal(tb ? [n, k] : [k, n]);
        const t0 = performance.now();
        const out = wasmMatMul2d(backend, a, b, ta, tb, plan);
        const ms = performance.now() - t0;
        backend.disposeData(out.dataId);
        tf.dispose([a, b]);
        if (r > 0) times[plan as "normal" | "swapped"].push(ms);
      }
    }
    const t = (ta ? "A" : "") + (tb ? "B" : "") || "none";
    console.log(`| ${m}×${k}×${n} | ${t} | ${median(times.normal).toFixed(2)} | ${median(times.swapped).toFixed(2)} | ${choosePlan(m, k, n, ta, tb)} |`);
  }
}

async function main() {
  await tf.setBackend("wasm");
  await tf.ready();
  console.log(`wasm kernels, stock vs tscolab, median of ${REPEATS} alternating runs (ms)`);
  console.log("| kernel and shape | stock wasm | tscolab | speed-up |");
  console.log("|---|---|---|---|");
  const r = (shape: number[]) => tf.randomNormal(shape);
  const x1 = r([64, 2056]);
  const w1 = r([2056, 1024]);
  const dy1 = r([64, 1024]);
  sideBySide("matMul 64×2056 · 2056×1024 (Dense forward, fresh weights)", () => tf.matMul(x1, tf.add(w1, 0)));
  sideBySide("matMul dy·Wᵀ 64×1024 · (2056×1024)ᵀ (Dense dX)", () => tf.matMul(dy1, w1, false, true));
  sideBySide("matMul xᵀ·dy (64×2056)ᵀ · 64×1024 (Dense dW)", () => tf.matMul(x1, dy1, true, false));
  for (const [batch, m, k, n] of [
    [8, 16, 16, 16],
    [8, 32, 32, 32],
    [8, 48, 48, 48],
    [4, 128, 64, 128],
  ]) {
    const a = r([batch, m, k]);
    const b = r([batch, n, k]);
    sideBySide(`batched matMul ${batch}×(${m}×${k} · (${n}×${k})ᵀ)`, () => tf.matMul(a, b, false, true));
  }
  const x2 = r([64, 13, 13, 32]);
  const dy2 = r([64, 11, 11, 64]);
  const f2 = r([3, 3, 32, 64]);
  sideBySide(
    "Conv2DBackpropFilter x 64×13×13×32, dy 64×11×11×64",
    () => tf.engine().runKernel("Conv2DBackpropFilter", { x: x2, dy: dy2 }, { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [3, 3, 32, 64] }) as tf.Tensor,
  );
  sideBySide("Conv2DBackpropInput dy 64×11×11×64, W 3×3×32×64", () => tf.conv2dTranspose(dy2 as tf.Tensor4D, f2 as tf.Tensor4D, [64, 13, 13, 32], 1, "valid"));
  const x3 = tf.relu(r([64, 26, 26, 32])) as tf.Tensor4D;
  const y3 = tf.maxPool(x3, 2, 2, "valid");
  const dy3 = r(y3.shape);
  sideBySide(
    "MaxPoolGrad 64×26×26×32, 2×2/2",
    () => tf.engine().runKernel("MaxPoolGrad", { dy: dy3, input: x3, output: y3 }, { filterSize: 2, strides: 2, pad: "valid" }) as tf.Tensor,
  );
  sideBySide("Cast float32→float32 64×26×26×32 (relu gradient)", () => tf.cast(x3, "float32"));
  planTable(tf.backend() as unknown as WasmBackendLike);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
