// The live progress block agrees with the summary: an interrupted run's last
// progress says tier 3 stopped (not passed), and a resumed run's first
// progress starts where the checkpoint is (not at step 0). Real training.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { train } from "../engine/train/train";
import type { TrainConfigInput } from "../engine/train/config";
import { progressText } from "../magics/train/render";
import type { ProgressEvent } from "../engine/train/progress";

const drive = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-qa-progress-"));
afterAll(() => fs.rmSync(drive, { recursive: true, force: true }));

test("stop, then resume: the progress text follows the run", async () => {
  const stop = new AbortController();
  const first: ProgressEvent[] = [];
  const config: TrainConfigInput = { data: { train: { builtin: "iris" } }, epochs: 3, seed: 1, tier: "3", drive };
  const stopped = await train(config, {
    signal: stop.signal,
    onProgress: (e) => {
      first.push(e);
      if (e.phase === "tier3") stop.abort(); // stops after the first step
    },
  });
  expect(stopped.status).toBe("stopped");
  expect(progressText(first[first.length - 1])).toMatch(/tier 3 stopped/);

  const second: ProgressEvent[] = [];
  const resumed = await train(undefined, { resume: stopped.runDir, onProgress: (e) => second.push(e) });
  expect(resumed.status).toBe("completed");
  const start = second.find((e) => e.phase === "tier3")!;
  expect(start.step).toBeGreaterThan(0);
  expect(progressText(start)).toMatch(new RegExp(`step ${start.step}/`));
});
