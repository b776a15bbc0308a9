// The TypeScript compiler API (model-file loading, the git scanner): the `typescript` package when it
// is installed, else the copy tslab ships as a runtime dependency.
export type TS = typeof import("typescript");

let cached: TS | undefined;

export function typescript(): TS {
  if (!cached) {
    try {
      cached = require("typescript") as TS;
    } catch {
      cached = require("@tslab/typescript-for-tslab") as TS;
    }
  }
  return cached;
}
