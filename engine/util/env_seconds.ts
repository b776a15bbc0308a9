// Durations users set in seconds through environment variables
// ($TSCOLAB_PROBE_TIMEOUT, $TSCOLAB_DRIVE_TIMEOUT, $TSCOLAB_MIRROR_FLUSH), read
// by one rule: unset, empty or not a number in range means the default.
import { z } from "zod";

const positiveSeconds = z.coerce.number().finite().positive();
const nonNegativeSeconds = z.coerce.number().finite().nonnegative();

/** $`name` seconds as milliseconds, else `defaultSeconds`; zero counts only with `allowZero` (e.g. "do not wait"). */
export function envSecondsMs(env: NodeJS.ProcessEnv, name: string, defaultSeconds: number, opts: { allowZero?: boolean } = {}): number {
  const raw = env[name];
  const parsed = raw === undefined || raw.trim() === "" ? null : (opts.allowZero ? nonNegativeSeconds : positiveSeconds).safeParse(raw);
  return Math.round((parsed?.success ? parsed.data : defaultSeconds) * 1000);
}
