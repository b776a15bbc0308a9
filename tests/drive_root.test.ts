// One precedence rule for the Drive root: explicit root > the config's
// `drive` > `%drive mount` > $TSCOLAB_DRIVE > ~/tscolab-drive, for new runs
// and resumes alike.
process.env.TSCOLAB_BACKEND = "wasm";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { listRunIds } from "../engine/store";
import { mountDrive, resolveDriveRoot, unmountedDriveRoot } from "../engine/store/drive_root";
import { train } from "../engine/train/train";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-drive-root-"));
const savedEnv = process.env.TSCOLAB_DRIVE;
afterAll(() => {
  if (savedEnv === undefined) delete process.env.TSCOLAB_DRIVE;
  else process.env.TSCOLAB_DRIVE = savedEnv;
  fs.rmSync(work, { recursive: true, force: true });
});

test("explicit > config > mounted > $TSCOLAB_DRIVE > ~/tscolab-drive, relative to cwd", () => {
  delete process.env.TSCOLAB_DRIVE;
  // One Drive root per user, whatever folder the notebook or terminal is in.
  expect(resolveDriveRoot(undefined, work)).toBe(path.join(os.homedir(), "tscolab-drive"));
  expect(resolveDriveRoot(undefined, path.join(work, "elsewhere"))).toBe(path.join(os.homedir(), "tscolab-drive"));
  expect(unmountedDriveRoot(work)).toBe(path.join(os.homedir(), "tscolab-drive"));
  process.env.TSCOLAB_DRIVE = "from-env";
  expect(unmountedDriveRoot(work)).toBe(path.join(work, "from-env"));
  expect(resolveDriveRoot(undefined, work)).toBe(path.join(work, "from-env"));
  expect(resolveDriveRoot(undefined, work, "from-config")).toBe(path.join(work, "from-config"));
  expect(resolveDriveRoot("explicit", work, "from-config")).toBe(path.join(work, "explicit"));
  mountDrive("mounted", work);
  expect(resolveDriveRoot(undefined, work)).toBe(path.join(work, "mounted"));
  expect(resolveDriveRoot(null, work, "from-config")).toBe(path.join(work, "from-config"));
  expect(resolveDriveRoot("/abs/explicit", work, "from-config")).toBe("/abs/explicit");
});

test("train(): the explicit root wins over the config's, for a new run and for its resume", async () => {
  const config = { data: { train: { builtin: "iris" as const } }, epochs: 2, batchSize: 30, tier: "3" as const, drive: "config-drive" };
  const stop = new AbortController();
  const first = await train(config, { cwd: work, drive: "option-drive", signal: stop.signal, onProgress: (e) => e.epochEnded && stop.abort() });
  expect(first.status).toBe("stopped");
  expect(path.dirname(path.dirname(path.dirname(first.runDir)))).toBe(path.join(work, "option-drive"));
  expect(await listRunIds(path.join(work, "config-drive"))).toEqual([]);
  // Resuming by id looks in the same root by the same rule.
  const resumed = await train(config, { cwd: work, drive: "option-drive", resume: first.runId });
  expect(resumed.status).toBe("completed");
  expect(resumed.runDir).toBe(first.runDir);
});
