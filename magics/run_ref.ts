// A run named by a magic's positional: a run id, a run folder, "last", or a
// notebook variable holding a %train result (its runDir).
import { UsageError } from "./types";

export function runRef(value: unknown, what = "<run>"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "object" && typeof (value as { runDir?: unknown }).runDir === "string") return (value as { runDir: string }).runDir;
  throw new UsageError(`${what}: expected a run id, a run folder, last, or a %train result; got ${typeof value}`);
}
