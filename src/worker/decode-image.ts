/**
 * Image input for the worker: a file (Blob), an ImageBitmap or ImageData -> RGBA pixels, or a typed
 * ImageError that names the file and says what to do. Runs in a worker, so it has no `document`, no <img>
 * and no SVG renderer: only createImageBitmap and OffscreenCanvas (2D, and WebGL2 in read-pixels.ts).
 *
 * Order of checks on a Blob, cheapest first, so that nothing large is allocated for a file we will refuse:
 * empty -> header sniff (not an image / SVG) -> declared size vs maxPixels -> end marker present (JPEG,
 * PNG) -> decode -> decoded size vs maxPixels -> pixels.
 */
import {
  EmptyImageError,
  ImageDecodeError,
  ImageTooLargeError,
  OptionsError,
  UnsupportedImageFormatError,
} from '../core/errors.ts';
import { describeNonImage, SNIFF_BYTES, sniffImage, truncationReason } from '../core/image-sniff.ts';
import type { RgbaPixels } from '../model/preprocess.ts';
import { readBitmapPixels, type ReadBack } from './read-pixels.ts';

export interface DecodeImageOptions {
  /** Largest width x height accepted; MAX_PIXELS_DEFAULT (core/image-sniff.ts) says why 50 MP. */
  readonly maxPixels: number;
}

export interface DecodedImage {
  /** Unpremultiplied RGBA, upright (EXIF orientation applied), in the file's own colour values. */
  readonly pixels: RgbaPixels;
  readonly width: number;
  readonly height: number;
  /** The sniffed format ('jpeg', 'png', ...), or 'imagebitmap' / 'imagedata' for already-decoded input. */
  readonly format: string;
  /** Milliseconds from the call to pixels in hand, header checks included. */
  readonly decodeMs: number;
  /**
   * How the pixels were read back (read-pixels.ts): 'canvas-2d' (opaque images: exact), 'webgl2' (images with
   * transparency: exact colours under alpha), 'canvas-2d' for a transparent image only where WebGL2 is
   * unavailable (colours under alpha approximate, black where alpha is 0), 'imagedata' (used as given).
   */
  readonly readBack: ReadBack | 'imagedata';
}

const SUPPORTED = 'JPEG, PNG, GIF, WebP, BMP, AVIF, ICO';

/**
 * Why these createImageBitmap options: PaddleClas reads images with cv2.imread, and the embedding should
 * see the same numbers.
 * - imageOrientation 'from-image': cv2.imread (IMREAD_COLOR) applies EXIF orientation, and so does this.
 * - premultiplyAlpha 'none': OpenCV keeps colour channels as stored (it drops alpha, never multiplies by it),
 *   and a premultiplied bitmap would have lost them before read-pixels.ts could read them exactly.
 * - colorSpaceConversion 'none': OpenCV ignores embedded ICC profiles; converting wide-gamut photos to sRGB
 *   would change the pixel values the model was trained on.
 */
const BITMAP_OPTIONS: ImageBitmapOptions = {
  imageOrientation: 'from-image',
  premultiplyAlpha: 'none',
  colorSpaceConversion: 'none',
};

/**
 * Decodes one image. Blob input: the ImageBitmap made here is closed here. ImageBitmap input: it stays the
 * caller's; this never closes it, so a caller that received it by transfer should close it after the call
 * (its pixels are copied out). ImageData input is used as it is, not copied.
 */
export async function decodeImage(
  input: Blob | ImageBitmap | ImageData,
  name: string,
  options: DecodeImageOptions,
): Promise<DecodedImage> {
  const { maxPixels } = options;
  if (!Number.isFinite(maxPixels) || maxPixels < 1) {
    throw new OptionsError(`maxPixels must be a positive number; got ${String(maxPixels)}`);
  }
  const start = performance.now();
  const done = (pixels: RgbaPixels, format: string, readBack: DecodedImage['readBack']): DecodedImage => ({
    pixels,
    width: pixels.width,
    height: pixels.height,
    format,
    decodeMs: performance.now() - start,
    readBack,
  });

  if (input instanceof Blob) {
    const { pixels, format, readBack } = await decodeBlob(input, name, maxPixels);
    return done(pixels, format, readBack);
  }
  if (isImageData(input)) {
    checkSize(name, input.width, input.height, maxPixels, 'is');
    return done({ data: input.data, width: input.width, height: input.height }, 'imagedata', 'imagedata');
  }
  // A closed or transferred-away ImageBitmap reports 0 x 0.
  if (input.width === 0 || input.height === 0) {
    throw new EmptyImageError(name, 'the ImageBitmap is 0 x 0: it was closed or transferred before this call');
  }
  checkSize(name, input.width, input.height, maxPixels, 'is');
  const { pixels, readBack } = readPixels(input, name);
  return done(pixels, 'imagebitmap', readBack);
}

// Guarded: Node has Blob but no ImageData, and the engine that calls this also runs in Node tests.
function isImageData(x: unknown): x is ImageData {
  return typeof ImageData !== 'undefined' && x instanceof ImageData;
}

async function decodeBlob(
  blob: Blob,
  name: string,
  maxPixels: number,
): Promise<{ pixels: RgbaPixels; format: string; readBack: ReadBack }> {
  if (blob.size === 0) throw new EmptyImageError(name, 'the file is empty (0 bytes)');
  const head = await readBytes(blob.slice(0, SNIFF_BYTES), name);
  let sniff = sniffImage(head);
  if (sniff.format === 'unknown') {
    throw new UnsupportedImageFormatError(name, `not an image (${describeNonImage(head)}); supported: ${SUPPORTED}`);
  }
  if (sniff.format === 'svg') {
    throw new UnsupportedImageFormatError(
      name,
      'an SVG (vector) image: a worker has no SVG renderer (createImageBitmap refuses SVG there); ' +
        `convert it to PNG first. Supported: ${SUPPORTED}`,
    );
  }
  // JPEG and PNG are read whole for the end-marker check (after the size check: a PNG's size is in its
  // first 24 bytes); a JPEG's SOF may lie past the first 64 KiB, behind large APPn segments.
  const checkEnd = sniff.format === 'jpeg' || sniff.format === 'png';
  let all = blob.size > head.length ? undefined : head;
  if (sniff.format === 'jpeg' && sniff.width === undefined && !all) {
    all = await readBytes(blob, name);
    sniff = sniffImage(all);
  }
  if (sniff.width !== undefined && sniff.height !== undefined) {
    checkSize(name, sniff.width, sniff.height, maxPixels, 'declares');
  }
  if (checkEnd) {
    const cut = truncationReason(all ?? (await readBytes(blob, name)), sniff.format);
    if (cut) throw new ImageDecodeError(name, cut);
  }

  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, BITMAP_OPTIONS);
  } catch (e) {
    // Chromium gives "InvalidStateError: The source image could not be decoded." for every kind of damage.
    throw new ImageDecodeError(
      name,
      `the browser could not decode this ${sniff.format.toUpperCase()} file (${reasonOf(e)}); ` +
        'it may be damaged, or use a variant this browser does not support',
    );
  }
  try {
    checkSize(name, bitmap.width, bitmap.height, maxPixels, 'decodes to');
    return { ...readPixels(bitmap, name), format: sniff.format };
  } finally {
    bitmap.close();
  }
}

async function readBytes(blob: Blob, name: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await blob.arrayBuffer());
  } catch (e) {
    // A File whose disk copy changed or vanished since it was picked fails here (NotReadableError).
    throw new ImageDecodeError(name, `the file could not be read (${reasonOf(e)}); pick it again`);
  }
}

function checkSize(name: string, width: number, height: number, maxPixels: number, verb: string): void {
  if (width * height <= maxPixels) return;
  const mp = (n: number) => (n >= 100_000 ? `${(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`);
  throw new ImageTooLargeError(
    name,
    `the image ${verb} ${width} x ${height} pixels (${mp(width * height)}), over the limit of ${mp(maxPixels)} ` +
      '(maxPixels); downscale it first',
  );
}

function readPixels(bitmap: ImageBitmap, name: string): { pixels: RgbaPixels; readBack: ReadBack } {
  const { width, height } = bitmap;
  try {
    const { data, readBack } = readBitmapPixels(bitmap);
    return { pixels: { data, width, height }, readBack };
  } catch (e) {
    throw new ImageDecodeError(
      name,
      `its ${width} x ${height} pixels could not be read back (${reasonOf(e)}); out of memory?`,
    );
  }
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
