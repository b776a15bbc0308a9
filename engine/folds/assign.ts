// Which fold holds out each row: K folds, seeded. Classification folds are
// stratified (each class's rows, in a seeded order, dealt round-robin to the
// folds, the dealing continuing from class to class so fold sizes stay
// within one row of each other); regression rows are dealt in one seeded
// order. The assignment depends on the labels, K and the seed alone, so every
// run that reads the same rows (a fold run, its parent, a later pipeline
// stage) finds the same folds.
import { z } from "zod";
import { TscolabError } from "../errors";
import { Rng } from "../util/rng";

/** A fold run's data: every row but the fold `holdOut` (1-based) of `of` trains; that fold validates. */
export const foldSelection = z
  .object({
    of: z.number().int().describe("number of folds"),
    holdOut: z.number().int().min(1).describe("the fold held out for validation (1-based)"),
    seed: z.number().int().min(0).describe("seed of the fold assignment"),
  })
  .strict()
  .describe("set by folds: this run trains on every fold but holdOut, which it validates on");
export type FoldSelection = z.infer<typeof foldSelection>;

/** Refuses fewer than two folds, with the fix. */
export function checkFoldCount(k: number): void {
  if (!Number.isInteger(k) || k < 2)
    throw new TscolabError(`folds: ${k} is not a fold count; cross-validation needs at least 2 folds`, 'set "folds" to 2 or more (or "auto"), or leave it out for one run');
}

/**
 * The fold (0-based) of every row. `y` holds class indices (classification)
 * or targets (regression); `classes` names the classes for error messages.
 */
export function assignFolds(y: ArrayLike<number>, opts: { k: number; seed: number; stratified: boolean; classes?: readonly string[]; source: string }): Int32Array {
  const { k, seed, source } = opts;
  checkFoldCount(k);
  const n = y.length;
  const fold = new Int32Array(n);
  const rng = Rng.create(seed, "folds");
  if (!opts.stratified) {
    if (k > n) throw new TscolabError(`folds: ${k} is more than the ${n} rows of ${source}`, `use folds <= ${n}, or add rows`);
    const order = rng.permutation(n);
    order.forEach((row, i) => (fold[row] = i % k));
    return fold;
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const rows = byClass.get(y[i]);
    if (rows) rows.push(i);
    else byClass.set(y[i], [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  let smallest = classes[0]!;
  for (const c of classes) if (byClass.get(c)!.length < byClass.get(smallest)!.length) smallest = c;
  const fewest = byClass.get(smallest)!.length;
  if (k > fewest) {
    const name = opts.classes?.[smallest] ?? String(smallest);
    throw new TscolabError(
      `folds: ${k} is more than the ${fewest} row${fewest === 1 ? "" : "s"} of class ${JSON.stringify(name)} in ${source}; every fold must hold out at least one row of each class`,
      `use folds <= ${fewest}, or add rows of that class`,
    );
  }
  let next = 0;
  for (const c of classes) {
    const rows = byClass.get(c)!;
    const order = rng.permutation(rows.length);
    for (const i of order) {
      fold[rows[i]!] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

/** Rows (ascending) that train and that validate when fold `holdOut` (1-based) is held out. */
export function foldRows(fold: Int32Array, holdOut: number): { train: Int32Array; valid: Int32Array } {
  const train: number[] = [];
  const valid: number[] = [];
  fold.forEach((f, row) => (f === holdOut - 1 ? valid : train).push(row));
  return { train: Int32Array.from(train), valid: Int32Array.from(valid) };
}
