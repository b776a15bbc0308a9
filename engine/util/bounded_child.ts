// A child process that cannot outlive its welcome: killed (with everything
// it started) at a timeout or when the user interrupts. Used for nvidia-smi
// and native-binding probes, either of which can hang forever.
import type { ChildProcess } from "node:child_process";

/** SIGKILLs the child's whole process group (it must be spawned with `detached: true`). */
export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/**
 * Arms a timeout and an abort listener on `child`; returns the function that
 * disarms them (call it when the child closes).
 */
export function boundChild(child: ChildProcess, opts: { timeoutMs: number; signal?: AbortSignal; onTimeout(): void }): () => void {
  const kill = () => killGroup(child);
  const timer = setTimeout(
    () => {
      opts.onTimeout();
      kill();
    },
    Math.max(1, opts.timeoutMs),
  );
  opts.signal?.addEventListener("abort", kill, { once: true });
  return () => {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", kill);
  };
}
