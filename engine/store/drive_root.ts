// Where runs live: `--drive DIR`, else a folder mounted with `%drive mount`,
// else $TSCOLAB_DRIVE, else ./drive (relative to the notebook or CLI folder).
import path from "node:path";

let mounted: string | undefined;

export function mountDrive(dir: string, cwd = process.cwd()): string {
  mounted = path.resolve(cwd, dir);
  return mounted;
}

export function resolveDriveRoot(flag?: string, cwd = process.cwd()): string {
  if (flag) return path.resolve(cwd, flag);
  if (mounted) return mounted;
  if (process.env.TSCOLAB_DRIVE) return path.resolve(cwd, process.env.TSCOLAB_DRIVE);
  return path.resolve(cwd, "drive");
}

/** `<drive>/tscolab/runs`: every run folder lives here (SPEC 7). */
export function runsDir(driveRoot: string): string {
  return path.join(driveRoot, "tscolab", "runs");
}
