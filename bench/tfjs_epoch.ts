// The tfjs training step the bench times, the kind of step tscolab's loop
// does (engine/train/trainer.ts): tf.variableGrads, then an optimizer update,
// no sync reads inside the step; the summed loss is read once per epoch.
//   "tscolab": train's own Optimizer (engine/train/optimizers.ts, fused Adam)
//   "stock":   tf.train.adam, what plain tfjs gives you
import type * as tfType from "@tensorflow/tfjs";
import { Optimizer } from "../engine/train/optimizers";
import type { BenchModel } from "./train_models";

type TF = typeof tfType;

export type StepFlavour = "tscolab" | "stock";

export function makeTrainStep(tf: TF, bm: BenchModel, flavour: StepFlavour, learningRate = 1e-3) {
  const vars = bm.model.trainableWeights.map((w) => w.read() as tfType.Variable);
  const lossOf = (x: tfType.Tensor, y: tfType.Tensor) => () => bm.loss(bm.model.apply(x, { training: true }) as tfType.Tensor, y);
  if (flavour === "stock") {
    const adam = tf.train.adam(learningRate);
    return (x: tfType.Tensor, y: tfType.Tensor): tfType.Scalar => {
      const { value, grads } = tf.variableGrads(lossOf(x, y), vars);
      adam.applyGradients(grads as tfType.NamedTensorMap as Record<string, tfType.Variable>);
      tf.dispose(grads);
      return value;
    };
  }
  const optimizer = new Optimizer(tf, vars, { kind: "adam", weightDecay: 0, momentum: 0 });
  return (x: tfType.Tensor, y: tfType.Tensor): tfType.Scalar => {
    const { value, grads } = tf.variableGrads(lossOf(x, y), vars);
    const ordered = vars.map((v) => grads[v.name]);
    optimizer.apply(ordered, learningRate);
    tf.dispose(ordered);
    return value;
  };
}

/** Runs one epoch; returns samples per second and the mean loss (finite-checked by the caller). */
export function runEpoch(tf: TF, bm: BenchModel, step: ReturnType<typeof makeTrainStep>, batches = bm.batches) {
  const t0 = performance.now();
  let samples = 0;
  const losses: tfType.Scalar[] = [];
  for (const b of batches) {
    losses.push(step(b.x, b.y));
    samples += b.x.shape[0];
  }
  const total = tf.tidy(() => tf.addN(losses));
  const meanLoss = total.dataSync()[0] / losses.length;
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([total, ...losses]);
  return { samplesPerSec: samples / seconds, meanLoss };
}
