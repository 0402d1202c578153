/**
 * What an image file is and how big it says it is, from its first bytes, without decoding it: so that the
 * worker can refuse a PDF, an SVG or a 400-megapixel PNG with a message that names the problem, before the
 * browser allocates anything. Pure TypeScript over bytes; every read is bounds-checked and every loop
 * advances, so truncated or hostile headers give a partial answer, never an exception or a hang.
 */

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'avif' | 'svg' | 'ico' | 'unknown';

export interface ImageSniff {
  readonly format: ImageFormat;
  /** Pixel size the header declares (for AVIF the largest `ispe`, for ICO the largest entry); absent if unread. */
  readonly width?: number;
  readonly height?: number;
  /** JPEG EXIF orientation 1..8, for information: the decoder applies it, swapping width and height for 5..8. */
  readonly exifOrientation?: number;
}

/**
 * How many leading bytes to pass to sniffImage. Every header here fits in 64 KiB except a JPEG whose SOF sits
 * behind large APPn segments (ICC profiles, XMP, Exif thumbnails: up to 64 KiB each); sniffImage stops at
 * the SOF, so passing a whole JPEG costs no more than reading up to its SOF.
 */
export const SNIFF_BYTES = 64 * 1024;

/**
 * Default cap on decoded pixels: 50 megapixels. It admits every phone and DSLR photo at full resolution
 * (a 50 MP sensor gives 8160 x 6120 = 49.9 MP), while decoding one costs about 12 bytes a pixel at once
 * (the decoded bitmap, the canvas it is drawn on, the ImageData copy): 600 MB at the limit, about what a tab
 * can count on. The model sees 224 x 224, so nothing is lost by asking users to downscale larger images.
 */
export const MAX_PIXELS_DEFAULT = 50_000_000;

const be16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const le16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const be32 = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
const le32 = (b: Uint8Array, i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, k) => b[at + k] === v);

/** Reads the format from magic bytes, then whatever size and orientation the header gives. */
export function sniffImage(bytes: Uint8Array): ImageSniff {
  const b = bytes;
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { format: 'jpeg', ...jpegHeader(b) };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return b.length >= 24 && ascii(b, 12, 4) === 'IHDR'
      ? { format: 'png', ...size(be32(b, 16), be32(b, 20)) }
      : { format: 'png' };
  }
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    return b.length >= 10 ? { format: 'gif', ...size(le16(b, 6), le16(b, 8)) } : { format: 'gif' };
  }
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP')
    return { format: 'webp', ...webpSize(b) };
  if (isBmp(b)) return { format: 'bmp', ...bmpSize(b) };
  if (isIco(b)) return { format: 'ico', ...icoSize(b) };
  const brands = ftypBrands(b);
  if (brands.includes('avif') || brands.includes('avis')) return { format: 'avif', ...avifSize(b) };
  if (isSvg(b)) return { format: 'svg' };
  return { format: 'unknown' };
}

function size(width: number, height: number): { width?: number; height?: number } {
  return width > 0 && height > 0 ? { width, height } : {};
}

// JPEG: walk the marker segments to the first SOFn; each step moves forward by at least 2 bytes.
function jpegHeader(b: Uint8Array): { width?: number; height?: number; exifOrientation?: number } {
  let exifOrientation: number | undefined;
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) break; // not at a marker: the header is corrupt, stop with what we have
    const marker = b[pos + 1]!;
    if (marker === 0xff) {
      pos += 1;
      continue;
    } // fill byte before a marker
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    } // no length field
    if (marker === 0xd9 || marker === 0xda) break; // EOI or start of scan before any SOF
    const length = be16(b, pos + 2);
    if (length < 2) break;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (pos + 9 > b.length) break;
      return { ...size(be16(b, pos + 7), be16(b, pos + 5)), ...(exifOrientation ? { exifOrientation } : {}) };
    }
    if (marker === 0xe1 && exifOrientation === undefined) {
      exifOrientation = exifOrientationOf(b, pos + 4, Math.min(pos + 2 + length, b.length));
    }
    pos += 2 + length;
  }
  return exifOrientation ? { exifOrientation } : {};
}

/** Orientation (tag 0x0112) from IFD0 of an APP1 body [start, end) that begins "Exif\0\0". */
function exifOrientationOf(b: Uint8Array, start: number, end: number): number | undefined {
  if (end - start < 14 || ascii(b, start, 6) !== 'Exif\0\0') return undefined;
  const t = start + 6;
  const order = ascii(b, t, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const u16 = (i: number) => (order === 'II' ? le16(b, i) : be16(b, i));
  const u32 = (i: number) => (order === 'II' ? le32(b, i) : be32(b, i));
  if (u16(t + 2) !== 42) return undefined;
  const ifd = t + u32(t + 4);
  if (ifd + 2 > end) return undefined;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + 12 * k;
    if (entry + 12 > end) break;
    // A SHORT with count 1 sits at the start of the 4-byte value field, in either byte order.
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const v = u16(entry + 8);
      return v >= 1 && v <= 8 ? v : undefined;
    }
  }
  return undefined;
}

function webpSize(b: Uint8Array): { width?: number; height?: number } {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8X' && b.length >= 30) {
    const w = 1 + (b[24]! | (b[25]! << 8) | (b[26]! << 16));
    const h = 1 + (b[27]! | (b[28]! << 8) | (b[29]! << 16));
    return size(w, h);
  }
  if (chunk === 'VP8 ' && b.length >= 30 && startsWith(b, [0x9d, 0x01, 0x2a], 23)) {
    return size(le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff);
  }
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const bits = le32(b, 21); // 14 bits width - 1, 14 bits height - 1
    return size((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  return {};
}

// "BM" alone would match text ("BMW..."), so a long-enough header must also carry a known DIB header size.
const DIB_HEADER_SIZES = [12, 16, 40, 52, 56, 64, 108, 124];
function isBmp(b: Uint8Array): boolean {
  return startsWith(b, [0x42, 0x4d]) && (b.length < 18 || DIB_HEADER_SIZES.includes(le32(b, 14)));
}
function bmpSize(b: Uint8Array): { width?: number; height?: number } {
  if (b.length >= 22 && le32(b, 14) === 12) return size(le16(b, 18), le16(b, 20)); // OS/2 BITMAPCOREHEADER
  if (b.length < 26) return {};
  // Signed: a negative height means rows run top-down, the size is its absolute value.
  return size(le32(b, 18) | 0, Math.abs(le32(b, 22) | 0));
}

// ICO: reserved 0, type 1, then 16-byte entries whose reserved byte is 0; a width or height byte of 0 is 256.
function isIco(b: Uint8Array): boolean {
  return startsWith(b, [0, 0, 1, 0]) && b.length >= 6 && le16(b, 4) > 0 && (b.length < 22 || b[9] === 0);
}
function icoSize(b: Uint8Array): { width?: number; height?: number } {
  let best: { width?: number; height?: number } = {};
  let bestArea = 0;
  for (let k = 0; k < le16(b, 4) && 6 + 16 * k + 16 <= b.length; k++) {
    const w = b[6 + 16 * k] || 256;
    const h = b[7 + 16 * k] || 256;
    if (w * h > bestArea) [best, bestArea] = [{ width: w, height: h }, w * h];
  }
  return best;
}

// ISO-BMFF (AVIF, HEIF, MP4): boxes of [size:u32][type:4cc]; size 1 means a 64-bit size follows, 0 "to the end".
interface Box {
  type: string;
  start: number;
  body: number;
  end: number;
}
function* boxes(b: Uint8Array, from: number, to: number): Generator<Box> {
  let pos = from;
  while (pos + 8 <= to) {
    let end = pos + be32(b, pos);
    let body = pos + 8;
    if (end === pos + 1) {
      if (pos + 16 > to) return;
      end = pos + be32(b, pos + 8) * 2 ** 32 + be32(b, pos + 12);
      body = pos + 16;
    } else if (end === pos) {
      end = to;
    }
    if (end < body) return; // a size smaller than its own header: stop rather than loop
    yield { type: ascii(b, pos + 4, 4), start: pos, body, end: Math.min(end, to) };
    pos = end;
  }
}

/** The major and compatible brands of a leading `ftyp` box, or [] if there is none. */
function ftypBrands(b: Uint8Array): string[] {
  const first = boxes(b, 0, b.length).next();
  if (first.done || first.value.type !== 'ftyp') return [];
  const { body, end } = first.value;
  const brands = body + 4 <= end ? [ascii(b, body, 4)] : [];
  for (let i = body + 8; i + 4 <= end; i += 4) brands.push(ascii(b, i, 4));
  return brands;
}

// AVIF: meta > iprp > ipco > ispe. The largest ispe is the primary (or grid) image; tiles and alpha are no
// larger, so it bounds what the decoder will allocate.
function avifSize(b: Uint8Array): { width?: number; height?: number } {
  const child = (from: number, to: number, type: string) => {
    for (const box of boxes(b, from, to)) if (box.type === type) return box;
    return undefined;
  };
  const meta = child(0, b.length, 'meta');
  const iprp = meta && child(meta.body + 4, meta.end, 'iprp'); // meta is a full box: 4 bytes version + flags
  const ipco = iprp && child(iprp.body, iprp.end, 'ipco');
  let best: { width?: number; height?: number } = {};
  let bestArea = 0;
  for (const box of ipco ? boxes(b, ipco.body, ipco.end) : []) {
    if (box.type !== 'ispe' || box.body + 12 > box.end) continue;
    const w = be32(b, box.body + 4);
    const h = be32(b, box.body + 8);
    if (w * h > bestArea) [best, bestArea] = [size(w, h), w * h];
  }
  return best;
}

// SVG: optional BOM, whitespace, XML declaration, comments and DOCTYPE, then an <svg> root element.
function isSvg(b: Uint8Array): boolean {
  let s = new TextDecoder('utf-8').decode(b.subarray(0, SNIFF_BYTES)).replace(/^\uFEFF/, '');
  for (;;) {
    s = s.trimStart();
    let close: string | undefined;
    if (s.startsWith('<?')) close = '?>';
    else if (s.startsWith('<!--')) close = '-->';
    else if (/^<!DOCTYPE/i.test(s)) {
      // An internal subset (Illustrator's entity declarations) holds '>' characters: it ends with ']>'.
      const bracket = s.indexOf('[');
      close = bracket >= 0 && bracket < s.indexOf('>') ? ']>' : '>';
    } else break;
    const end = s.indexOf(close, 2);
    if (end < 0) return false;
    s = s.slice(end + close.length);
  }
  return /^<(svg:)?svg[\s>/]/.test(s);
}

/**
 * Says in a few words what bytes that are not a supported image look like ("starts with %PDF (a PDF
 * document)", "text: \"Hello…\""), for the error message that refuses them.
 */
export function describeNonImage(bytes: Uint8Array): string {
  const b = bytes;
  if (b.length === 0) return 'no bytes';
  if (ascii(b, 0, 5) === '%PDF-') return 'starts with %PDF (a PDF document)';
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04])) return 'starts with PK (a ZIP archive, or an Office or EPUB document)';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) {
    return 'a TIFF image, which browsers cannot decode';
  }
  if (startsWith(b, [0x1f, 0x8b])) return 'gzip-compressed data';
  const brands = ftypBrands(b);
  if (brands.some((x) => ['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1'].includes(x))) {
    return `a HEIC/HEIF image (brand "${brands[0]}"), which this browser cannot decode`;
  }
  if (brands.length > 0) return `an ISO media file (brand "${brands[0]}"), e.g. a video`;
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF') return `a RIFF file of type "${ascii(b, 8, 4)}"`;
  const head = b.subarray(0, 64);
  const isText = head.every((c) => c >= 0x20 || c === 0x09 || c === 0x0a || c === 0x0d);
  if (isText) {
    const text = new TextDecoder('utf-8').decode(head).replace(/\s+/g, ' ').trim();
    return `text: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`;
  }
  const hex = Array.from(b.subarray(0, 8), (c) => c.toString(16).padStart(2, '0')).join(' ');
  return `starts with bytes ${hex}`;
}

/**
 * Why a whole JPEG or PNG file is cut short, or undefined if it reaches its end marker (or the format is
 * not checked). Chromium 156 refuses such files with a bare "could not be decoded"; other browsers may
 * decode them partially (a grey or transparent bottom), which would silently change the embedding.
 */
export function truncationReason(bytes: Uint8Array, format: ImageFormat): string | undefined {
  if (format === 'jpeg') {
    const n = bytes.length;
    if (n >= 4 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9) return undefined; // the common case, no walk
    if (jpegReachesEoi(bytes)) return undefined; // data after the EOI (camera trailers, padding)
    return `truncated JPEG (no end-of-image marker): the data stops after ${n} bytes; the file was probably cut short by an interrupted download or copy`;
  }
  if (format === 'png') {
    for (let pos = 8; pos + 12 <= bytes.length; pos += 12 + be32(bytes, pos)) {
      if (ascii(bytes, pos + 4, 4) === 'IEND') return undefined;
    }
    return `truncated PNG (no IEND chunk): the data stops after ${bytes.length} bytes; the file was probably cut short`;
  }
  return undefined;
}

// Walks segments and entropy-coded data (where 0xFF is followed by 0x00, a restart marker or a fill 0xFF)
// until EOI or the end of the bytes; linear in the file size.
function jpegReachesEoi(b: Uint8Array): boolean {
  let pos = 2;
  while (pos + 2 <= b.length) {
    if (b[pos] !== 0xff) {
      pos += 1;
      continue;
    } // entropy-coded data
    const marker = b[pos + 1]!;
    if (marker === 0xd9) return true;
    if (marker === 0x00 || marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += marker === 0xff ? 1 : 2;
      continue;
    }
    if (pos + 4 > b.length) return false;
    const length = be16(b, pos + 2);
    if (length < 2) return false;
    pos += 2 + length;
  }
  return false;
}
