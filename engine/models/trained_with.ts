// The data a model in memory was last trained on (`%train model`), so that
// `%export model` writes its labels and normalization into the artifacts as
// an export from the run folder does: the model was trained on normalised
// inputs, and a consumer without the statistics would feed it raw ones.
// A WeakMap: it never keeps a model alive.
const trainedOn = new WeakMap<object, unknown>();

export function recordTrainedDataset(model: object, dataset: unknown): void {
  trainedOn.set(model, dataset);
}

export function trainedDataset(model: object): unknown {
  return trainedOn.get(model);
}
