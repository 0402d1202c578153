/**
 * ImageBitmap -> RGBA bytes, with colour channels as the file stores them, as cv2.imread returns them.
 *
 * A 2D canvas keeps premultiplied pixels, so reading a bitmap back through one loses colour under alpha:
 * in Chromium 156 a PNG pixel (200, 100, 50, alpha 3) reads (170, 85, 85, 3), and every fully transparent
 * pixel reads (0, 0, 0, 0), whatever colour the file holds there (often white in product cut-outs, which
 * OpenCV, dropping alpha, sees as white). WebGL can upload and read back a bitmap without premultiplying.
 * So: the 2D canvas first, exact for opaque images (most photos) and always available; then, only if some
 * pixel is not opaque, WebGL2 again for exact colours, keeping the 2D result where WebGL2 is unavailable.
 */

/** How the pixels were read: see DecodedImage.readBack. */
export type ReadBack = 'canvas-2d' | 'webgl2';

export interface BitmapPixels {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly readBack: ReadBack;
}

/** Reads every pixel of `bitmap`, top row first. Throws a plain Error if no canvas can be had (memory). */
export function readBitmapPixels(bitmap: ImageBitmap): BitmapPixels {
  const data = canvas2dPixels(bitmap);
  if (isOpaque(data)) return { data, readBack: 'canvas-2d' };
  const exact = webgl2Pixels(bitmap);
  return exact ? { data: exact, readBack: 'webgl2' } : { data, readBack: 'canvas-2d' };
}

function canvas2dPixels(bitmap: ImageBitmap): Uint8ClampedArray {
  const { width, height } = bitmap;
  // willReadFrequently keeps the canvas in CPU memory: no GPU round trip for getImageData.
  const canvas = new OffscreenCanvas(width, height);
  try {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D canvas context');
    ctx.drawImage(bitmap, 0, 0);
    return ctx.getImageData(0, 0, width, height).data;
  } finally {
    // Free the backing store now rather than at garbage collection: 200 MB at 50 megapixels.
    canvas.width = 0;
    canvas.height = 0;
  }
}

function isOpaque(rgba: Uint8Array | Uint8ClampedArray): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false;
  return true;
}

// One context for the worker's life: creating one costs milliseconds, and Chromium caps live contexts.
let gl: WebGL2RenderingContext | null | undefined;

function context(): WebGL2RenderingContext | null {
  if (gl === undefined || gl?.isContextLost()) {
    gl = new OffscreenCanvas(1, 1).getContext('webgl2', {
      antialias: false,
      depth: false,
      stencil: false,
      premultipliedAlpha: false,
    });
  }
  return gl;
}

/** The bitmap as stored, through a texture and a framebuffer; undefined when WebGL2 cannot do it. */
function webgl2Pixels(bitmap: ImageBitmap): Uint8Array | undefined {
  const g = context();
  if (!g) return undefined;
  const { width, height } = bitmap;
  const max = g.getParameter(g.MAX_TEXTURE_SIZE) as number;
  if (width > max || height > max) return undefined;
  g.getError(); // clear any earlier error, so the check below is about this read
  const texture = g.createTexture();
  const framebuffer = g.createFramebuffer();
  try {
    g.bindTexture(g.TEXTURE_2D, texture);
    g.pixelStorei(g.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    g.pixelStorei(g.UNPACK_COLORSPACE_CONVERSION_WEBGL, g.NONE);
    g.pixelStorei(g.UNPACK_FLIP_Y_WEBGL, false);
    g.texImage2D(g.TEXTURE_2D, 0, g.RGBA8, width, height, 0, g.RGBA, g.UNSIGNED_BYTE, bitmap);
    g.bindFramebuffer(g.FRAMEBUFFER, framebuffer);
    g.framebufferTexture2D(g.FRAMEBUFFER, g.COLOR_ATTACHMENT0, g.TEXTURE_2D, texture, 0);
    if (g.checkFramebufferStatus(g.FRAMEBUFFER) !== g.FRAMEBUFFER_COMPLETE) return undefined;
    // Row 0 of the framebuffer is the texture's first uploaded row, the image's top: no flip needed.
    const out = new Uint8Array(width * height * 4);
    g.readPixels(0, 0, width, height, g.RGBA, g.UNSIGNED_BYTE, out);
    return g.getError() === g.NO_ERROR ? out : undefined;
  } catch {
    return undefined; // the 2D result stands
  } finally {
    g.bindFramebuffer(g.FRAMEBUFFER, null);
    g.bindTexture(g.TEXTURE_2D, null);
    g.deleteFramebuffer(framebuffer);
    g.deleteTexture(texture);
  }
}
