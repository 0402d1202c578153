/**
 * Image files -> RGBA pixels in Node, for the command line (scripts/embed.ts): JPEG with jpeg-js and PNG with
 * pngjs (pure JavaScript, no native build), with the browser worker's checks, order and error codes
 * (src/worker/decode-image.ts): empty -> header sniff -> declared size vs maxPixels -> end marker -> decode ->
 * decoded size -> EXIF orientation. Other formats the page decodes (GIF, WebP, BMP, AVIF, ICO) are refused
 * with `image-format` and advice, as SVG is in the worker.
 *
 * Pixels differ slightly from Chromium's on JPEG (jpeg-js's IDCT and chroma upsampling are not
 * libjpeg-turbo's): a grey level or two, more at sharp colour edges. PNG decodes exactly.
 */
import { decode as decodeJpegData } from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  EmptyImageError,
  ImageDecodeError,
  ImageTooLargeError,
  UnsupportedImageFormatError,
} from '../../src/core/errors.ts';
import { describeNonImage, sniffImage, truncationReason } from '../../src/core/image-sniff.ts';
import type { RgbaPixels } from '../../src/model/preprocess.ts';
import type { DecodedPixels } from '../../src/worker/embedder-engine.ts';

const SUPPORTED = 'JPEG, PNG';

/** File extensions worth trying as images: the formats the page decodes, and SVG / TIFF / HEIC to refuse by name. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.jpe',
  '.jfif',
  '.png',
  '.gif',
  '.webp',
  '.bmp',
  '.avif',
  '.ico',
  '.svg',
  '.tif',
  '.tiff',
  '.heic',
  '.heif',
]);

/** Decodes a file's bytes (a Blob, e.g. from `fs.openAsBlob`) to upright, unpremultiplied RGBA. */
export async function decodeImageBlob(
  blob: Blob,
  name: string,
  options: { maxPixels: number },
): Promise<DecodedPixels> {
  const start = performance.now();
  if (blob.size === 0) throw new EmptyImageError(name, 'the file is empty (0 bytes)');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await blob.arrayBuffer());
  } catch (e) {
    throw new ImageDecodeError(name, `the file could not be read (${reasonOf(e)})`);
  }
  const pixels = decodeImageBytes(bytes, name, options.maxPixels);
  return { pixels, width: pixels.width, height: pixels.height, decodeMs: performance.now() - start };
}

/** The same, on bytes in hand. */
export function decodeImageBytes(bytes: Uint8Array, name: string, maxPixels: number): RgbaPixels {
  if (bytes.length === 0) throw new EmptyImageError(name, 'the file is empty (0 bytes)');
  const sniff = sniffImage(bytes);
  if (sniff.format === 'unknown') {
    throw new UnsupportedImageFormatError(
      name,
      `not an image (${describeNonImage(bytes)}); supported here: ${SUPPORTED}`,
    );
  }
  if (sniff.format === 'svg') {
    throw new UnsupportedImageFormatError(
      name,
      `an SVG (vector) image, which has to be rendered, not decoded; convert it to PNG first. Supported here: ${SUPPORTED}`,
    );
  }
  if (sniff.format !== 'jpeg' && sniff.format !== 'png') {
    throw new UnsupportedImageFormatError(
      name,
      `a ${sniff.format.toUpperCase()} image: the command line decodes only ${SUPPORTED} (the page decodes more); convert it to PNG first`,
    );
  }
  if (sniff.width !== undefined && sniff.height !== undefined)
    checkSize(name, sniff.width, sniff.height, maxPixels, 'declares');
  const cut = truncationReason(bytes, sniff.format);
  if (cut) throw new ImageDecodeError(name, cut);

  const decoded = sniff.format === 'jpeg' ? decodeJpeg(bytes, name, maxPixels) : decodePng(bytes, name);
  checkSize(name, decoded.width, decoded.height, maxPixels, 'decodes to');
  // The browser decodes with imageOrientation 'from-image', as cv2.imread applies EXIF orientation.
  return sniff.format === 'jpeg' && sniff.exifOrientation ? orient(decoded, sniff.exifOrientation) : decoded;
}

function decodeJpeg(bytes: Uint8Array, name: string, maxPixels: number): RgbaPixels {
  try {
    // tolerantDecoding (jpeg-js's default) would turn some damaged files into partly grey images; a damaged
    // file must fail, as it does in Chromium. The memory cap is raised to what maxPixels admits (about 14
    // bytes a pixel: coefficients, component planes and the RGBA output).
    const { data, width, height } = decodeJpegData(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: Math.ceil(maxPixels / 1e6),
      maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 16) / 2 ** 20)),
    });
    return { data, width, height };
  } catch (e) {
    throw new ImageDecodeError(
      name,
      `this JPEG file could not be decoded (${reasonOf(e)}); it may be damaged, or use a variant jpeg-js does not read (e.g. arithmetic coding)`,
    );
  }
}

function decodePng(bytes: Uint8Array, name: string): RgbaPixels {
  try {
    // Any bit depth, palette, grey or interlaced PNG comes out as 8-bit RGBA, alpha not premultiplied.
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return {
      data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      width: png.width,
      height: png.height,
    };
  } catch (e) {
    throw new ImageDecodeError(name, `this PNG file could not be decoded (${reasonOf(e)}); it may be damaged`);
  }
}

function checkSize(name: string, width: number, height: number, maxPixels: number, verb: string): void {
  if (width * height <= maxPixels) return;
  const mp = (n: number) => (n >= 100_000 ? `${(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`);
  throw new ImageTooLargeError(
    name,
    `the image ${verb} ${width} x ${height} pixels (${mp(width * height)}), over the limit of ${mp(maxPixels)} (maxPixels); downscale it first`,
  );
}

/**
 * Turns stored pixels upright for EXIF orientation 1..8. Each output pixel (x, y) reads the stored pixel
 * (sx, sy) = (ax·x + bx·y + cx, ay·x + by·y + cy); orientations 5..8 swap width and height.
 */
export function orient(image: RgbaPixels, orientation: number): RgbaPixels {
  const { width: w, height: h, data } = image;
  // [ax, bx, cx, ay, by, cy] per orientation; see the EXIF 2.3 specification, tag 0x0112.
  const maps: Record<number, readonly number[]> = {
    2: [-1, 0, w - 1, 0, 1, 0], // mirrored horizontally
    3: [-1, 0, w - 1, 0, -1, h - 1], // rotated 180°
    4: [1, 0, 0, 0, -1, h - 1], // mirrored vertically
    5: [0, 1, 0, 1, 0, 0], // transposed
    6: [0, 1, 0, -1, 0, h - 1], // stored turned 90° anticlockwise: turn it clockwise
    7: [0, -1, w - 1, -1, 0, h - 1], // transversed
    8: [0, -1, w - 1, 1, 0, 0], // stored turned 90° clockwise: turn it anticlockwise
  };
  const m = maps[orientation];
  if (!m) return image;
  const [ax, bx, cx, ay, by, cy] = m as [number, number, number, number, number, number];
  const outW = orientation >= 5 ? h : w;
  const outH = orientation >= 5 ? w : h;
  // One 32-bit word a pixel; a view needs 4-byte alignment, which a Buffer slice may not have.
  const aligned = data.byteOffset % 4 === 0 ? data : data.slice();
  const src = new Uint32Array(aligned.buffer, aligned.byteOffset, w * h);
  const out = new Uint8Array(outW * outH * 4);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < outH; y++) {
    let sx = bx * y + cx;
    let sy = by * y + cy;
    for (let x = 0; x < outW; x++, sx += ax, sy += ay) dst[y * outW + x] = src[sy * w + sx]!;
  }
  return { data: out, width: outW, height: outH };
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
