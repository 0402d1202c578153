import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  describeNonImage,
  MAX_PIXELS_DEFAULT,
  SNIFF_BYTES,
  sniffImage,
  truncationReason,
} from '../../src/core/image-sniff.ts';

// Minimal headers, built by hand: enough bytes for the sniffer, not decodable images.
const bytes = (...parts: (number[] | Uint8Array | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : [...p])));
const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const be32 = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

function segment(marker: number, body: number[]): number[] {
  return [0xff, marker, ...be16(body.length + 2), ...body];
}
function exifBody(orientation: number, order: 'II' | 'MM'): number[] {
  const u16 = order === 'II' ? le16 : be16;
  const u32 = order === 'II' ? le32 : be32;
  const ifd = [...u16(2), ...u16(0x010f), ...u16(2), ...u32(4), ...u32(0)]; // Make, then Orientation
  ifd.push(...u16(0x0112), ...u16(3), ...u32(1), ...u16(orientation), 0, 0, ...u32(0));
  return [...bytes('Exif\0\0', order), ...u16(42), ...u32(8), ...ifd];
}
const SOF0 = (w: number, h: number) =>
  segment(0xc0, [8, ...be16(h), ...be16(w), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
const SOS = segment(0xda, [3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
function jpeg(w: number, h: number, before: number[][] = [], scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56]) {
  const jfif = segment(0xe0, [...bytes('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  return bytes([0xff, 0xd8], jfif, ...before, SOF0(w, h), SOS, scan, [0xff, 0xd9]);
}
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const chunk = (type: string, data: number[]) => [...be32(data.length), ...bytes(type), ...data, 0, 0, 0, 0];
const png = (w: number, h: number, end = true) =>
  bytes(
    PNG_SIG,
    chunk('IHDR', [...be32(w), ...be32(h), 8, 6, 0, 0, 0]),
    chunk('IDAT', [0x78, 0x9c]),
    end ? chunk('IEND', []) : [],
  );
const riff = (chunkType: string, data: number[]) =>
  bytes('RIFF', le32(4 + 8 + data.length), 'WEBP', chunkType, le32(data.length), data);
const box = (type: string, ...body: (number[] | Uint8Array)[]) => {
  const flat = body.flatMap((part) => [...part]);
  return [...be32(8 + flat.length), ...bytes(type), ...flat];
};
const ispe = (w: number, h: number) => box('ispe', [0, 0, 0, 0], be32(w), be32(h));

describe('sniffImage: format and size', () => {
  it('reads JPEG SOF dimensions past APP segments', () => {
    expect(sniffImage(jpeg(320, 240))).toEqual({ format: 'jpeg', width: 320, height: 240 });
    const progressive = bytes([0xff, 0xd8], segment(0xc2, [8, ...be16(10), ...be16(20), 1, 1, 0x11, 0]));
    expect(sniffImage(progressive)).toMatchObject({ width: 20, height: 10 });
  });
  it('does not mistake DHT (C4) for a SOF, and finds a SOF past 64 KiB of APP segments in a whole file', () => {
    const dht = segment(0xc4, [0, ...new Array<number>(16).fill(0)]);
    expect(sniffImage(jpeg(7, 5, [dht]))).toMatchObject({ width: 7, height: 5 });
    const big = segment(0xe2, new Array<number>(65000).fill(0xff));
    const file = jpeg(4000, 3000, [big, big]);
    expect(sniffImage(file)).toMatchObject({ width: 4000, height: 3000 });
    expect(sniffImage(file.subarray(0, SNIFF_BYTES))).toEqual({ format: 'jpeg' });
  });
  it('reads PNG IHDR, GIF, and all three WebP chunk kinds', () => {
    expect(sniffImage(png(20000, 20000))).toEqual({ format: 'png', width: 20000, height: 20000 });
    expect(sniffImage(bytes('GIF89a', le16(500), le16(300)))).toEqual({ format: 'gif', width: 500, height: 300 });
    expect(sniffImage(bytes('GIF87a', le16(1), le16(2)))).toMatchObject({ width: 1, height: 2 });
    const vp8 = riff('VP8 ', [0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, ...le16(640), ...le16(480)]);
    expect(sniffImage(vp8)).toEqual({ format: 'webp', width: 640, height: 480 });
    const [w, h] = [1000, 16000];
    const bits = (w - 1) | ((h - 1) << 14);
    expect(sniffImage(riff('VP8L', [0x2f, ...le32(bits >>> 0)]))).toEqual({ format: 'webp', width: w, height: h });
    const vp8x = riff('VP8X', [0x10, 0, 0, 0, 0x3f, 0x42, 0x0f, 0x1f, 0x00, 0x00]); // 999999+1 x 31+1
    expect(sniffImage(vp8x)).toEqual({ format: 'webp', width: 1_000_000, height: 32 });
  });
  it('reads BMP sizes, including a negative (top-down) height and the OS/2 header', () => {
    const bmp = (dib: number[]) => bytes('BM', le32(0), le32(0), le32(54), dib);
    expect(sniffImage(bmp([...le32(40), ...le32(123), ...le32(45)]))).toEqual({
      format: 'bmp',
      width: 123,
      height: 45,
    });
    expect(sniffImage(bmp([...le32(124), ...le32(10), ...le32(-20 >>> 0)]))).toMatchObject({ width: 10, height: 20 });
    expect(sniffImage(bmp([...le32(12), ...le16(8), ...le16(9)]))).toMatchObject({ width: 8, height: 9 });
    expect(sniffImage(bytes('BMW sales report, 2024, with figures').subarray(0, 30)).format).toBe('unknown');
  });
  it('reads ICO (largest entry, 0 meaning 256) and AVIF (largest ispe)', () => {
    const entry = (w: number, h: number) => [w, h, 0, 0, ...le16(1), ...le16(32), ...le32(0), ...le32(22)];
    expect(sniffImage(bytes([0, 0, 1, 0, 2, 0], entry(16, 16), entry(0, 0)))).toEqual({
      format: 'ico',
      width: 256,
      height: 256,
    });
    const ftyp = box('ftyp', bytes('avif'), [0, 0, 0, 0], bytes('mif1', 'miaf'));
    const meta = box(
      'meta',
      [0, 0, 0, 0],
      box('hdlr', new Array<number>(25).fill(0)),
      box('iprp', box('ipco', ispe(512, 512), ispe(4032, 3024))),
    );
    expect(sniffImage(bytes(ftyp, meta))).toEqual({ format: 'avif', width: 4032, height: 3024 });
    expect(sniffImage(bytes(box('ftyp', bytes('mif1'), [0, 0, 0, 0], bytes('avis'))))).toEqual({ format: 'avif' });
  });
});

describe('sniffImage: EXIF orientation', () => {
  for (const order of ['II', 'MM'] as const) {
    for (const orientation of [1, 6, 8]) {
      it(`reads orientation ${orientation} in ${order} byte order`, () => {
        const file = jpeg(40, 30, [segment(0xe1, exifBody(orientation, order))]);
        expect(sniffImage(file)).toEqual({ format: 'jpeg', width: 40, height: 30, exifOrientation: orientation });
      });
    }
  }
  it('ignores out-of-range values, XMP APP1 and IFD offsets past the segment', () => {
    expect(sniffImage(jpeg(4, 4, [segment(0xe1, exifBody(9, 'MM'))])).exifOrientation).toBeUndefined();
    const xmp = segment(0xe1, [...bytes('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>')]);
    expect(sniffImage(jpeg(4, 4, [xmp]))).toEqual({ format: 'jpeg', width: 4, height: 4 });
    const bad = exifBody(6, 'II');
    bad.splice(10, 4, ...le32(0x7ffffff0));
    expect(sniffImage(jpeg(4, 4, [segment(0xe1, bad)])).exifOrientation).toBeUndefined();
  });
});

describe('sniffImage: SVG and non-images', () => {
  const svgs = {
    plain: '<svg xmlns="http://www.w3.org/2000/svg"/>',
    'BOM, XML declaration, comment, DOCTYPE':
      '\uFEFF<?xml version="1.0"?>\n<!-- made by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n  <svg width="1">',
    'DOCTYPE with an entity subset': '<!DOCTYPE svg [ <!ENTITY ns "http://x"> ]>\n<svg>',
    prefixed: '<svg:svg xmlns:svg="http://www.w3.org/2000/svg">',
  };
  for (const [label, text] of Object.entries(svgs)) {
    it(`detects SVG: ${label}`, () => expect(sniffImage(new TextEncoder().encode(text))).toEqual({ format: 'svg' }));
  }
  it('does not call HTML, <svgfoo> or an unclosed comment SVG', () => {
    for (const text of ['<html><svg></svg></html>', '<svgfoo>', '<!-- never closed <svg>', 'svg']) {
      expect(sniffImage(new TextEncoder().encode(text)).format).toBe('unknown');
    }
  });
  it('says what PDF, ZIP, TIFF, HEIC, text and binary look like', () => {
    const d = (b: Uint8Array) => [sniffImage(b).format, describeNonImage(b)];
    expect(d(bytes('%PDF-1.7\n%\xe2\xe3'))).toEqual(['unknown', 'starts with %PDF (a PDF document)']);
    expect(d(bytes([0x50, 0x4b, 0x03, 0x04, 20, 0]))[1]).toMatch(/ZIP archive/);
    expect(d(bytes('II*\0', le32(8)))[1]).toMatch(/TIFF/);
    expect(d(bytes(box('ftyp', bytes('heic'), [0, 0, 0, 0], bytes('mif1', 'heic'))))[1]).toMatch(/HEIC/);
    expect(d(bytes('Hello, this is a note.\n'))).toEqual(['unknown', 'text: "Hello, this is a note."']);
    expect(describeNonImage(bytes('x'.repeat(100)))).toBe(`text: "${'x'.repeat(40)}…"`);
    expect(d(bytes([0, 1, 2, 3, 0xfe, 0xff, 7, 8, 9]))[1]).toBe('starts with bytes 00 01 02 03 fe ff 07 08');
    expect(describeNonImage(new Uint8Array(0))).toBe('no bytes');
  });
});

describe('sniffImage: truncated and hostile headers', () => {
  const samples = {
    jpeg: jpeg(320, 240, [segment(0xe1, exifBody(6, 'II'))]),
    png: png(64, 48),
    webp: riff('VP8X', [0, 0, 0, 0, 1, 0, 0, 1, 0, 0]),
    avif: bytes(box('ftyp', bytes('avif')), box('meta', [0, 0, 0, 0], box('iprp', box('ipco', ispe(8, 8))))),
  };
  it('gives a partial answer for every prefix of a valid header, never throws', () => {
    for (const [format, full] of Object.entries(samples)) {
      const whole = sniffImage(full);
      for (let n = 0; n <= full.length; n++) {
        const s = sniffImage(full.subarray(0, n));
        expect(['unknown', format]).toContain(s.format); // too short for the magic number: unknown
        if (s.width !== undefined) expect([s.width, s.height]).toEqual([whole.width, whole.height]);
      }
    }
  });
  it('stops on bogus segment lengths and box sizes instead of looping', () => {
    const zeroLength = bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xc0]);
    const oneLength = bytes([0xff, 0xd8, 0xff, 0xe1, 0, 1, 0xff, 0xe1, 0, 1]);
    const pastEnd = bytes([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 1, 2, 3]);
    const notMarker = bytes([0xff, 0xd8, 0xff, 0xe0, 0, 2, 0x12, 0x34, 0xff, 0xc0]);
    for (const b of [zeroLength, oneLength, pastEnd, notMarker]) expect(sniffImage(b)).toEqual({ format: 'jpeg' });
    const zeroBox = bytes(box('ftyp', bytes('avif')), [0, 0, 0, 4], bytes('meta'), [0, 0, 0, 0]);
    expect(sniffImage(zeroBox)).toEqual({ format: 'avif' });
  });
  it('survives random bytes behind every magic number, quickly', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const magics = [
      [0xff, 0xd8, 0xff],
      PNG_SIG,
      [...bytes('GIF89a')],
      [...bytes('RIFF\0\0\0\0WEBP')],
      [...bytes('BM')],
      [0, 0, 1, 0],
    ];
    const started = performance.now();
    for (let k = 0; k < 3000; k++) {
      const magic = magics[k % magics.length]!;
      const junk = Array.from({ length: 1 + (rand() << 2) }, rand);
      expect(() => sniffImage(bytes(magic, junk))).not.toThrow();
      expect(() => truncationReason(bytes(magic, junk), 'jpeg')).not.toThrow();
    }
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('truncationReason', () => {
  it('accepts complete files, including JPEG data after the EOI', () => {
    expect(truncationReason(jpeg(8, 8), 'jpeg')).toBeUndefined();
    expect(truncationReason(bytes(jpeg(8, 8), [0, 0, 0, 0x12, 0x34]), 'jpeg')).toBeUndefined();
    expect(truncationReason(png(8, 8), 'png')).toBeUndefined();
    expect(truncationReason(bytes('GIF89a'), 'gif')).toBeUndefined(); // not checked
  });
  it('names a JPEG or PNG cut short, whatever the cut', () => {
    const full = jpeg(8, 8);
    for (let n = 4; n < full.length; n++) {
      expect(truncationReason(full.subarray(0, n), 'jpeg')).toMatch(/^truncated JPEG \(no end-of-image marker\)/);
    }
    // 0xFF 0xD9 inside entropy data cannot occur (0xFF is stuffed), but a stuffed 0xFF 0x00 must not end the walk.
    expect(truncationReason(jpeg(8, 8, [], [0xff, 0x00, 0xd9]).subarray(0, -2), 'jpeg')).toMatch(/truncated JPEG/);
    expect(truncationReason(png(8, 8, false), 'png')).toMatch(/^truncated PNG \(no IEND chunk\)/);
  });
});

describe('fixtures in test/fixtures/images', () => {
  const read = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)));
  it('sniff as their README says', () => {
    expect(sniffImage(read('gradient.jpg'))).toEqual({ format: 'jpeg', width: 320, height: 240 });
    expect(sniffImage(read('gradient-exif6.jpg'))).toEqual({
      format: 'jpeg',
      width: 240,
      height: 320,
      exifOrientation: 6,
    });
    expect(sniffImage(read('shapes.png'))).toEqual({ format: 'png', width: 64, height: 48 });
    expect(sniffImage(read('straight-alpha.png'))).toEqual({ format: 'png', width: 4, height: 2 });
    expect(sniffImage(read('huge-declared.png'))).toEqual({ format: 'png', width: 20000, height: 20000 });
    expect(sniffImage(read('vector.svg'))).toEqual({ format: 'svg' });
    expect(sniffImage(read('not-an-image.jpg')).format).toBe('unknown');
    expect(describeNonImage(read('not-an-image.jpg'))).toMatch(/^text: "This is a plain text file/);
    expect(truncationReason(read('gradient.jpg'), 'jpeg')).toBeUndefined();
    expect(truncationReason(read('truncated.jpg'), 'jpeg')).toMatch(/truncated JPEG/);
    expect(read('empty.jpg').length).toBe(0);
  });
  it('has a 50-megapixel default limit that the huge fixture exceeds', () => {
    expect(MAX_PIXELS_DEFAULT).toBe(50_000_000);
    expect(20000 * 20000).toBeGreaterThan(MAX_PIXELS_DEFAULT);
  });
});
