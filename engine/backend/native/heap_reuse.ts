// onnxruntime-node's binding (the fallback when ort_capi.ts cannot load) hands
// every output back as a fresh ArrayBuffer (a copy), so a native call with an
// 8 MiB output allocates 8 MiB that V8 frees at a later garbage collection. With glibc's starting thresholds those
// blocks are mmapped, or carved from the heap top and trimmed back to the
// system when a collection frees several at once, and the next call faults
// every page in again: measured here, 1,754 page faults and 4.2 ms of system
// time on one 2048×1024 GELU call (5.9 ms in all, 2.0 without the faults),
// and 58–70 MiB of faults a step (35–47 ms of system time) on the bench
// transformer.
//
// glibc raises its thresholds itself when an mmapped block is freed: mmap
// above the freed size only, trim above twice it (mallopt(3), "dynamic mmap
// threshold"), up to a 32 MiB block on 64-bit. Freeing one 31 MiB block
// once therefore keeps blocks below 31 MiB in the heap and trims only above
// 62 MiB free: 16,569 → 545 faults a step, 240 → 211 ms a step on that
// transformer. GLIBC_TUNABLES would do the same, but only in processes
// started with it; this works in whichever process loads the native kernels
// through the binding (a notebook kernel, the CLI, a sweep's trial). Through
// the C API nothing is copied, and a step takes under 20 page faults without it. A user's own
// glibc.malloc.mmap_threshold or trim_threshold turns the dynamic thresholds
// off, and then this changes nothing.
import { Worker } from "node:worker_threads";

/** The block freed once: the largest glibc's dynamic threshold follows (32 MiB on 64-bit), less headroom for its header. */
export const PRIMING_BLOCK_BYTES = 31 * 1024 * 1024;

let primed: Promise<void> | null = null;

/**
 * Allocates and frees one PRIMING_BLOCK_BYTES block through Node's allocator, once per
 * process. The block lives in a worker thread, so freeing it is the worker's own teardown
 * (no garbage collection to wait for). Elsewhere than Linux it costs one short worker.
 */
export function keepLargeBlocksInHeap(): Promise<void> {
  primed ??= new Promise<void>((resolve) => {
    if (process.platform !== "linux") return resolve();
    const worker = new Worker(`Buffer.allocUnsafeSlow(${PRIMING_BLOCK_BYTES});`, { eval: true });
    // Only a speed matter: a worker that cannot start leaves glibc's thresholds where they were.
    worker.once("error", () => resolve());
    worker.once("exit", () => resolve());
  });
  return primed;
}
