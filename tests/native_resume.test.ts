// CLI runs whose layers are large enough to run on the native kernels are
// SIGKILLed mid-training and resumed: each ends bit-identical to the same run
// never interrupted, because which kernel computes a product depends on its
// shape and the model alone and MLAS sums in a fixed order on any number of
// threads. Two models: an MLP (512×256 hidden: its second Dense layer trains
// on the fused Dense kernels) and the zoo CNN on MNIST digits (its deep
// second convolution keeps its patch matrix and takes its input gradient
// from Col2Im).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, expect, test } from "vitest";
import { cli, fingerprint, killStarted, newestCheckpointStep, runDirs, runJson, runsDir, sleep, waitFor } from "./helpers/queue";

const BASE = {
  task: "classification",
  optimizer: "adam",
  learningRate: 0.003,
  tier: "all",
  // Straight to the Drive, so the test sees each checkpoint as it is written and kills at a chosen step.
  checkpoint: { everyEpochs: 1, everySteps: 3, keepLast: 3, local: false },
};
const CASES = [
  {
    name: "mlp",
    // iris: 120 training rows / batch 16 = 8 steps an epoch, 320 in all
    config: {
      ...BASE,
      runName: "native-resume",
      seed: 5,
      model: { zoo: "mlp", hidden: [512, 256], dropout: 0.1 },
      data: { train: { builtin: "iris" }, validationSplit: 0.2 },
      epochs: 40,
      batchSize: 16,
    },
    steps: 320,
    nativeKernel: "TscolabFusedDense",
  },
  {
    name: "cnn",
    // 240 MNIST digits: 192 training rows / batch 32 = 6 steps an epoch, 180 in all
    config: {
      ...BASE,
      runName: "native-resume-cnn",
      seed: 7,
      model: { zoo: "cnn", filters: [16, 32] },
      data: { train: { builtin: "mnist", limit: 240 }, validationSplit: 0.2 },
      epochs: 30,
      batchSize: 32,
    },
    steps: 180,
    nativeKernel: "TscolabFusedConv2D",
  },
] as const;
const ENV = { TSCOLAB_BACKEND: "wasm" };
const SEED = Number(process.env.TSCOLAB_RESUME_SEED ?? Date.now() % 100000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-native-resume-"));
afterEach(killStarted);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

for (const c of CASES)
  test(`${c.name}: SIGKILLed at a random moment and resumed: bit-identical to the uninterrupted run, both on native kernels`, async () => {
    const dir = path.join(work, c.name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(c.config));
    const base = await cli(["train", "--config", "config.json", "--drive", "drive-base", "--json"], { cwd: dir, env: ENV }).done;
    expect(base.code, base.stderr).toBe(0);
    const baseRun = runDirs(path.join(dir, "drive-base"))[0]!;
    expect(runJson(path.join(dir, "drive-base"), baseRun).environment.nativeKernels).toContain(c.nativeKernel);

    const drive = path.join(dir, "drive-killed");
    const first = cli(["train", "--config", "config.json", "--drive", "drive-killed"], { cwd: dir, env: ENV });
    // The kill lands at a checkpoint in [steps/10, 5/8 of the run), plus 0-40 ms.
    const lo = Math.round(c.steps / 10);
    const target = lo + (SEED % Math.round((c.steps * 5) / 8 - lo));
    const extraMs = (SEED * 7919) % 40;
    console.log(`native resume (${c.name}): kill at the checkpoint of step ${target} + ${extraMs} ms (seed ${SEED}; replay with TSCOLAB_RESUME_SEED=${SEED})`);
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
    const resumed = await cli(["train", "--resume", path.join(runsDir(drive), runId), "--drive", "drive-killed", "--json"], { cwd: dir, env: ENV }).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await fingerprint(path.join(runsDir(drive), runId))).toEqual(await fingerprint(path.join(runsDir(path.join(dir, "drive-base")), baseRun)));
  }, 300_000);
