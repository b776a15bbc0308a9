// node dist/bench/conv_forward.js — the forward convolution of the bench CNN's
// layers (train_models.ts, batch 64): stock XNNPACK against im2col + one
// native GEMM (kernels/conv2d.ts), alternating, median of N; the evidence
// behind NATIVE_CONV_MIN_DEPTH. Also lists the kernels one training step and
// one predict of the CNN run, to show which convolution kernels a Conv2D
// layer's forward hits.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installFastKernels } from "../engine/backend/kernels";
import { nativeConv2d } from "../engine/backend/kernels/conv2d";
import { callStock } from "../engine/backend/kernels/stock";
import type { WasmBackendLike } from "../engine/backend/kernels/wasm_heap";
import { prepareNativeKernels } from "../engine/backend/native";
import { buildCnn } from "./train_models";

const REPEATS = Number(process.env.TSCOLAB_BENCH_REPEATS ?? 15);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const LAYERS = [
  { label: "conv32 3×3, x 64×28×28×1", x: [64, 28, 28, 1], f: [3, 3, 1, 32] },
  { label: "conv64 3×3, x 64×13×13×32", x: [64, 13, 13, 32], f: [3, 3, 32, 64] },
];

type Path = "stock" | "native";

/** Median ms per call of one kernel on both paths; a fresh filter every call, as in training (XNNPACK caches per filter). */
function timeKernel(backend: WasmBackendLike, kernel: "Conv2D" | "FusedConv2D", xShape: number[], fShape: number[]): Record<Path, number> {
  const x = tf.randomNormal(xShape);
  const f = tf.randomNormal(fShape);
  const bias = tf.randomNormal([fShape[3]]);
  const fused = kernel === "FusedConv2D";
  const attrs = { strides: 1, pad: "valid" as const, dataFormat: "NHWC" as const, dilations: 1, ...(fused ? { activation: "relu" } : {}) };
  const times: Record<Path, number[]> = { stock: [], native: [] };
  for (let r = 0; r <= REPEATS; r++) {
    for (const path of (r % 2 ? ["stock", "native"] : ["native", "stock"]) as Path[]) {
      const filter = tf.add(f, 0);
      const inputs = fused ? { x, filter, bias } : { x, filter };
      const t0 = performance.now();
      const out = path === "stock" ? callStock(kernel, "wasm", inputs, backend, attrs) : nativeConv2d(backend, x, filter, attrs, fused ? bias : undefined, 1);
      const ms = performance.now() - t0;
      if (!out) throw new Error(`${kernel} ${xShape}: the native path declined (is native on?)`);
      backend.disposeData(out.dataId);
      filter.dispose();
      if (r > 0) times[path].push(ms);
    }
  }
  tf.dispose([x, f, bias]);
  return { stock: median(times.stock), native: median(times.native) };
}

function kernelsOf(what: string, profile: { kernelNames: string[] }) {
  const conv = profile.kernelNames.filter((k) => /conv|matmul/i.test(k) && !k.endsWith("__op"));
  console.log(`${what}: ${conv.join(", ")}`);
}

async function main() {
  await tf.setBackend("wasm");
  await tf.ready();
  installFastKernels("wasm");
  const native = await prepareNativeKernels();
  if (!native.on) throw new Error(`native kernels are off: ${native.reason}`);
  const backend = tf.backend() as unknown as WasmBackendLike;

  const cnn = buildCnn(tf, 64, 64);
  const { x, y } = cnn.batches[0];
  const optimizer = tf.train.adam();
  kernelsOf("training step (conv/matMul kernels)", await tf.profile(() => optimizer.minimize(() => cnn.loss(cnn.model.apply(x) as tf.Tensor, y)) ?? []));
  kernelsOf("predict (conv/matMul kernels)", await tf.profile(() => cnn.model.predict(x) as tf.Tensor));

  console.log(`\nforward convolution, stock XNNPACK vs im2col + native GEMM, ms per call, median of ${REPEATS} alternating runs`);
  console.log("| layer | kernel | stock wasm | im2col+native | speed-up |");
  console.log("|---|---|---|---|---|");
  for (const l of LAYERS) {
    for (const kernel of ["Conv2D", "FusedConv2D"] as const) {
      const t = timeKernel(backend, kernel, l.x, l.f);
      const name = kernel === "Conv2D" ? "Conv2D (training)" : "FusedConv2D +bias+relu (predict)";
      console.log(`| ${l.label} | ${name} | ${t.stock.toFixed(2)} | ${t.native.toFixed(2)} | ${(t.stock / t.native).toFixed(2)}× |`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
