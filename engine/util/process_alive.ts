// Whether a process on this host still runs: signal 0 checks without sending.
// EPERM means it exists but belongs to someone else, so it counts as alive.
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
