// The step loop's machinery (ours, not model.fit): data kept on the device,
// batches gathered by a seeded per-epoch permutation, gradients from
// tf.variableGrads, global-norm clipping, our optimizer, and every random
// draw of the forward pass (dropout masks) taken from a seeded stream whose
// state is saved with the checkpoint. No host reads inside a step: the epoch
// loss accumulates on the device and is read when someone asks for it.
import type * as tfType from "@tensorflow/tfjs";
import type { LoadedDataset, Split } from "../data/dataset";
import type { Task } from "../data/schema";
import { Rng, withSeededMathRandom, type RngState } from "../util/rng";
import { accuracy, batchLoss, predictedClass, regressionMetrics, type LossSpec, type ValidationMetrics } from "./metrics";
import type { Objective } from "./objective";
import { Optimizer, type OptimizerSettings } from "./optimizers";

type TF = typeof tfType;

export interface TrainerSettings {
  task: Task;
  /** Classification outputs are logits (no softmax in the model). */
  logits: boolean;
  outputs: number;
  /** Two classes from a one-unit sigmoid output. */
  binary?: boolean;
  batchSize: number;
  seed: number;
  gradClipNorm: number | null;
  optimizer: OptimizerSettings;
  /** Seeded augmentation of each training batch (image flips and crops), given the global step. */
  augment?: (x: tfType.Tensor, step: number) => tfType.Tensor;
  /** Replaces the built-in classification / regression loss and metrics (language modeling). */
  objective?: Objective;
}

/** Where the loop is, and every random stream: what a checkpoint must hold besides weights. */
export interface LoopPosition {
  step: number;
  epoch: number;
  stepInEpoch: number;
  order: number[];
  rng: { shuffle: RngState; step: RngState };
  epochLossSum: number;
  epochSamples: number;
}

export interface WeightGradient {
  layer: string;
  layerClass: string;
  weight: string;
  absSum: number;
  finite: boolean;
}

function splitTensors(tf: TF, split: Split, task: Task, inputShape: number[]): { x: tfType.Tensor; y: tfType.Tensor } {
  const x = tf.tensor(split.x, [split.n, ...inputShape], "float32");
  const y = task === "classification" ? tf.tensor1d(Int32Array.from(split.y), "int32") : tf.tensor1d(split.y, "float32");
  return { x, y };
}

export class Trainer {
  readonly vars: tfType.Variable[];
  readonly optimizer: Optimizer;
  readonly stepsPerEpoch: number;
  readonly nTrain: number;
  private readonly train: { x: tfType.Tensor; y: tfType.Tensor };
  private readonly valid: { x: tfType.Tensor; y: tfType.Tensor };
  private readonly validLabels: Float32Array;
  private readonly lossSum: tfType.Variable;
  private readonly lossSpec: LossSpec;
  private shuffleRng: Rng;
  private stepRng: Rng;
  // The loop counters: only the Trainer moves them (trainStep, startEpoch, endEpoch, setPosition, resetLoop).
  private _step = 0;
  private _epoch = 0;
  private _stepInEpoch = 0;
  private _epochSamples = 0;
  /** This epoch's data order; empty between epochs. */
  private order: Int32Array;

  constructor(
    private readonly tf: TF,
    readonly model: tfType.LayersModel,
    readonly data: LoadedDataset,
    readonly settings: TrainerSettings,
  ) {
    this.lossSpec = { task: settings.task, outputs: settings.outputs, logits: settings.logits, binary: settings.binary };
    this.vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
    this.optimizer = new Optimizer(tf, this.vars, settings.optimizer);
    this.nTrain = data.train.n;
    this.stepsPerEpoch = Math.ceil(this.nTrain / settings.batchSize);
    const objective = settings.objective;
    this.train = objective ? objective.tensors(tf, data.train) : splitTensors(tf, data.train, settings.task, data.info.inputShape);
    this.valid = objective ? objective.tensors(tf, data.valid) : splitTensors(tf, data.valid, settings.task, data.info.inputShape);
    this.validLabels = data.valid.y;
    this.lossSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
    this.shuffleRng = Rng.create(settings.seed, "shuffle");
    this.stepRng = Rng.create(settings.seed, "step");
    this.order = new Int32Array(0);
  }

  get validCount(): number {
    return this.data.valid.n;
  }

  /** Global steps taken. */
  get step(): number {
    return this._step;
  }

  /** Completed epochs. */
  get epoch(): number {
    return this._epoch;
  }

  /** Steps taken in the current epoch. */
  get stepInEpoch(): number {
    return this._stepInEpoch;
  }

  /** Training rows seen in the current epoch. */
  get epochSamples(): number {
    return this._epochSamples;
  }

  /** True between startEpoch and endEpoch, e.g. right after resuming from a mid-epoch checkpoint. */
  get inEpoch(): boolean {
    return this.order.length > 0;
  }

  /** Draws this epoch's data order from the shuffle stream and zeroes the epoch loss. */
  startEpoch(): void {
    this.order = this.shuffleRng.permutation(this.nTrain);
    this._stepInEpoch = 0;
    this._epochSamples = 0;
    this.tf.tidy(() => this.lossSum.assign(this.tf.scalar(0)));
  }

  /** Counts the epoch as completed and drops its data order; the epoch loss stays readable until the next startEpoch. */
  endEpoch(): void {
    this._epoch++;
    this.order = new Int32Array(0);
    this._stepInEpoch = 0;
  }

  /** Rows of the current batch (the last batch of an epoch may be smaller). */
  batchRows(stepInEpoch = this.stepInEpoch): Int32Array {
    const b = this.settings.batchSize;
    return this.order.subarray(stepInEpoch * b, Math.min((stepInEpoch + 1) * b, this.nTrain));
  }

  private batchLoss(pred: tfType.Tensor, y: tfType.Tensor): tfType.Scalar {
    const objective = this.settings.objective;
    return objective ? objective.loss(this.tf, pred, y) : batchLoss(this.tf, this.lossSpec, pred, y);
  }

  /** Loss of a batch with gradients for every trainable variable (caller disposes). */
  lossAndGrads(rows: Int32Array, rng: Rng): { value: tfType.Scalar; grads: tfType.Tensor[] } {
    const tf = this.tf;
    return tf.tidy(() => {
      const idx = tf.tensor1d(rows, "int32");
      const gathered = tf.gather(this.train.x, idx);
      const xb = this.settings.augment ? this.settings.augment(gathered, this._step) : gathered;
      const yb = tf.gather(this.train.y, idx);
      const { value, grads } = withSeededMathRandom(rng, () => tf.variableGrads(() => this.batchLoss(this.model.apply(xb, { training: true }) as tfType.Tensor, yb), this.vars));
      return { value, grads: this.vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
    });
  }

  /** One optimizer step on `rows` at learning rate `lr`; returns the (device) loss, which the caller disposes. */
  stepOn(rows: Int32Array, lr: number, rng: Rng = this.stepRng): tfType.Scalar {
    const tf = this.tf;
    const { value, grads } = this.lossAndGrads(rows, rng);
    tf.tidy(() => {
      let gs = grads;
      const clip = this.settings.gradClipNorm;
      if (clip) {
        const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(1, tf.div(clip, tf.maximum(norm, 1e-12)));
        gs = gs.map((g) => tf.mul(g, scale));
      }
      this.optimizer.apply(gs, lr);
    });
    tf.dispose(grads);
    return value;
  }

  /** The next step of the current epoch; the loss stays on the device. */
  trainStep(lr: number): number {
    const rows = this.batchRows();
    const value = this.stepOn(rows, lr);
    this.tf.tidy(() => this.lossSum.assign(this.tf.add(this.lossSum, this.tf.mul(value, rows.length))));
    value.dispose();
    this._step++;
    this._stepInEpoch++;
    this._epochSamples += rows.length;
    return rows.length;
  }

  /** Mean training loss of the epoch so far (one host read). */
  epochLoss(): number {
    return this.epochSamples ? (this.lossSum.dataSync()[0] as number) / this.epochSamples : NaN;
  }

  /** Per-weight gradient health on one batch (tier 1): one host read for all weights. */
  gradientReport(rows: Int32Array, rng: Rng): WeightGradient[] {
    const tf = this.tf;
    const { value, grads } = this.lossAndGrads(rows, rng);
    const stats = tf.tidy(() => tf.stack(grads.flatMap((g) => [tf.sum(tf.abs(g)), tf.all(tf.isFinite(g)).toFloat()])));
    const v = stats.dataSync();
    tf.dispose([value, ...grads, stats]);
    const owner = new Map<string, tfType.layers.Layer>();
    for (const layer of this.model.layers) for (const w of layer.trainableWeights) owner.set((w.read() as tfType.Variable).name, layer);
    return this.vars.map((variable, i) => {
      const layer = owner.get(variable.name);
      return {
        layer: layer?.name ?? "(unknown layer)",
        layerClass: layer?.getClassName() ?? "?",
        weight: variable.name.replace(/^.*\//, "").replace(/_\d+$/, ""),
        absSum: v[2 * i],
        finite: v[2 * i + 1] === 1 && Number.isFinite(v[2 * i]),
      };
    });
  }

  /** Inference-mode loss of some training rows (tier checks). */
  lossOn(rows: Int32Array): number {
    const tf = this.tf;
    const loss = tf.tidy(() => {
      const idx = tf.tensor1d(rows, "int32");
      return this.batchLoss(this.model.apply(tf.gather(this.train.x, idx), { training: false }) as tfType.Tensor, tf.gather(this.train.y, idx));
    });
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  }

  /** Validation metrics over `limit` rows (all by default), in batches, in inference mode. */
  evaluate(limit = this.validCount): ValidationMetrics | null {
    const tf = this.tf;
    const n = Math.min(limit, this.validCount);
    if (n === 0) return null;
    const chunk = Math.max(this.settings.batchSize, 256);
    if (this.settings.objective) return this.settings.objective.evaluate(tf, this.model, this.valid, n, chunk);
    const outputs = new Float32Array(n);
    let lossSum = 0;
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const [loss, out] = tf.tidy(() => {
        const xb = tf.slice(this.valid.x, start, size);
        const yb = tf.slice(this.valid.y, start, size);
        const pred = this.model.apply(xb, { training: false }) as tfType.Tensor;
        const l = batchLoss(tf, this.lossSpec, pred, yb);
        return [l, this.settings.task === "classification" ? predictedClass(tf, this.lossSpec, pred) : tf.reshape(pred, [-1])];
      });
      lossSum += (loss.dataSync()[0] as number) * size;
      outputs.set(out.dataSync() as ArrayLike<number>, start);
      tf.dispose([loss, out]);
    }
    const labels = this.validLabels.subarray(0, n);
    if (this.settings.task === "classification") return { val_loss: lossSum / n, val_accuracy: accuracy(outputs, labels) };
    const r = regressionMetrics(outputs, labels);
    return { val_loss: lossSum / n, val_mse: r.mse, val_mae: r.mae, val_pearson: r.pearson };
  }

  /** Copies of every weight (trainable and not, e.g. batch-norm statistics). */
  snapshotWeights(): tfType.Tensor[] {
    return this.model.getWeights().map((w) => w.clone());
  }

  restoreWeights(snapshot: tfType.Tensor[]): void {
    this.model.setWeights(snapshot);
  }

  /** Back to step 0 with fresh streams and optimizer (after tiers 1 and 2). */
  resetLoop(): void {
    this.optimizer.reset();
    this.shuffleRng = Rng.create(this.settings.seed, "shuffle");
    this.stepRng = Rng.create(this.settings.seed, "step");
    this._step = 0;
    this._epoch = 0;
    this._stepInEpoch = 0;
    this._epochSamples = 0;
    this.order = new Int32Array(0);
    this.tf.tidy(() => this.lossSum.assign(this.tf.scalar(0)));
  }

  getPosition(): LoopPosition {
    return {
      step: this.step,
      epoch: this.epoch,
      stepInEpoch: this.stepInEpoch,
      order: Array.from(this.order),
      rng: { shuffle: this.shuffleRng.getState(), step: this.stepRng.getState() },
      epochLossSum: this.lossSum.dataSync()[0] as number,
      epochSamples: this.epochSamples,
    };
  }

  setPosition(p: LoopPosition): void {
    this._step = p.step;
    this._epoch = p.epoch;
    this._stepInEpoch = p.stepInEpoch;
    this.order = Int32Array.from(p.order);
    this.shuffleRng = Rng.fromState(p.rng.shuffle);
    this.stepRng = Rng.fromState(p.rng.step);
    this._epochSamples = p.epochSamples;
    this.tf.tidy(() => this.lossSum.assign(this.tf.scalar(p.epochLossSum)));
  }

  dispose(): void {
    this.optimizer.dispose();
    this.lossSum.dispose();
    this.tf.dispose([this.train.x, this.train.y, this.valid.x, this.valid.y]);
  }
}
