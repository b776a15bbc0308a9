// The tfjs training step the bench times, the kind of step tscolab's loop
// does (engine/train/trainer.ts): tf.variableGrads, then an optimizer update,
// no sync reads inside the step; the summed loss is read once per epoch.
//   "tscolab": train's own Optimizer (engine/train/optimizers.ts, fused Adam);
//              the language model goes through the Trainer itself (its batch
//              gather, the LM objective, the step's seeded randomness), as
//              bench/lm_speed.ts and `%train` run it
//   "stock":   tf.train.adam, what plain tfjs gives you
import type * as tfType from "@tensorflow/tfjs";
import { Optimizer } from "../engine/train/optimizers";
import { Trainer } from "../engine/train/trainer";
import type { BenchModel } from "./train_models";

type TF = typeof tfType;

export type StepFlavour = "tscolab" | "stock";

/** One step on batch `index` of the model's batches (x and y are that batch); the caller disposes the loss. */
export type TrainStep = ((x: tfType.Tensor, y: tfType.Tensor, index?: number) => tfType.Scalar) & {
  /** Frees what the step holds besides the model (the Trainer's copy of the data, optimizer slots). */
  dispose(): void;
};

export function makeTrainStep(tf: TF, bm: BenchModel, flavour: StepFlavour, learningRate = 1e-3): TrainStep {
  const vars = bm.model.trainableWeights.map((w) => w.read() as tfType.Variable);
  const lossOf = (x: tfType.Tensor, y: tfType.Tensor) => () => bm.loss(bm.model.apply(x, { training: true }) as tfType.Tensor, y);
  if (flavour === "stock") {
    const adam = tf.train.adam(learningRate);
    const step = (x: tfType.Tensor, y: tfType.Tensor): tfType.Scalar => {
      const { value, grads } = tf.variableGrads(lossOf(x, y), vars);
      adam.applyGradients(grads as tfType.NamedTensorMap as Record<string, tfType.Variable>);
      tf.dispose(grads);
      return value;
    };
    return Object.assign(step, { dispose: () => adam.dispose() });
  }
  if (bm.lm) {
    const { data, objective, batchSize } = bm.lm;
    const trainer = new Trainer(tf, bm.model, data, {
      task: "classification",
      logits: true,
      outputs: data.outputs,
      batchSize,
      seed: 1,
      gradClipNorm: null,
      optimizer: { kind: "adam", weightDecay: 0, momentum: 0 },
      objective,
    });
    // The Trainer gathers its batch from its own copy of the rows: batch `index` is rows index·b ….
    const rowsOf = (index: number) => Int32Array.from({ length: Math.min(batchSize, data.train.n - index * batchSize) }, (_, i) => index * batchSize + i);
    const step = (_x: tfType.Tensor, _y: tfType.Tensor, index = 0): tfType.Scalar => trainer.stepOn(rowsOf(index), learningRate);
    return Object.assign(step, { dispose: () => trainer.dispose() });
  }
  const optimizer = new Optimizer(tf, vars, { kind: "adam", weightDecay: 0, momentum: 0 });
  const step = (x: tfType.Tensor, y: tfType.Tensor): tfType.Scalar => {
    const { value, grads } = tf.variableGrads(lossOf(x, y), vars);
    const ordered = vars.map((v) => grads[v.name]);
    optimizer.apply(ordered, learningRate);
    tf.dispose(ordered);
    return value;
  };
  return Object.assign(step, { dispose: () => optimizer.dispose() });
}

/** Runs one epoch; returns samples per second and the mean loss (finite-checked by the caller). */
export function runEpoch(tf: TF, bm: BenchModel, step: TrainStep, batches = bm.batches) {
  const t0 = performance.now();
  let samples = 0;
  const losses: tfType.Scalar[] = [];
  batches.forEach((b, i) => {
    losses.push(step(b.x, b.y, i));
    samples += b.x.shape[0];
  });
  const total = tf.tidy(() => tf.addN(losses));
  const meanLoss = total.dataSync()[0] / losses.length;
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([total, ...losses]);
  return { samplesPerSec: samples / seconds, meanLoss };
}
