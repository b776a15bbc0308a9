// The `data` keys for image input, spread into the data section's schema
// (../schema.ts): the size and channels image folders are read at, and the
// seeded augmentation of training batches.
import { z } from "zod";
import { augmentConfig } from "./augment";

export const IMAGE_DATA_KEYS = {
  imageSize: z
    .tuple([z.number().int().positive(), z.number().int().positive()])
    .optional()
    .describe("image folders: [height, width] every image is resized to; default: the first image's size"),
  channels: z
    .union([z.literal(1), z.literal(3)])
    .optional()
    .describe("image folders: 1 (grey) or 3 (RGB); default 3"),
  augment: augmentConfig.optional().describe('seeded augmentation of image batches while training: { "flip": true, "crop": 0.125 }'),
};

export const imageInfo = z.object({
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  channels: z.union([z.literal(1), z.literal(3)]),
  scale: z.literal("1/255"),
  resize: z.literal("bilinear (half-pixel centres)"),
});
