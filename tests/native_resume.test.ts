// A CLI run whose Dense layers are large enough to run on the native kernels
// (512×256 hidden: every product but the first layer's goes to MLAS) is
// SIGKILLed mid-training and resumed: it ends bit-identical to the same run
// never interrupted, because which kernel computes a product depends on its
// shape alone and MLAS sums in a fixed order on any number of threads.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, expect, test } from "vitest";
import { cli, fingerprint, killStarted, newestCheckpointStep, runDirs, runJson, runsDir, sleep, waitFor } from "./helpers/queue";

const CONFIG = {
  runName: "native-resume",
  seed: 5,
  task: "classification",
  model: { zoo: "mlp", hidden: [512, 256], dropout: 0.1 },
  data: { train: { builtin: "iris" }, validationSplit: 0.2 },
  epochs: 40,
  batchSize: 16,
  optimizer: "adam",
  learningRate: 0.003,
  tier: "all",
  // Straight to the Drive, so the test sees each checkpoint as it is written and kills at a chosen step.
  checkpoint: { everyEpochs: 1, everySteps: 3, keepLast: 3, local: false },
};
const ENV = { TSCOLAB_BACKEND: "wasm" };
const SEED = Number(process.env.TSCOLAB_RESUME_SEED ?? Date.now() % 100000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-native-resume-"));
afterEach(killStarted);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test("SIGKILLed at a random moment and resumed: bit-identical to the uninterrupted run, both on native kernels", async () => {
  fs.writeFileSync(path.join(work, "config.json"), JSON.stringify(CONFIG));
  const base = await cli(["train", "--config", "config.json", "--drive", "drive-base", "--json"], { cwd: work, env: ENV }).done;
  expect(base.code, base.stderr).toBe(0);
  const baseRun = runDirs(path.join(work, "drive-base"))[0]!;
  expect(runJson(path.join(work, "drive-base"), baseRun).environment.nativeKernels).toContain("_FusedMatMul");

  const drive = path.join(work, "drive-killed");
  const first = cli(["train", "--config", "config.json", "--drive", "drive-killed"], { cwd: work, env: ENV });
  // iris: 120 training rows / batch 16 = 8 steps an epoch, 320 in all; the kill lands at a checkpoint in [24, 200), plus 0-40 ms.
  const target = 24 + (SEED % 176);
  const extraMs = (SEED * 7919) % 40;
  console.log(`native resume: kill at the checkpoint of step ${target} + ${extraMs} ms (seed ${SEED}; replay with TSCOLAB_RESUME_SEED=${SEED})`);
  const killedRun = () => runDirs(drive)[0];
  await waitFor(
    `a checkpoint at step ${target}`,
    () => first.exited() || (!!killedRun() && newestCheckpointStep(path.join(runsDir(drive), killedRun()!)) >= target),
    200_000,
    first.log,
  );
  await sleep(extraMs);
  process.kill(first.pid, "SIGKILL");
  const killed = await first.done;
  expect(killed.signal, `still training when killed; log: ${first.log().slice(-1500)}`).toBe("SIGKILL");

  const runId = runDirs(drive)[0]!;
  const resumed = await cli(["train", "--resume", path.join(runsDir(drive), runId), "--drive", "drive-killed", "--json"], { cwd: work, env: ENV }).done;
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(await fingerprint(path.join(runsDir(drive), runId))).toEqual(await fingerprint(path.join(runsDir(path.join(work, "drive-base")), baseRun)));
}, 300_000);
