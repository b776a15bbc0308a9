// The tfjs training step the bench times: the kind of step tscolab's loop
// does (tf.variableGrads + optimizer.applyGradients, no sync reads inside the
// step; the summed loss is read once per epoch).
import type * as tfType from "@tensorflow/tfjs";
import type { BenchModel } from "./train_models";

type TF = typeof tfType;

export function makeTrainStep(tf: TF, bm: BenchModel, learningRate = 1e-3) {
  const optimizer = tf.train.adam(learningRate);
  const vars = bm.model.trainableWeights.map((w) => w.read() as tfType.Variable);
  return (x: tfType.Tensor, y: tfType.Tensor): tfType.Scalar => {
    const { value, grads } = tf.variableGrads(() => bm.loss(bm.model.apply(x, { training: true }) as tfType.Tensor, y), vars);
    optimizer.applyGradients(grads as tfType.NamedTensorMap as Record<string, tfType.Variable>);
    tf.dispose(grads);
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
