// Where runs live. One precedence rule, used by every face and every part of
// the engine (new runs, resume, git model caches, export, %drive):
//
//   1. an explicit root: `--drive DIR`, `train(config, { drive })`, `%drive status DIR`
//   2. the run config's `drive` key
//   3. a folder mounted with `%drive mount DIR` in this session
//   4. $TSCOLAB_DRIVE
//   5. ~/tscolab-drive
//
// The explicit root wins over the config as a flag wins over a config file.
// Relative paths resolve from `cwd`, the notebook's or the CLI's folder.
//
// The default is one folder per user, not one per notebook folder: every
// notebook and terminal of a user sees the same runs, so `--resume last`,
// `%drive status` and `tscolab export --run last` agree wherever they run.
// It sits in the home folder, visible, as Colab's Drive does.
import os from "node:os";
import path from "node:path";

let mounted: string | undefined;

export function mountDrive(dir: string, cwd = process.cwd()): string {
  mounted = path.resolve(cwd, dir);
  return mounted;
}

/** The last step of the rule: the user's own Drive root. */
export function userDriveRoot(): string {
  return path.join(os.homedir(), "tscolab-drive");
}

/** The Drive root by the rule above; `fromConfig` is the run config's `drive`. */
export function resolveDriveRoot(explicit?: string | null, cwd = process.cwd(), fromConfig?: string | null): string {
  const given = explicit || fromConfig;
  if (given) return path.resolve(cwd, given);
  if (mounted) return mounted;
  return unmountedDriveRoot(cwd);
}

/** Steps 4 and 5: what `%drive mount` with no folder mounts. */
export function unmountedDriveRoot(cwd = process.cwd()): string {
  return process.env.TSCOLAB_DRIVE ? path.resolve(cwd, process.env.TSCOLAB_DRIVE) : userDriveRoot();
}

/** `<drive>/tscolab/runs`: every run folder lives here. */
export function runsDir(driveRoot: string): string {
  return path.join(driveRoot, "tscolab", "runs");
}
