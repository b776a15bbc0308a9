// Language modeling as a training objective: windows of token ids in, the
// next token at every position out. The loss is the mean next-token
// cross-entropy over every position of the batch (tfjs' softmax
// cross-entropy, whose gradient is softmax - one-hot in one step; the
// log-sum-exp spelled out would send the gradient through a max, a
// broadcasting Equal that is slow on wasm); validation reports it as val_loss, its exponential
// as val_perplexity, and the share of positions whose most likely token is
// the right one as val_token_accuracy.
import type * as tfType from "@tensorflow/tfjs";
import type { Split } from "../data/dataset";
import type { LanguageModelMetrics } from "../train/metrics";
import type { Objective } from "../train/objective";

type TF = typeof tfType;

/** Per-position cross-entropy [b·T] of logits [b, T, V] against targets [b, T]. */
export function tokenCrossEntropy(tf: TF, logits: tfType.Tensor, targets: tfType.Tensor, vocabSize: number): tfType.Tensor1D {
  const flat = tf.reshape(logits, [-1, vocabSize]) as tfType.Tensor2D;
  const labels = tf.reshape(tf.cast(targets, "int32"), [-1]) as tfType.Tensor1D;
  const picked = tf.sum(tf.mul(tf.oneHot(labels, vocabSize), flat), -1);
  return tf.sub(tf.logSumExp(flat, -1), picked) as tfType.Tensor1D;
}

/**
 * Validation over the first `n` windows, `chunk` windows at a time: summed
 * cross-entropy and hits on the device, two host reads per chunk, float64
 * sums on the host. Export checks re-score with this same function.
 */
export function scoreLanguageModel(
  tf: TF,
  predict: (x: tfType.Tensor) => tfType.Tensor,
  valid: { x: tfType.Tensor; y: tfType.Tensor },
  n: number,
  chunk: number,
  vocabSize: number,
): LanguageModelMetrics {
  let lossSum = 0;
  let hits = 0;
  let tokens = 0;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const [loss, hit] = tf.tidy(() => {
      const xb = tf.slice(valid.x, start, size);
      const yb = tf.slice(valid.y, start, size);
      const logits = predict(xb);
      const ce = tokenCrossEntropy(tf, logits, yb, vocabSize);
      const correct = tf.equal(tf.reshape(tf.argMax(logits, -1), [-1]), tf.reshape(tf.cast(yb, "int32"), [-1]));
      return [tf.sum(ce), tf.sum(tf.cast(correct, "float32"))];
    });
    lossSum += loss.dataSync()[0];
    hits += hit.dataSync()[0];
    tokens += tokensIn(valid.y, size);
    tf.dispose([loss, hit]);
  }
  const meanLoss = lossSum / tokens;
  return { val_loss: meanLoss, val_perplexity: Math.exp(meanLoss), val_token_accuracy: hits / tokens };
}

const tokensIn = (y: tfType.Tensor, rows: number) => rows * (y.size / y.shape[0]);

export function languageModelObjective(seqLen: number, vocabSize: number): Objective {
  return {
    tokensPerRow: seqLen,
    tensors(tf: TF, split: Split) {
      return { x: tf.tensor2d(Int32Array.from(split.x), [split.n, seqLen], "int32"), y: tf.tensor2d(Int32Array.from(split.y), [split.n, seqLen], "int32") };
    },
    loss(tf: TF, pred: tfType.Tensor, y: tfType.Tensor) {
      const labels = tf.oneHot(tf.reshape(tf.cast(y, "int32"), [-1]) as tfType.Tensor1D, vocabSize);
      return tf.losses.softmaxCrossEntropy(labels, tf.reshape(pred, [-1, vocabSize])) as tfType.Scalar;
    },
    outputShape(rows: number) {
      return [rows, seqLen, vocabSize];
    },
    evaluate(tf: TF, model: tfType.LayersModel, valid: { x: tfType.Tensor; y: tfType.Tensor }, n: number, chunk: number) {
      return scoreLanguageModel(tf, (x) => model.apply(x, { training: false }) as tfType.Tensor, valid, n, chunk, vocabSize);
    },
  };
}
