// Seeded augmentation of image batches during training: `flip` mirrors an
// example left-right with probability 1/2, `crop` shifts it by up to a
// fraction of each side (padding with zeros, then cropping back to [H, W],
// the "pad and random crop" of CIFAR training). Both are one gather on the
// device, so pixels are copied exactly, never interpolated.
//
// The draws for global step s come from a stream seeded by (run seed, s)
// alone: nothing to checkpoint, and a resumed run augments every batch
// exactly as the uninterrupted run did.
import type * as tfType from "@tensorflow/tfjs";
import { z } from "zod";
import { TscolabError } from "../../errors";
import { Rng } from "../../util/rng";

/** Crop when written as `true`: shifts of up to 1/8 of each side. */
export const DEFAULT_CROP = 0.125;

export const augmentConfig = z
  .object({
    flip: z.boolean().optional().describe("mirror left-right with probability 1/2"),
    crop: z
      .union([z.boolean(), z.number().gt(0).max(0.5)])
      .optional()
      .describe(`shift by up to this fraction of each side, zero-padded (true: ${DEFAULT_CROP})`),
  })
  .strict();
export type AugmentConfig = z.infer<typeof augmentConfig>;

type TF = typeof tfType;

/** What the trainer calls on each training batch `[B, H, W, C]` at global step `step`. */
export type BatchAugmenter = (x: tfType.Tensor, step: number) => tfType.Tensor;

/** The augmenter a config asks for, or undefined when it asks for none. */
export function imageAugmenter(tf: TF, spec: AugmentConfig | undefined, inputShape: readonly number[], seed: number): BatchAugmenter | undefined {
  if (!spec) return undefined;
  const crop = spec.crop === true ? DEFAULT_CROP : spec.crop === false || spec.crop === undefined ? 0 : spec.crop;
  const flip = spec.flip ?? false;
  if (!flip && crop === 0) return undefined;
  if (inputShape.length !== 3)
    throw new TscolabError(
      `data.augment works on image input [height, width, channels]; this data has shape [${inputShape.join(", ")}]`,
      "remove data.augment, or train on an image folder or an array column holding images",
    );
  const [h, w, c] = inputShape as [number, number, number];
  const ph = Math.round(crop * h);
  const pw = Math.round(crop * w);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  return (x, step) => {
    const b = x.shape[0]!;
    const rng = Rng.create(seed, `augment:${step}`);
    const idx = new Int32Array(b * h * w);
    for (let i = 0; i < b; i++) {
      // Always three draws per example, so one option's draws never move the other's.
      const mirrored = rng.nextFloat() < 0.5 && flip;
      const dy = ph ? rng.nextInt(2 * ph + 1) : rng.nextInt(1);
      const dx = pw ? rng.nextInt(2 * pw + 1) : rng.nextInt(1);
      const base = i * hp * wp;
      for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) idx[(i * h + y) * w + xx] = base + (y + dy) * wp + (mirrored ? w - 1 - xx : xx) + dx;
    }
    return tf.tidy(() => {
      const padded =
        ph || pw
          ? tf.pad(x, [
              [0, 0],
              [ph, ph],
              [pw, pw],
              [0, 0],
            ])
          : x;
      return tf.reshape(tf.gather(tf.reshape(padded, [b * hp * wp, c]), tf.tensor1d(idx, "int32")), [b, h, w, c]);
    });
  };
}
