// The loaded native runtime and its sessions, one per model variant, kept
// for the life of the process (a session is a few KiB; a variant is a shape
// family, not a shape, so there are a handful).
import type { NativeSession, OrtRuntime } from "./ort_runtime";

let runtime: OrtRuntime | null = null;
const sessions = new Map<string, NativeSession>();

/** Turns the native path on with a loaded runtime, or off with null; another runtime (thread count) drops the old one's sessions. */
export function useNativeRuntime(rt: OrtRuntime | null): void {
  if (rt !== runtime) {
    for (const s of sessions.values()) s.dispose();
    sessions.clear();
  }
  runtime = rt;
}

/** The runtime when native kernels are on, else null. */
export const nativeRuntime = (): OrtRuntime | null => runtime;

/** The session for `key`, built from `model()` on first use. */
export function sessionFor(rt: OrtRuntime, key: string, model: () => Uint8Array): NativeSession {
  let s = sessions.get(key);
  if (!s) {
    s = rt.open(model());
    sessions.set(key, s);
  }
  return s;
}

/** Calls per variant since the process started (for the profile and the tests that prove a path was taken). */
export const nativeCalls = new Map<string, number>();

export function countCall(key: string): void {
  nativeCalls.set(key, (nativeCalls.get(key) ?? 0) + 1);
}
