// The training loop and its hooks, with real tfjs (wasm) and real files: the
// order hooks are called in, how a stop ends a round, the Trainer's own
// counters, the hooks at work inside train(), and the typed train() result.
process.env.TSCOLAB_BACKEND = "wasm";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ensureBackend } from "../engine/backend";
import { loadDataset, type LoadedDataset } from "../engine/data/dataset";
import { createModel } from "../engine/models";
import { checkpointsToRemove, saveAtEpochEnd } from "../engine/store/checkpoint_policy";
import { parseCheckpointName, readMetrics } from "../engine/store";
import { DivergenceGuard } from "../engine/train/hooks/divergence";
import { runLoop, type StopReason, type TrainHook } from "../engine/train/loop";
import type { ProgressEvent } from "../engine/train/progress";
import type { RunProgress } from "../engine/train/state";
import { trainSummarySchema } from "../engine/train/summary";
import { train } from "../engine/train/train";
import { Trainer } from "../engine/train/trainer";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-loop-"));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let iris: LoadedDataset;

beforeAll(async () => {
  await ensureBackend({ prefer: "wasm" });
  iris = await loadDataset({ train: { builtin: "iris" } }, { seed: 3, cwd: work });
});

async function irisTrainer(batchSize = 30): Promise<Trainer> {
  const model = await createModel(tf, { zoo: "mlp", hidden: [8] }, { inputShape: iris.info.inputShape, outputs: iris.outputs, task: "classification" }, { seed: 3, cwd: work });
  return new Trainer(tf, model, iris, {
    task: "classification",
    logits: false,
    outputs: iris.outputs,
    batchSize,
    seed: 3,
    gradClipNorm: null,
    optimizer: { kind: "adam", weightDecay: 0, momentum: 0 },
  });
}

/** y = 2 x0 - x1: learnable at a sane learning rate, not finite after one step at 1e30. */
async function regressionTrainer(): Promise<Trainer> {
  const file = path.join(work, "linear.csv");
  const lines = ["x0,x1,y"];
  for (let i = 0; i < 200; i++) {
    const [a, b] = [Math.sin(i), Math.cos(3 * i)];
    lines.push(`${a},${b},${2 * a - b}`);
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const data = await loadDataset({ train: file, label: "y" }, { seed: 3, cwd: work });
  const model = await createModel(tf, { zoo: "mlp", hidden: [16] }, { inputShape: data.info.inputShape, outputs: 1, task: "regression" }, { seed: 3, cwd: work });
  return new Trainer(tf, model, data, {
    task: "regression",
    logits: false,
    outputs: 1,
    batchSize: 16,
    seed: 3,
    gradClipNorm: null,
    optimizer: { kind: "adam", weightDecay: 0, momentum: 0 },
  });
}

const freshProgress = (): RunProgress => ({ early: { best: null, wait: 0 }, best: null, epochTrainMs: 0 });
const settings = (epochs: number) => ({ epochs, validateEveryEpochs: 1, learningRateAt: () => 0.01 });

/** Writes every call it gets into `calls` (shared between hooks to see their order); asks for `stop` at the step or epoch given. */
class Recorder implements TrainHook {
  stoppingSeen: (string | null)[] = [];
  constructor(
    private readonly name: string,
    private readonly stop: { atStep?: number; atEpoch?: number; reason?: StopReason } = {},
    readonly calls: string[] = [],
  ) {}
  onEpochBegin() {
    this.calls.push(`${this.name}:begin`);
  }
  onStepEnd(s: { step: number }) {
    this.calls.push(`${this.name}:step${s.step}`);
    if (s.step === this.stop.atStep) return this.stop.reason;
  }
  onEpochTrained(e: { epoch: number }) {
    this.calls.push(`${this.name}:trained${e.epoch}`);
  }
  onEpochEnd(e: { epoch: number }, stopping: StopReason | null) {
    this.calls.push(`${this.name}:end${e.epoch}`);
    this.stoppingSeen.push(stopping?.kind ?? null);
    if (e.epoch === this.stop.atEpoch) return this.stop.reason;
  }
  onTrainEnd(stop: StopReason | null) {
    this.calls.push(`${this.name}:done:${stop?.kind ?? "completed"}`);
  }
}

describe("the loop", () => {
  test("calls every hook at every point, in order, and validates each epoch", async () => {
    const trainer = await irisTrainer(); // 120 training rows → 4 steps per epoch
    const calls: string[] = [];
    const result = await runLoop(trainer, settings(2), freshProgress(), [new Recorder("a", {}, calls), new Recorder("b", {}, calls)]);
    expect(trainer.stepsPerEpoch).toBe(4);
    expect(result.stop).toBeNull();
    expect(result.metrics?.val_loss).toBeGreaterThan(0);
    const epoch = (e: number, first: number) => [
      "a:begin",
      "b:begin",
      ...[0, 1, 2, 3].flatMap((i) => [`a:step${first + i}`, `b:step${first + i}`]),
      `a:trained${e}`,
      `b:trained${e}`,
      `a:end${e}`,
      `b:end${e}`,
    ];
    expect(calls).toEqual([...epoch(1, 1), ...epoch(2, 5), "a:done:completed", "b:done:completed"]);
    expect(trainer.epoch).toBe(2);
    expect(trainer.step).toBe(8);
    expect(trainer.inEpoch).toBe(false);
    trainer.model.dispose();
    trainer.dispose();
  });

  test("a stop at a step ends the round at once: later hooks never see that step, the trainer stays mid-epoch", async () => {
    const trainer = await irisTrainer();
    const stopper = new Recorder("s", { atStep: 6, reason: { kind: "interrupted", diagnosis: "stop at 6" } });
    const after = new Recorder("t");
    const result = await runLoop(trainer, settings(3), freshProgress(), [stopper, after]);
    expect(result.stop).toEqual({ kind: "interrupted", diagnosis: "stop at 6" });
    expect(stopper.calls).toContain("s:step6");
    expect(after.calls).toContain("t:step5");
    expect(after.calls).not.toContain("t:step6");
    expect(after.calls[after.calls.length - 1]).toBe("t:done:interrupted");
    expect({ step: trainer.step, epoch: trainer.epoch, stepInEpoch: trainer.stepInEpoch, inEpoch: trainer.inEpoch }).toEqual({ step: 6, epoch: 1, stepInEpoch: 2, inEpoch: true });
    // Interrupted: not validated at its end (the last validation was epoch 1's).
    expect(result.metrics).not.toBeNull();
    trainer.model.dispose();
    trainer.dispose();
  });

  test("a stop at an epoch's end lets the round finish (later hooks get it as `stopping`), then the loop ends", async () => {
    const trainer = await irisTrainer();
    const early = new Recorder("e", { atEpoch: 2, reason: { kind: "early-stopping" } });
    const after = new Recorder("t");
    const result = await runLoop(trainer, settings(5), freshProgress(), [early, after]);
    expect(result.stop).toEqual({ kind: "early-stopping" });
    expect(after.calls).toContain("t:end2");
    expect(after.stoppingSeen).toEqual([null, "early-stopping"]);
    expect(early.stoppingSeen).toEqual([null, null]);
    expect(trainer.epoch).toBe(2);
    trainer.model.dispose();
    trainer.dispose();
  });

  test("the divergence guard stops mid-epoch on a non-finite running loss, and before validation at an epoch's end", async () => {
    const trainer = await regressionTrainer();
    const blowUp = { epochs: 3, validateEveryEpochs: 1, learningRateAt: () => 1e30 };
    const after = new Recorder("t");
    // Checking every step (period -1 ms), as it does every 400 ms in a run.
    const result = await runLoop(trainer, blowUp, freshProgress(), [new DivergenceGuard(-1), after]);
    expect(result.stop?.kind).toBe("diverged");
    expect(result.stop && "diagnosis" in result.stop ? result.stop.diagnosis : "").toMatch(/^diverged: the training loss became (NaN|Infinity|-Infinity) at step \d+ \(epoch 1\)$/);
    expect(after.calls.some((c) => c.startsWith("t:end"))).toBe(false);
    trainer.model.dispose();
    trainer.dispose();

    const again = await regressionTrainer();
    const atEpochEnd = await runLoop(again, blowUp, freshProgress(), [new DivergenceGuard(Number.POSITIVE_INFINITY)]);
    expect(atEpochEnd.stop && "diagnosis" in atEpochEnd.stop ? atEpochEnd.stop.diagnosis : "").toMatch(/^diverged: the training loss of epoch 1 is (NaN|Infinity)$/);
    // Counted but never validated: no metrics of a diverged model.
    expect(again.epoch).toBe(1);
    expect(atEpochEnd.metrics).toBeNull();
    again.model.dispose();
    again.dispose();
  });
});

describe("the Trainer owns its counters", () => {
  test("startEpoch / trainStep / endEpoch move them; setPosition restores them", async () => {
    const trainer = await irisTrainer();
    expect(trainer.inEpoch).toBe(false);
    trainer.startEpoch();
    expect(trainer.inEpoch).toBe(true);
    trainer.trainStep(0.01);
    trainer.trainStep(0.01);
    expect({ step: trainer.step, stepInEpoch: trainer.stepInEpoch, samples: trainer.epochSamples }).toEqual({ step: 2, stepInEpoch: 2, samples: 60 });
    const saved = trainer.getPosition();
    trainer.endEpoch();
    expect({ epoch: trainer.epoch, stepInEpoch: trainer.stepInEpoch, inEpoch: trainer.inEpoch }).toEqual({ epoch: 1, stepInEpoch: 0, inEpoch: false });
    trainer.setPosition(saved);
    expect({ step: trainer.step, epoch: trainer.epoch, stepInEpoch: trainer.stepInEpoch, inEpoch: trainer.inEpoch }).toEqual({ step: 2, epoch: 0, stepInEpoch: 2, inEpoch: true });
    expect(Object.getOwnPropertyDescriptor(Trainer.prototype, "epoch")?.set).toBeUndefined();
    trainer.model.dispose();
    trainer.dispose();
  });
});

describe("the hooks inside train()", () => {
  const drive = path.join(work, "drive");
  const steps = (runDir: string) =>
    fs
      .readdirSync(path.join(runDir, "checkpoints"))
      .map(parseCheckpointName)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);

  test("checkpoints on disk are the ones the policy decides, replayed from the run's own metrics", async () => {
    const checkpoint = { everyEpochs: 2, everySteps: 3, keepLast: 2, keepBest: true };
    const r = await train(
      { seed: 4, data: { train: { builtin: "iris" } }, model: { zoo: "mlp", hidden: [8] }, epochs: 5, batchSize: 30, tier: "3", checkpoint, drive },
      { cwd: work },
    );
    expect(r.status).toBe("completed");
    const rows = (await readMetrics(r.runDir)).rows;
    expect(rows).toHaveLength(5);
    // Replay: steps 1..20, 4 per epoch; mid-epoch every 3 steps, then each epoch end.
    let kept: number[] = [];
    let bestValue = Infinity;
    let bestStep: number | undefined;
    const commit = (step: number, isBest: boolean) => {
      if (isBest) bestStep = step;
      const gone = checkpointsToRemove([...kept, step], { committed: step, keepLast: 2, keepBest: true, bestStep });
      kept = [...kept.filter((s) => s !== step), step].filter((s) => !gone.includes(s)).sort((a, b) => a - b);
    };
    let saves = 0;
    for (const row of rows) {
      for (let step = row.step - 3; step < row.step; step++) {
        if (step % 3 !== 0) continue;
        commit(step, false);
        saves++;
      }
      const value = row.val_loss as number;
      const isBest = value < bestValue;
      if (isBest) bestValue = value;
      const d = saveAtEpochEnd(checkpoint, { epoch: row.epoch, step: row.step, endsRun: row.epoch === 5, isBest });
      if (!d.save) continue;
      commit(row.step, d.asBest);
      saves++;
    }
    expect(steps(r.runDir)).toEqual(kept);
    expect(r.tiers["3"].details.checkpoints).toBe(saves);
    expect(JSON.parse(fs.readFileSync(path.join(r.runDir, "best", "MANIFEST.json"), "utf8")).step).toBe(bestStep);
    expect(r.best?.step).toBe(bestStep);
  });

  test("a listener that stops the run at an epoch's end: stopped after that epoch, with the checkpoint it promises; resume ends bit-identical", async () => {
    const config = {
      seed: 6,
      data: { train: { builtin: "iris" as const } },
      model: { zoo: "mlp" as const, hidden: [8], dropout: 0.2 },
      epochs: 4,
      batchSize: 30,
      tier: "3" as const,
      checkpoint: { everyEpochs: 0, everySteps: 0, keepLast: 3, keepBest: false },
      drive,
    };
    const whole = await train(config, { cwd: work });
    const stop = new AbortController();
    const stopped = await train(config, { cwd: work, signal: stop.signal, onProgress: (e) => e.epochEnded && e.epoch === 2 && stop.abort() });
    expect(stopped.status).toBe("stopped");
    expect(stopped.diagnosis).toMatch(/^interrupted after epoch 2; checkpoint written/);
    expect(steps(stopped.runDir)).toEqual([8]);
    const resumed = await train(undefined, { cwd: work, resume: stopped.runDir });
    expect(resumed.resumedFrom).toBe("step-000000008");
    expect(resumed.status).toBe("completed");
    expect(resumed.model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(whole.model.getWeights().map((w) => Array.from(w.dataSync())));
  });

  test("one event stream: tiers, then every epoch's end, then done, each with the run's facts", async () => {
    const events: ProgressEvent[] = [];
    const r = await train({ seed: 2, data: { train: { builtin: "iris" } }, epochs: 3, batchSize: 30, tier: "3", drive }, { cwd: work, onProgress: (e) => events.push(e) });
    const marks = events.filter((e) => e.message || e.epochEnded).map((e) => (e.epochEnded ? `epoch ${e.epoch}` : e.message));
    expect(marks).toEqual(["tier 3 running", "epoch 1", "epoch 2", "epoch 3", "tier 3 passed", "run completed"]);
    for (const e of events) expect({ runId: e.runId, epochs: e.epochs, stepsPerEpoch: e.stepsPerEpoch }).toEqual({ runId: r.runId, epochs: 3, stepsPerEpoch: 4 });
    const last = events[events.length - 1];
    expect({ phase: last.phase, step: last.step, epoch: last.epoch, stopped: last.stopped }).toEqual({ phase: "done", step: 12, epoch: 3, stopped: false });
    expect(last.history).toBe(r.history);
  });
});

describe("the train() result", () => {
  test("typed model and history; its JSON is the summary alone", async () => {
    const r = await train({ seed: 1, data: { train: { builtin: "iris" } }, epochs: 2, batchSize: 30, tier: "3", drive: path.join(work, "drive-json") }, { cwd: work });
    expect(r.model.layers.length).toBeGreaterThan(0);
    expect(r.history.map((row) => row.epoch)).toEqual([1, 2]);
    const json = JSON.parse(JSON.stringify(r));
    expect(json).not.toHaveProperty("model");
    expect(json).not.toHaveProperty("history");
    expect(json).toEqual(JSON.parse(JSON.stringify(r.summary)));
    expect(trainSummarySchema.strict().parse(json).runId).toBe(r.runId);
    expect(Object.keys(r.summary)).toEqual(Object.keys(json));
    // run.json never carries them either.
    const runJson = JSON.parse(fs.readFileSync(path.join(r.runDir, "run.json"), "utf8"));
    expect(runJson).not.toHaveProperty("model");
    expect(runJson).not.toHaveProperty("history");
  });
});
