// Where runs live. One precedence rule, used by every face and every part of
// the engine (new runs, resume, git model caches, export, %drive):
//
//   1. an explicit root: `--drive DIR`, `train(config, { drive })`, `%drive status DIR`
//   2. the run config's `drive` key
//   3. a folder mounted with `%drive mount DIR` in this session
//   4. $TSCOLAB_DRIVE
//   5. ./drive
//
// The explicit root wins over the config as a flag wins over a config file.
// Relative paths resolve from `cwd`, the notebook's or the CLI's folder.
import path from "node:path";

let mounted: string | undefined;

export function mountDrive(dir: string, cwd = process.cwd()): string {
  mounted = path.resolve(cwd, dir);
  return mounted;
}

/** The Drive root by the rule above; `fromConfig` is the run config's `drive`. */
export function resolveDriveRoot(explicit?: string | null, cwd = process.cwd(), fromConfig?: string | null): string {
  const given = explicit || fromConfig;
  if (given) return path.resolve(cwd, given);
  if (mounted) return mounted;
  if (process.env.TSCOLAB_DRIVE) return path.resolve(cwd, process.env.TSCOLAB_DRIVE);
  return path.resolve(cwd, "drive");
}

/** `<drive>/tscolab/runs`: every run folder lives here. */
export function runsDir(driveRoot: string): string {
  return path.join(driveRoot, "tscolab", "runs");
}
