// Image folders (data.train = a folder of class subfolders), with PNG and
// JPEG files made here by the same libraries that decode them: decoding,
// channels, bilinear resizing (checked against tfjs's own), the folder's
// order and size rules, every bad folder or file as one line naming it,
// seeded flip/crop augmentation (exact pixel moves, the same for the same
// step), a CNN trained on a folder and interrupted mid-run then resumed
// bit-identical with augmentation on, and the export recording the image
// size and channels.
process.env.TSCOLAB_BACKEND = "cpu"; // bit-identity is promised on one backend
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { describe, expect, test } from "vitest";
import { imageAugmenter, loadImageFolder, resizeBilinear, toPixels, decodeImageFile } from "../engine/data/images";
import { evaluate, predict } from "../engine/evaluate/evaluate";
import type { ClassificationMetrics } from "../engine/evaluate/metrics";
import { exportModel } from "../engine/export/export";
import { loadLatestCheckpoint, sha256 } from "../engine/store";
import { train } from "../engine/train/train";
import { TscolabError } from "../engine/errors";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-images-"));

type Rgb = (x: number, y: number) => [number, number, number];

function pngBytes(w: number, h: number, px: Rgb, alpha = 255): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      png.data.set([r, g, b, alpha], (y * w + x) * 4);
    }
  return PNG.sync.write(png);
}

function jpegBytes(w: number, h: number, px: Rgb): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([...px(x, y), 255], (y * w + x) * 4);
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}

function put(file: string, bytes: Buffer): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

/** A bar across (row `at`) or down (column `at`) on a dim noisy background; PNGs of 12×12 and JPEGs of 16×16. */
function makeBars(root: string, perClass: number, seed: number): void {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const cls of ["across", "down"]) {
    for (let i = 0; i < perClass; i++) {
      const size = i % 3 === 2 ? 16 : 12;
      const at = 2 + Math.floor(rnd() * (size - 4));
      const px: Rgb = (x, y) => {
        const on = cls === "across" ? y === at : x === at;
        const v = on ? 200 + Math.floor(rnd() * 55) : Math.floor(rnd() * 60);
        return [v, v, Math.min(255, v + 10)];
      };
      if (size === 16) put(path.join(root, cls, `img${String(i).padStart(2, "0")}.jpg`), jpegBytes(size, size, px));
      else put(path.join(root, cls, `img${String(i).padStart(2, "0")}.png`), pngBytes(size, size, px));
    }
  }
}

describe("decoding and resizing", () => {
  test("PNG pixels exactly, grey by integer luma (a grey image stays exactly grey), JPEG close, alpha dropped", () => {
    const file = put(
      path.join(work, "one", "a.png"),
      pngBytes(3, 2, (x, y) => [x * 100, y * 200, 7], 128),
    );
    const rgb = toPixels(decodeImageFile(file), [2, 3], 3);
    expect(Array.from(rgb)).toEqual([0, 0, 7, 100, 0, 7, 200, 0, 7, 0, 200, 7, 100, 200, 7, 200, 200, 7].map((v) => Math.fround(v / 255)));
    const grey = put(
      path.join(work, "one", "g.png"),
      pngBytes(2, 1, (x) => [x ? 77 : 250, x ? 77 : 250, x ? 77 : 250]),
    );
    expect(Array.from(toPixels(decodeImageFile(grey), [1, 2], 1))).toEqual([250 / 255, 77 / 255].map(Math.fround));
    const j = put(
      path.join(work, "one", "j.jpg"),
      jpegBytes(8, 8, () => [120, 60, 200]),
    );
    const pj = toPixels(decodeImageFile(j), [8, 8], 3);
    for (let i = 0; i < 64; i++) expect(Math.abs(pj[i * 3]! - 120 / 255)).toBeLessThan(0.03);
  });

  test("bilinear resize with half-pixel centres agrees with tf.image.resizeBilinear", async () => {
    await tf.setBackend("cpu");
    const src = Float32Array.from({ length: 5 * 7 * 2 }, (_, i) => Math.sin(i * 0.7));
    for (const [oh, ow] of [
      [3, 4],
      [9, 11],
      [5, 3],
    ] as const) {
      const ours = resizeBilinear(src, 5, 7, 2, oh, ow);
      const theirs = tf.image.resizeBilinear(tf.tensor4d(src, [1, 5, 7, 2]), [oh, ow], false, true).dataSync();
      ours.forEach((v, i) => expect(Math.abs(v - theirs[i]!)).toBeLessThan(1e-5));
    }
  });
});

describe("image folders", () => {
  const root = path.join(work, "bars", "train");
  makeBars(root, 12, 1);
  makeBars(path.join(work, "bars", "valid"), 4, 2);

  test("classes are the sorted subfolders, rows go class by class in file order, every image at the first image's size", () => {
    fs.writeFileSync(path.join(root, "across", "notes.txt"), "not an image, ignored");
    fs.writeFileSync(path.join(root, "across", ".DS_Store"), "hidden, ignored");
    const f = loadImageFolder(root, { channels: 1 });
    expect(f.classes).toEqual(["across", "down"]);
    expect(f.files.map((x) => `${x.label}/${path.basename(x.file)}`).slice(0, 3)).toEqual(["across/img00.png", "across/img01.png", "across/img02.jpg"]);
    expect(f.files).toHaveLength(24);
    expect(f.info).toEqual({ size: [12, 12], channels: 1, scale: "1/255", resize: "bilinear (half-pixel centres)" });
    expect(f.x.length).toBe(24 * 12 * 12);
    const sized = loadImageFolder(root, { imageSize: [6, 10] });
    expect(sized.x.length).toBe(24 * 6 * 10 * 3);
  });

  test("bad folders and files, one line each, naming them", () => {
    const bad = path.join(work, "bad");
    fs.mkdirSync(path.join(bad, "flat"), { recursive: true });
    put(
      path.join(bad, "flat", "loose.png"),
      pngBytes(2, 2, () => [1, 2, 3]),
    );
    expect(() => loadImageFolder(path.join(bad, "flat"))).toThrow(
      new TscolabError(
        `image folder ${path.join(bad, "flat")} has no class subfolders`,
        `put each class's images in its own subfolder: ${path.join(bad, "flat", "<class>", "<image>.png")}`,
      ),
    );
    put(
      path.join(bad, "empty", "cat", "a.png"),
      pngBytes(2, 2, () => [1, 2, 3]),
    );
    fs.mkdirSync(path.join(bad, "empty", "dog"));
    fs.writeFileSync(path.join(bad, "empty", "dog", "readme.txt"), "no images here");
    expect(() => loadImageFolder(path.join(bad, "empty"))).toThrow(
      `class folder ${path.join(bad, "empty", "dog")} has no PNG or JPEG files (fix: add images to it, or remove the folder)`,
    );
    put(
      path.join(bad, "broken", "cat", "a.png"),
      pngBytes(2, 2, () => [1, 2, 3]),
    );
    put(path.join(bad, "broken", "cat", "b.png"), Buffer.from("this is not a picture"));
    expect(() => loadImageFolder(path.join(bad, "broken"))).toThrow(
      `cannot decode image ${path.join(bad, "broken", "cat", "b.png")}: it is neither a PNG nor a JPEG (no PNG or JPEG signature) (fix: replace or delete the file (loading stops at the first image it cannot read))`,
    );
    const whole = pngBytes(4, 4, () => [9, 9, 9]);
    put(path.join(bad, "cut", "cat", "a.png"), whole.subarray(0, whole.length - 20));
    expect(() => loadImageFolder(path.join(bad, "cut"))).toThrow(new RegExp(`^cannot decode image ${path.join(bad, "cut", "cat", "a.png")}: damaged PNG `));
    put(path.join(bad, "gif", "cat", "a.gif"), Buffer.from("GIF89a"));
    expect(() => loadImageFolder(path.join(bad, "gif"))).toThrow(`image ${path.join(bad, "gif", "cat", "a.gif")} is not a PNG or JPEG; only those are read`);
    expect(() => loadImageFolder(path.join(bad, "empty"), { classes: ["bird"] })).toThrow(/class folder .*cat has no counterpart among the training classes \(bird\)/);
  });

  test("bad config, one line each: label or features for a folder, image keys for a table, augmentation of a table", async () => {
    const drive = path.join(work, "drive-bad");
    await expect(train({ data: { train: root, label: "y" } }, { drive })).rejects.toThrow(/data.label does not apply to the image folder .*: its classes are its subfolders/);
    await expect(train({ data: { train: { builtin: "iris" }, augment: { flip: true } }, epochs: 1 }, { drive })).rejects.toThrow(
      "data.augment works on image input [height, width, channels]; this data has shape [4]",
    );
    const csv = path.join(work, "t.csv");
    fs.writeFileSync(csv, "a,label\n1,x\n2,y\n");
    await expect(train({ data: { train: csv, imageSize: [8, 8] } }, { drive })).rejects.toThrow(/data.imageSize and data.channels apply to image folders/);
    await expect(train({ data: { train: root, valid: csv } }, { drive })).rejects.toThrow(`data.valid ${csv} is a table but data.train is an image folder`);
    await expect(train({ data: { train: csv, valid: root } }, { drive })).rejects.toThrow(`data.valid ${root} is an image folder but data.train is a table`);
  });
});

describe("augmentation", () => {
  test("flip mirrors exactly, crop shifts exactly with zero padding; the same step draws the same, another step differs", async () => {
    await tf.setBackend("cpu");
    const x = tf.tensor4d(
      Float32Array.from({ length: 4 * 5 * 6 }, (_, i) => i + 1),
      [4, 5, 6, 1],
    );
    const flip = imageAugmenter(tf, { flip: true }, [5, 6, 1], 3)!;
    const f = (await flip(x, 0).array()) as number[][][][];
    const orig = (await x.array()) as number[][][][];
    const mirrored = f.map((img, b) => img.every((row, y) => row.every((v, c) => v[0] === orig[b]![y]![5 - c]![0])));
    const same = f.map((img, b) => img.every((row, y) => row.every((v, c) => v[0] === orig[b]![y]![c]![0])));
    expect(mirrored.map((m, b) => m || same[b])).toEqual([true, true, true, true]);
    expect(mirrored.some(Boolean) && same.some(Boolean)).toBe(true);
    expect(await flip(x, 0).array()).toEqual(f);
    const crop = imageAugmenter(tf, { crop: 0.4 }, [5, 6, 1], 3)!;
    const steps = await Promise.all([0, 1, 2, 3].map(async (s) => (await crop(x, s).array()) as number[][][][]));
    // Every output pixel is the input moved by one offset per example, or padding (0).
    for (const out of steps)
      out.forEach((img, b) => {
        const found = [-2, -1, 0, 1, 2]
          .flatMap((dy) => [-2, -1, 0, 1, 2].map((dx) => [dy, dx] as const))
          .filter(([dy, dx]) => img.every((row, y) => row.every((v, c) => v[0] === (orig[b]![y + dy]?.[c + dx]?.[0] ?? 0))));
        expect(found.length, `example ${b}`).toBeGreaterThan(0);
      });
    expect(steps[1]).not.toEqual(steps[0]);
    expect(imageAugmenter(tf, { flip: false, crop: false }, [5, 6, 1], 3)).toBeUndefined();
  });

  test("a CNN on an image folder with flip and crop, interrupted and resumed: bit-identical; the export records the image size and channels", async () => {
    const t0 = Date.now();
    const config = {
      runName: "bars",
      seed: 4,
      data: {
        train: path.join(work, "bars", "train"),
        valid: path.join(work, "bars", "valid"),
        imageSize: [10, 10] as [number, number],
        channels: 1 as const,
        augment: { flip: true, crop: true },
      },
      model: { zoo: "cnn" as const, filters: [6], dense: 12 },
      epochs: 6,
      batchSize: 6,
      learningRate: 0.01,
      checkpoint: { everyEpochs: 1, everySteps: 3 },
    };
    const whole = await train(config, { drive: path.join(work, "drive-whole") });
    expect(whole.status).toBe("completed");
    expect(whole.dataset).toMatchObject({ inputShape: [10, 10, 1], trainExamples: 24, validExamples: 8, labels: ["across", "down"], image: { size: [10, 10], channels: 1 } });

    const drive = path.join(work, "drive-stop");
    const controller = new AbortController();
    const stopped = await train(config, { drive, signal: controller.signal, onProgress: (e) => e.phase === "tier3" && e.step >= 10 && controller.abort() });
    expect(stopped.status).toBe("stopped");
    const resumed = await train(undefined, { drive, resume: "last" });
    expect(resumed.status).toBe("completed");
    const weights = async (runDir: string) => sha256((await loadLatestCheckpoint(runDir)).checkpoint!.files["weights.bin"]!);
    expect(await weights(resumed.runDir)).toBe(await weights(whole.runDir));
    expect(resumed.metrics).toEqual(whole.metrics);
    // The augmentation is really on: without it the same run ends elsewhere.
    const plain = await train({ ...config, runName: "plain", data: { ...config.data, augment: undefined } }, { drive: path.join(work, "drive-plain") });
    expect(await weights(plain.runDir)).not.toBe(await weights(whole.runDir));

    const exported = await exportModel({ run: whole.runDir, formats: ["tfjs"], out: path.join(work, "export"), latencyRuns: 2 });
    const meta = JSON.parse(fs.readFileSync(path.join(exported.out, "tfjs", "model.json"), "utf8")).userDefinedMetadata;
    expect(meta.image).toEqual({ size: [10, 10], channels: 1, scale: "1/255", resize: "bilinear (half-pixel centres)" });
    expect(meta.labels).toEqual(["across", "down"]);

    // evaluate and predict take an image folder, decoded at the run's size and channels.
    const validFolder = path.join(work, "bars", "valid");
    const scored = await evaluate({ run: whole.runDir, checkpoint: "last", data: validFolder });
    expect(scored.rows).toBe(8);
    expect((scored.metrics as ClassificationMetrics).accuracy).toBeCloseTo(whole.metrics.val_accuracy!, 6);
    const fromExport = await evaluate({ model: exported.out, data: validFolder });
    expect((fromExport.metrics as ClassificationMetrics).accuracy).toBe((scored.metrics as ClassificationMetrics).accuracy);
    const predicted = await predict({ run: whole.runDir, checkpoint: "last", data: validFolder, out: path.join(work, "bars-predictions.csv") });
    expect(predicted.rows).toBe(8);
    await expect(evaluate({ run: whole.runDir, data: path.join(work, "bars", "nope") })).rejects.toThrow(/nope/);
    console.log(`image folder runs + export: ${((Date.now() - t0) / 1000).toFixed(1)} s; val_accuracy ${whole.metrics.val_accuracy}`);
  });
});
