// Instantiates kernels.wat against tfjs-backend-wasm's own WebAssembly.Memory
// (one instance per backend), so our SIMD loops read and write tensors where
// tfjs keeps them. Returns null when that memory is not reachable or the
// engine lacks SIMD; callers then keep the stock path.
import { SIMD_KERNELS_WASM_BASE64 } from "./simd_bytes";

/** A convolution's or pool's geometry as the kernels take it (conv_layout.ts' geometryArgs builds it). */
export type ConvGeometryArgs = [
  batch: number,
  inH: number,
  inW: number,
  inC: number,
  outH: number,
  outW: number,
  fh: number,
  fw: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
];

export interface SimdKernels {
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    ow: number,
    om: number,
    ov: number,
    n: number,
    b1: number,
    omb1: number,
    b2: number,
    omb2: number,
    bc1: number,
    bc2: number,
    lr: number,
    eps: number,
    l2: number,
    decay: number,
    flags: number,
  ): void;
  /** Max pooling, 2×2 windows at stride 2, no padding, channels a multiple of 4 (NHWC): each window's first strict maximum from -inf. */
  maxPool2x2(x: number, y: number, batch: number, inH: number, inW: number, channels: number, outH: number, outW: number): void;
  /** maxPoolGrad for windows that tile the input (strides = window, no padding): every covered element written once. */
  maxPoolGradTiles(x: number, dy: number, dx: number, batch: number, inH: number, inW: number, channels: number, outH: number, outW: number, fh: number, fw: number): void;
  /** out = 0, then out[ids[i]] += x[i] for rows of `inner` floats, i ascending; ids outside [0, numSegments) dropped. */
  segmentSum(x: number, ids: number, out: number, n: number, inner: number, numSegments: number): void;
  /** out[r,c] = x[r,c] + bias[c] over rows×cols floats. */
  addRows(x: number, bias: number, out: number, rows: number, cols: number): void;
  /** out = dy · step(x) over n floats (step: 1 above 0, 0 at or below, NaN for NaN). */
  reluGrad(dy: number, x: number, out: number, n: number): void;
  /** out = dy · step(x) and sums[c] = Σ_r out[r,c] (rows in order) in one pass over rows×cols floats, cols a multiple of 4. */
  reluGradSumRows(dy: number, x: number, out: number, sums: number, rows: number, cols: number): void;
  /** Layer normalization over the last axis of x [rows, d] with γ, β [d]; ε is a float. */
  layerNorm(x: number, gamma: number, beta: number, out: number, rows: number, d: number, epsilon: number): void;
  /** Its gradients dx [rows, d], dγ and dβ [d] from dy, x and γ (statistics recomputed; rows added in order). */
  layerNormGrad(dy: number, x: number, gamma: number, dx: number, dgamma: number, dbeta: number, rows: number, d: number, epsilon: number): void;
  /** out[c] = Σ_r in[r,c] (r ascending) over rows×cols floats. */
  sumRows(inOffset: number, outOffset: number, rows: number, cols: number): void;
  /** out[c,r] = in[r,c]; byte offsets, rows×cols floats. */
  transpose2d(inOffset: number, outOffset: number, rows: number, cols: number): void;
  /** Patch matrix [batch·outH·outW, fh·fw·inC] from NHWC x (zeros over the padding). */
  im2col(x: number, out: number, ...geometry: ConvGeometryArgs): void;
  /** The transposed patch matrix [fh·fw·inC, batch·outH·outW] from NHWC x (zeros over the padding). */
  im2colTransposed(x: number, out: number, ...geometry: ConvGeometryArgs): void;
  /** dx = 0, then each output's dy added at the first maximum of its window (NHWC). */
  maxPoolGrad(x: number, dy: number, dx: number, ...geometry: ConvGeometryArgs): void;
  /** dx = 0, then every patch of cols added back to its window (the adjoint of im2col). */
  col2im(cols: number, dx: number, ...geometry: ConvGeometryArgs): void;
}

// The slice of the WebAssembly JS API we use (the project's lib settings
// carry no DOM/WebAssembly typings).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: abstract new (...args: never[]) => object;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface BackendWithMemory {
  wasm?: { asm?: { memory?: object }; wasmMemory?: object };
}

let compiled: object | null | undefined;
const instances = new WeakMap<object, SimdKernels | null>();

function compile(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new WA.Module(Buffer.from(SIMD_KERNELS_WASM_BASE64, "base64"));
    } catch {
      compiled = null; // no wasm SIMD in this engine
    }
  }
  return compiled;
}

export function simdKernelsFor(backend: unknown): SimdKernels | null {
  const key = backend as object;
  if (instances.has(key)) return instances.get(key) ?? null;
  let kernels: SimdKernels | null = null;
  const b = backend as BackendWithMemory;
  const memory = b.wasm?.asm?.memory ?? b.wasm?.wasmMemory;
  const module = compile();
  if (module && memory instanceof WA.Memory) {
    try {
      kernels = new WA.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
    } catch {
      kernels = null;
    }
  }
  instances.set(key, kernels);
  return kernels;
}
