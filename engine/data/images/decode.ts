// One image file to pixels: PNG (pngjs) or JPEG (jpeg-js), told apart by
// their signature bytes rather than the file name, both pure JavaScript.
// Then the pixels the model sees: the colour channels it asks for (1: grey
// by ITU-R 601 luma, the weights tf.image.rgbToGrayscale uses; 3: RGB; an
// alpha channel is dropped), resized bilinearly with half-pixel centres to
// [H, W], scaled to [0, 1].
import fs from "node:fs";
import { TscolabError } from "../../errors";

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel, row-major. */
  rgba: Uint8Array;
}

export type ImageKind = "png" | "jpeg";

/** What the bytes are, from their signature; null for anything else. */
export function imageKind(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return null;
}

function undecodable(file: string, why: string): TscolabError {
  return new TscolabError(`cannot decode image ${file}: ${why}`, "replace or delete the file (loading stops at the first image it cannot read)");
}

/** Decodes a PNG or JPEG file; anything else, or a damaged file, is one error naming the file. */
export function decodeImageFile(file: string): DecodedImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new TscolabError(`cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the file's permissions");
  }
  return decodeImageBytes(bytes, file);
}

export function decodeImageBytes(bytes: Buffer, file: string): DecodedImage {
  const kind = imageKind(bytes);
  if (!kind) throw undecodable(file, bytes.length === 0 ? "the file is empty" : "it is neither a PNG nor a JPEG (no PNG or JPEG signature)");
  try {
    if (kind === "png") {
      const { PNG } = require("pngjs") as typeof import("pngjs");
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const jpeg = require("jpeg-js") as typeof import("jpeg-js");
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 200 });
    if (!img.width || !img.height || img.data.length < img.width * img.height * 4) throw new Error("no pixel data");
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw undecodable(file, `damaged ${kind.toUpperCase()} (${(e as Error).message})`);
  }
}

/** Pixels in [0, 1], `[height, width, channels]` row-major. */
export function toPixels(img: DecodedImage, size: readonly [number, number], channels: 1 | 3): Float32Array {
  const { width: w, height: h, rgba } = img;
  // Channels first, at the source size (integer luma: a grey image stays exactly grey).
  const src = new Float32Array(w * h * channels);
  for (let i = 0; i < w * h; i++) {
    const r = rgba[i * 4]!;
    const g = rgba[i * 4 + 1]!;
    const b = rgba[i * 4 + 2]!;
    if (channels === 1) src[i] = (299 * r + 587 * g + 114 * b) / 1000 / 255;
    else {
      src[i * 3] = r / 255;
      src[i * 3 + 1] = g / 255;
      src[i * 3 + 2] = b / 255;
    }
  }
  const [oh, ow] = size;
  if (oh === h && ow === w) return src;
  return resizeBilinear(src, h, w, channels, oh, ow);
}

/** Bilinear resize with half-pixel centres (tf.image.resizeBilinear with halfPixelCenters), edges clamped. */
export function resizeBilinear(src: Float32Array, h: number, w: number, c: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(oh * ow * c);
  const sy = h / oh;
  const sx = w / ow;
  for (let y = 0; y < oh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < ow; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * w + x0) * c + k]!;
        const b = src[(y0 * w + x1) * c + k]!;
        const p = src[(y1 * w + x0) * c + k]!;
        const q = src[(y1 * w + x1) * c + k]!;
        const top = a + (b - a) * dx;
        const bottom = p + (q - p) * dx;
        out[(y * ow + x) * c + k] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}
