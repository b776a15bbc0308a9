// An image folder: one subfolder per class, PNG or JPEG files inside
// (`train/cat/001.png`, `train/dog/002.jpg`), the layout Keras's
// image_dataset_from_directory reads. Classes are the subfolder names, sorted;
// rows go class by class, files sorted by name. Every image is decoded,
// converted to the channels asked for and resized to one size (data.imageSize,
// else the first image's), so the table holds `[H, W, C]` per row.
//
// Rules: hidden files and files that are not images are ignored; a GIF, BMP,
// WebP or TIFF is refused (only PNG and JPEG are read); a class folder without
// images, a folder without class folders and an image that cannot be decoded
// each stop loading with one line naming the folder or file.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../../errors";
import type { RawTable } from "../raw_table";
import { decodeImageFile, toPixels } from "./decode";

const READ = new Set([".png", ".jpg", ".jpeg"]);
const REFUSED = new Set([".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".avif"]);

/** How images become model input; stored in run.json's dataset and in exports. */
export interface ImageInfo {
  /** [height, width] every image is resized to. */
  size: [number, number];
  channels: 1 | 3;
  /** Pixel values are 8-bit values divided by 255, before the run's normalization. */
  scale: "1/255";
  resize: "bilinear (half-pixel centres)";
}

export interface ImageFolderOptions {
  /** [height, width]; default: the first image's size. */
  imageSize?: readonly [number, number];
  /** 1 (grey) or 3 (RGB); default 3. */
  channels?: 1 | 3;
  /** The classes the folder may hold (a validation folder's must be training classes). */
  classes?: readonly string[];
}

export interface ImageFolderListing {
  root: string;
  classes: string[];
  files: { file: string; label: string }[];
}

export interface ImageFolder extends ImageFolderListing {
  info: ImageInfo;
  /** `files.length × H × W × C`, values in [0, 1]. */
  x: Float32Array;
}

/** True when `p` is a folder (an image folder source rather than a table file). */
export function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const visible = (name: string) => !name.startsWith(".");

/** The classes and image files of a folder, without decoding anything. */
export function listImageFolder(root: string, opts: Pick<ImageFolderOptions, "classes"> = {}): ImageFolderListing {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (e) {
    throw new TscolabError(`image folder ${root} cannot be read (${(e as NodeJS.ErrnoException).code})`, "check data.train / data.valid in the config");
  }
  const classes = entries
    .filter((e) => e.isDirectory() && visible(e.name))
    .map((e) => e.name)
    .sort();
  if (!classes.length)
    throw new TscolabError(`image folder ${root} has no class subfolders`, `put each class's images in its own subfolder: ${path.join(root, "<class>", "<image>.png")}`);
  if (opts.classes) {
    const unknown = classes.find((c) => !opts.classes!.includes(c));
    if (unknown !== undefined)
      throw new TscolabError(
        `class folder ${path.join(root, unknown)} has no counterpart among the training classes (${opts.classes.join(", ")})`,
        "give the validation folder the same class folders as the training folder",
      );
  }
  const files: ImageFolderListing["files"] = [];
  for (const label of classes) {
    const dir = path.join(root, label);
    const names = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && visible(e.name))
      .map((e) => e.name)
      .sort();
    const refused = names.find((n) => REFUSED.has(path.extname(n).toLowerCase()));
    if (refused) throw new TscolabError(`image ${path.join(dir, refused)} is not a PNG or JPEG; only those are read`, "convert it to PNG or JPEG, or move it out of the folder");
    const images = names.filter((n) => READ.has(path.extname(n).toLowerCase()));
    if (!images.length) throw new TscolabError(`class folder ${dir} has no PNG or JPEG files`, "add images to it, or remove the folder");
    for (const n of images) files.push({ file: path.join(dir, n), label });
  }
  return { root, classes, files };
}

/**
 * Loads every image of a folder as model input. Also what predict and
 * evaluate call on a folder of images: pass the training run's
 * `dataset.image` size and channels so the pixels match what the model saw.
 */
export function loadImageFolder(root: string, opts: ImageFolderOptions = {}): ImageFolder {
  const listing = listImageFolder(root, opts);
  const channels = opts.channels ?? 3;
  let size = opts.imageSize ? ([opts.imageSize[0], opts.imageSize[1]] as [number, number]) : undefined;
  let x: Float32Array | undefined;
  let rowSize = 0;
  listing.files.forEach(({ file }, i) => {
    const img = decodeImageFile(file);
    size ??= [img.height, img.width];
    if (!x) {
      rowSize = size[0] * size[1] * channels;
      x = new Float32Array(listing.files.length * rowSize);
    }
    x.set(toPixels(img, size, channels), i * rowSize);
  });
  return { ...listing, x: x!, info: { size: size!, channels, scale: "1/255", resize: "bilinear (half-pixel centres)" } };
}

/** An image folder as a table: one `image` feature of shape [H, W, C], the class as the label. */
export function imageFolderTable(root: string, opts: ImageFolderOptions = {}): RawTable & { image: ImageInfo } {
  const folder = loadImageFolder(root, opts);
  const [h, w] = folder.info.size;
  return {
    source: root,
    features: ["image"],
    label: "class",
    elementShape: [h, w, folder.info.channels],
    x: folder.x,
    labels: folder.files.map((f) => f.label),
    lines: folder.files.map((_, i) => i + 1),
    image: folder.info,
  };
}
