// The checkpoint policies as pure functions: when a run saves, what rotation
// keeps. Then the store's rotation on real folders follows the same policy.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { checkpointsToRemove, saveAfterStep, saveAtEpochEnd, saveOnStop, type CheckpointPolicy } from "../engine/store/checkpoint_policy";
import { commitCheckpoint, parseCheckpointName } from "../engine/store";

const policy = (p: Partial<CheckpointPolicy> = {}): CheckpointPolicy => ({ everySteps: 0, everyEpochs: 1, keepLast: 3, keepBest: true, ...p });

describe("when to save", () => {
  test("every N steps inside an epoch, never on an epoch's last step, never with everySteps 0", () => {
    const p = policy({ everySteps: 5 });
    expect([1, 4, 5, 6, 10, 15].filter((step) => saveAfterStep(p, { step, lastOfEpoch: false }))).toEqual([5, 10, 15]);
    expect(saveAfterStep(p, { step: 10, lastOfEpoch: true })).toBe(false);
    expect(saveAfterStep(policy({ everySteps: 0 }), { step: 10, lastOfEpoch: false })).toBe(false);
  });

  test("at an epoch's end: epoch cadence, step cadence, end of the run, a new best only with keepBest", () => {
    const at = (epoch: number, step: number, more: { endsRun?: boolean; isBest?: boolean } = {}) => ({ epoch, step, endsRun: false, isBest: false, ...more });
    const everyTwo = policy({ everyEpochs: 2 });
    expect([1, 2, 3, 4].map((e) => saveAtEpochEnd(everyTwo, at(e, e * 7)).save)).toEqual([false, true, false, true]);
    // The step cadence left the epoch's last step to this decision.
    expect(saveAtEpochEnd(policy({ everyEpochs: 0, everySteps: 7 }), at(3, 21))).toEqual({ save: true, asBest: false });
    expect(saveAtEpochEnd(policy({ everyEpochs: 0, everySteps: 7 }), at(3, 20)).save).toBe(false);
    // Off cadence: the last epoch or an early stop still saves.
    const off = policy({ everyEpochs: 0 });
    expect(saveAtEpochEnd(off, at(5, 50)).save).toBe(false);
    expect(saveAtEpochEnd(off, at(5, 50, { endsRun: true })).save).toBe(true);
    // A new best saves (and becomes best/) with keepBest; without it, it is an ordinary epoch.
    expect(saveAtEpochEnd(off, at(5, 50, { isBest: true }))).toEqual({ save: true, asBest: true });
    expect(saveAtEpochEnd(policy({ everyEpochs: 0, keepBest: false }), at(5, 50, { isBest: true }))).toEqual({ save: false, asBest: false });
    expect(saveAtEpochEnd(policy({ everyEpochs: 1, keepBest: false }), at(5, 50, { isBest: true }))).toEqual({ save: true, asBest: false });
  });

  test("on a stop: an interrupt saves unless that step is saved already; a diverged model never; early stopping saved at its epoch end", () => {
    expect(saveOnStop("interrupted", { step: 9, lastSavedStep: null })).toBe(true);
    expect(saveOnStop("interrupted", { step: 9, lastSavedStep: 5 })).toBe(true);
    expect(saveOnStop("interrupted", { step: 10, lastSavedStep: 10 })).toBe(false);
    expect(saveOnStop("diverged", { step: 9, lastSavedStep: 5 })).toBe(false);
    expect(saveOnStop("early-stopping", { step: 9, lastSavedStep: 9 })).toBe(false);
  });
});

describe("what to keep", () => {
  test("the keepLast newest, in any input order; 0 keeps all", () => {
    expect(checkpointsToRemove([10, 40, 20, 30], { committed: 40, keepLast: 2, keepBest: false })).toEqual([20, 10]);
    expect(checkpointsToRemove([10, 20, 30, 40], { committed: 40, keepLast: 0, keepBest: true, bestStep: 20 })).toEqual([]);
  });

  test("the best's folder stays with keepBest, goes without it; the newest (the committed one) always stays", () => {
    expect(checkpointsToRemove([10, 20, 30, 40], { committed: 40, keepLast: 1, keepBest: true, bestStep: 10 })).toEqual([30, 20]);
    expect(checkpointsToRemove([10, 20, 30, 40], { committed: 40, keepLast: 1, keepBest: false, bestStep: 10 })).toEqual([30, 20, 10]);
    expect(checkpointsToRemove([40], { committed: 40, keepLast: 1, keepBest: true })).toEqual([]);
    // The best being the newest does not let an extra old one through.
    expect(checkpointsToRemove([10, 20, 30], { committed: 30, keepLast: 2, keepBest: true, bestStep: 30 })).toEqual([10]);
  });

  test("folders above the committed step are an abandoned future: they go, best or not", () => {
    expect(checkpointsToRemove([10, 20, 30, 40, 50], { committed: 20, keepLast: 3, keepBest: true, bestStep: 40 })).toEqual([50, 40, 30]);
  });
});

describe("commitCheckpoint rotates by the policy", () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-policy-"));
  afterAll(() => fs.rmSync(runDir, { recursive: true, force: true }));
  const steps = () =>
    fs
      .readdirSync(path.join(runDir, "checkpoints"))
      .map(parseCheckpointName)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);

  test("a sequence of commits leaves exactly the folders the policy keeps", async () => {
    const best = new Set([2, 5]);
    let expected: number[] = [];
    let bestStep: number | undefined;
    for (const step of [1, 2, 3, 4, 5, 6, 7]) {
      await commitCheckpoint(runDir, { step, epoch: step, files: { "w.bin": new Uint8Array([step]) }, keepLast: 2, keepBest: true, isBest: best.has(step) });
      if (best.has(step)) bestStep = step;
      const gone = checkpointsToRemove([...expected, step], { committed: step, keepLast: 2, keepBest: true, bestStep });
      expected = [...expected, step].filter((s) => !gone.includes(s));
      expect(steps(), `after committing step ${step}`).toEqual(expected);
    }
    expect(expected).toEqual([5, 6, 7]);
    // A resume from step 3 rewrites the future: 5, 6 and 7 go although 5 is best/'s source.
    await commitCheckpoint(runDir, { step: 3, epoch: 3, files: { "w.bin": new Uint8Array([3]) }, keepLast: 2, keepBest: true });
    expect(steps()).toEqual([3]);
  });
});
