// One Adam/AdamW update of one variable as ONE kernel instead of ~13 tfjs ops
// (each of which allocates and streams the whole tensor through memory).
//
// The arithmetic replays the op-by-op float32 sequence of
// engine/train/optimizers.ts exactly: every intermediate is rounded to float32
// with Math.fround (an f64 op on f32 inputs rounded once equals the f32 op,
// sqrt included), constants are rounded the way tfjs rounds scalars. So the
// result is bit-identical to the unfused ops on wasm and cpu, and a run's
// numbers do not depend on whether this kernel is installed.
import { registerKernel, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type * as tfType from "@tensorflow/tfjs";
import { simdKernelsFor } from "./simd";
import { f32, offsetOf, type WasmBackendLike } from "./wasm_heap";

export const ADAM_UPDATE = "TscolabAdamUpdate";

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t, as the caller computes them (float64). */
  bc1: number;
  bc2: number;
  /** L2 term added to the gradient (adam with weightDecay); 0 for none. */
  l2: number;
  /** Decoupled decay factor `1 - lr·wd` (adamw); 1 for none. */
  decay: number;
}

/** The update on plain arrays; outputs may not alias inputs. */
export function adamUpdateArrays(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  outW: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  h: AdamHyper,
): void {
  const f = Math.fround;
  const b1 = f(h.beta1);
  const oneMinusB1 = f(1 - h.beta1);
  const b2 = f(h.beta2);
  const oneMinusB2 = f(1 - h.beta2);
  const bc1 = f(h.bc1);
  const bc2 = f(h.bc2);
  const lr = f(h.lr);
  const eps = f(h.epsilon);
  const l2 = f(h.l2);
  const decay = f(h.decay);
  const useL2 = h.l2 > 0;
  const useDecay = h.decay !== 1;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i];
    const gi = useL2 ? f(g[i] + f(wi * l2)) : g[i];
    const mi = f(f(m[i] * b1) + f(gi * oneMinusB1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * oneMinusB2));
    const update = f(f(f(mi / bc1) * lr) / f(f(Math.sqrt(f(vi / bc2))) + eps));
    outW[i] = f((useDecay ? f(wi * decay) : wi) - update);
    outM[i] = mi;
    outV[i] = vi;
  }
}

type Inputs = { w: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };

/**
 * True when w, m and v may be updated where they are: the caller donated them
 * (it replaces them by the outputs and never reads them again), each buffer is
 * held by its tensor alone (a clone, a reshape or a saved snapshot would share
 * it and must keep the old values), and none is shared with another input.
 * Writing in place saves reading three fresh output buffers (a write to memory
 * not in cache reads it first), a third of the update's memory traffic; the
 * arithmetic is the same, so the bits are too.
 */
function updatableInPlace(b: DonatingBackend, t: Inputs): boolean {
  const ids = [t.w.dataId, t.m.dataId, t.v.dataId, t.g.dataId];
  return new Set(ids).size === ids.length && [t.w, t.m, t.v].every((x) => b.refCount(x.dataId) === 1);
}

type DonatingBackend = WasmBackendLike & { refCount(dataId: object): number; wasm: { _malloc(bytes: number): number } };

/**
 * The donated tensor's bytes under a new tensor id. The wasm backend caches
 * XNNPACK operators (with the weights packed inside) per tensor id, so
 * updated weights must not keep the old id; the old id is left a one-byte
 * placeholder, whose disposal (when the variable takes the output) frees
 * that byte and drops the operators cached for it.
 */
function adopt(b: DonatingBackend, x: TensorInfo): TensorInfo {
  const entry = b.dataIdMap.get(x.dataId);
  const out = b.makeOutput(x.shape, x.dtype, entry.memoryOffset);
  entry.memoryOffset = b.wasm._malloc(1) >>> 0;
  return out;
}

const wasmAdam: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as DonatingBackend;
  const t = inputs as unknown as Inputs;
  const { w, g, m, v } = t;
  const h = attrs as unknown as AdamHyper & { donate?: boolean };
  const simd = simdKernelsFor(backend);
  const inPlace = simd !== null && h.donate === true && updatableInPlace(b, t);
  const outs = inPlace ? [w, m, v] : [b.makeOutput(w.shape, "float32"), b.makeOutput(w.shape, "float32"), b.makeOutput(w.shape, "float32")];
  if (simd) {
    const f = Math.fround;
    const flags = (h.l2 > 0 ? 1 : 0) | (h.decay !== 1 ? 2 : 0);
    const n = w.shape.reduce((p, d) => p * d, 1);
    const [pw, pg, pm, pv, ow, om, ov] = [w, g, m, v, ...outs].map((t) => offsetOf(b, t));
    simd.adam(pw, pg, pm, pv, ow, om, ov, n, f(h.beta1), f(1 - h.beta1), f(h.beta2), f(1 - h.beta2), f(h.bc1), f(h.bc2), f(h.lr), f(h.epsilon), f(h.l2), f(h.decay), flags);
    return inPlace ? outs.map((x) => adopt(b, x)) : outs;
  }
  // Views only after the last allocation: allocating may grow (and move) the heap.
  const [ow, om, ov] = outs.map((o) => f32(b, o));
  adamUpdateArrays(f32(b, w), f32(b, g), f32(b, m), f32(b, v), ow, om, ov, h);
  return outs;
};

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

const cpuAdam: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CpuBackendLike;
  const { w, g, m, v } = inputs as unknown as Inputs;
  const n = w.shape.reduce((p, d) => p * d, 1);
  const [ow, om, ov] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const read = (t: TensorInfo) => b.data.get(t.dataId).values;
  adamUpdateArrays(read(w), read(g), read(m), read(v), ow, om, ov, attrs as unknown as AdamHyper);
  return [b.makeTensorInfo(w.shape, "float32", ow), b.makeTensorInfo(w.shape, "float32", om), b.makeTensorInfo(w.shape, "float32", ov)];
};

/** Kernel configs for the backends that have one (others use the op sequence). */
export const adamUpdateKernels: Record<string, KernelConfig> = {
  wasm: { kernelName: ADAM_UPDATE, backendName: "wasm", kernelFunc: wasmAdam },
  cpu: { kernelName: ADAM_UPDATE, backendName: "cpu", kernelFunc: cpuAdam },
};

/** Registers the fused update for `backendName` if we have one; true when available. */
export function ensureAdamUpdateKernel(backendName: string): boolean {
  if (getKernel(ADAM_UPDATE, backendName)) return true;
  const config = adamUpdateKernels[backendName];
  if (!config) return false;
  registerKernel(config);
  return true;
}

/**
 * New (w, m, v) after one Adam/AdamW step, as fresh tensors the caller
 * assigns/disposes. One fused kernel on wasm and cpu; elsewhere (e.g. the
 * tensorflow backend) the same float32 op sequence through tfjs ops.
 */
export function adamUpdate(
  tf: typeof tfType,
  t: { w: tfType.Tensor; g: tfType.Tensor; m: tfType.Tensor; v: tfType.Tensor },
  h: AdamHyper,
  opts: {
    /** The caller replaces w, m and v by the outputs at once and never reads them again, so their buffers may be reused. */
    donate?: boolean;
  } = {},
): { w: tfType.Tensor; m: tfType.Tensor; v: tfType.Tensor } {
  const dtypesOk = [t.w, t.g, t.m, t.v].every((x) => x.dtype === "float32");
  if (dtypesOk && ensureAdamUpdateKernel(tf.getBackend())) {
    const attrs = { ...h, donate: opts.donate === true } as unknown as tfType.NamedAttrMap;
    const [w, m, v] = tf.engine().runKernel(ADAM_UPDATE, t as unknown as tfType.NamedTensorMap, attrs) as tfType.Tensor[];
    return { w, m, v };
  }
  return tf.tidy(() => {
    const g = h.l2 > 0 ? tf.add(t.g, tf.mul(t.w, h.l2)) : t.g;
    const m = tf.add(tf.mul(t.m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v = tf.add(tf.mul(t.v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const update = tf.div(tf.mul(tf.div(m, h.bc1), h.lr), tf.add(tf.sqrt(tf.div(v, h.bc2)), h.epsilon));
    const w = tf.sub(h.decay !== 1 ? tf.mul(t.w, h.decay) : t.w, update);
    return { w, m, v };
  });
}
