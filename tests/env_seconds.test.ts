// Durations set in seconds through the environment: one rule for every variable.
import { describe, expect, it } from "vitest";
import { envSecondsMs } from "../engine/util/env_seconds";
import { nativeProbeTimeoutMs } from "../engine/backend";
import { driveCallTimeoutMs } from "../engine/store/drive_io";
import { mirrorFlushMs } from "../engine/train/train";

describe("envSecondsMs", () => {
  const read = (value: string | undefined, allowZero = false) => envSecondsMs({ T: value }, "T", 30, { allowZero });
  it("reads seconds, fractions included, as milliseconds", () => {
    expect(read("2.5")).toBe(2500);
    expect(read("300")).toBe(300_000);
  });
  it.each([undefined, "", "  ", "abc", "-1", "Infinity", "NaN"])("%j falls back to the default", (value) => {
    expect(read(value)).toBe(30_000);
  });
  it("takes zero only where zero means something", () => {
    expect(read("0")).toBe(30_000);
    expect(read("0", true)).toBe(0);
  });
  it("is the rule of the probe timeout, the Drive call timeout and the mirror's final flush", () => {
    expect(nativeProbeTimeoutMs({ TSCOLAB_PROBE_TIMEOUT: "90" })).toBe(90_000);
    expect(nativeProbeTimeoutMs({})).toBe(30_000);
    expect(driveCallTimeoutMs({ TSCOLAB_DRIVE_TIMEOUT: "0" })).toBe(30_000);
    expect(driveCallTimeoutMs({ TSCOLAB_DRIVE_TIMEOUT: "1.5" })).toBe(1500);
    expect(mirrorFlushMs({ TSCOLAB_MIRROR_FLUSH: "0" })).toBe(0);
    expect(mirrorFlushMs({ TSCOLAB_MIRROR_FLUSH: "x" })).toBe(30_000);
  });
});
