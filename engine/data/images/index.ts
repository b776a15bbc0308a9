// Image input: folders of PNG/JPEG files per class, decoding and resizing,
// and the seeded augmentation of training batches.
export { loadImageFolder, listImageFolder, imageFolderTable, isFolder, type ImageFolder, type ImageFolderOptions, type ImageInfo } from "./folder";
export { decodeImageFile, decodeImageBytes, imageKind, toPixels, resizeBilinear, type DecodedImage } from "./decode";
export { imageAugmenter, augmentConfig, DEFAULT_CROP, type AugmentConfig, type BatchAugmenter } from "./augment";
export { IMAGE_DATA_KEYS, imageInfo } from "./schema";
