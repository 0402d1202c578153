/**
 * src/worker/decode-image.ts in a real Worker in Chromium, over the fixtures in test/fixtures/images
 * (see their README for what each holds). The page and worker are test/browser/pages/decode/.
 */
import { expect, test, type Page } from '@playwright/test';
import type { DecodeSource, DecodeSummary } from './pages/decode/page.ts';

const PAGE = '/test/browser/pages/decode/index.html';

async function open(page: Page): Promise<void> {
  await page.goto(PAGE);
  await page.waitForFunction(() => 'decodeTest' in window);
}
const decode = (page: Page, name: string, source: DecodeSource, maxPixels?: number): Promise<DecodeSummary> =>
  page.evaluate(([n, s, m]) => window.decodeTest.decode(n, s, m), [name, source, maxPixels] as const);
const pixel = (page: Page, name: string, x: number, y: number) =>
  page.evaluate(([n, px, py]) => window.decodeTest.pixel(n, px, py), [name, x, y] as const);
const meanAbsDiff = (page: Page, a: string, b: string) =>
  page.evaluate(([p, q]) => window.decodeTest.meanAbsDiff(p, q), [a, b] as const);

function expectNear(actual: number[], expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) =>
    expect(Math.abs(v - expected[i]!), `channel ${i}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance),
  );
}

test.beforeEach(async ({ page }) => open(page));

test('gradient.jpg decodes at 320 x 240 with the drawn values', async ({ page }) => {
  const result = await decode(page, 'gradient.jpg', { fixture: 'gradient.jpg' });
  expect(result).toMatchObject({ ok: true, width: 320, height: 240, format: 'jpeg', readBack: 'canvas-2d' });
  expect(result.ok && result.decodeMs).toBeGreaterThan(0);
  // R = x * 255 / 319, G = y * 255 / 239, B = 128; a white disc at (80, 80), a (20, 20, 60) rectangle.
  const expected: [number, number, number[]][] = [
    [10, 10, [8, 11, 128, 255]],
    [300, 20, [240, 21, 128, 255]],
    [160, 200, [128, 213, 128, 255]],
    [80, 80, [255, 255, 255, 255]],
    [240, 180, [20, 20, 60, 255]],
  ];
  for (const [x, y, rgba] of expected) expectNear(await pixel(page, 'gradient.jpg', x, y), rgba, 8);
});

test('gradient-exif6.jpg is turned upright by its EXIF orientation', async ({ page }) => {
  await decode(page, 'gradient.jpg', { fixture: 'gradient.jpg' });
  const rotated = await decode(page, 'gradient-exif6.jpg', { fixture: 'gradient-exif6.jpg' });
  expect(rotated).toMatchObject({ ok: true, width: 320, height: 240 }); // stored as 240 x 320
  expect(await meanAbsDiff(page, 'gradient.jpg', 'gradient-exif6.jpg')).toBeLessThan(2);
});

test('shapes.png keeps alpha, unpremultiplied', async ({ page }) => {
  const result = await decode(page, 'shapes.png', { fixture: 'shapes.png' });
  expect(result).toMatchObject({ ok: true, width: 64, height: 48, format: 'png', readBack: 'webgl2' });
  // Premultiplied, the half-transparent red would read (128, 0, 0, 128).
  expectNear(await pixel(page, 'shapes.png', 16, 20), [255, 0, 0, 128], 1);
  expectNear(await pixel(page, 'shapes.png', 48, 20), [0, 0, 255, 255], 0);
  expectNear(await pixel(page, 'shapes.png', 30, 40), [0, 255, 0, 64], 1);
  expectNear(await pixel(page, 'shapes.png', 1, 1), [0, 0, 0, 0], 0);
});

test('straight-alpha.png keeps the colour under every alpha, as cv2.imread does', async ({ page }) => {
  // As make-fixtures.ts writes them; through a 2D canvas (200, 100, 50, 3) reads (170, 85, 85, 3) and
  // (255, 255, 255, 0) reads (0, 0, 0, 0).
  const rows = [
    [
      [200, 100, 50, 3],
      [255, 255, 255, 0],
      [10, 20, 30, 128],
      [17, 33, 250, 254],
    ],
    [
      [1, 2, 3, 1],
      [9, 9, 9, 255],
      [0, 0, 0, 0],
      [255, 0, 255, 255],
    ],
  ];
  const result = await decode(page, 'straight-alpha.png', { fixture: 'straight-alpha.png' });
  expect(result).toMatchObject({ ok: true, width: 4, height: 2, readBack: 'webgl2' });
  for (const [y, row] of rows.entries()) {
    for (const [x, rgba] of row.entries())
      expect(await pixel(page, 'straight-alpha.png', x, y), `(${x}, ${y})`).toEqual(rgba);
  }
});

test('bad files give typed errors that name the file, and the worker goes on', async ({ page }) => {
  const cases: [string, DecodeSource, string, string, RegExp][] = [
    ['empty.jpg', { fixture: 'empty.jpg' }, 'EmptyImageError', 'image-empty', /empty \(0 bytes\)/],
    [
      'not-an-image.jpg',
      { fixture: 'not-an-image.jpg' },
      'UnsupportedImageFormatError',
      'image-format',
      /not an image \(text: "This is a plain text file.*supported: JPEG, PNG, GIF, WebP, BMP, AVIF/,
    ],
    ['vector.svg', { fixture: 'vector.svg' }, 'UnsupportedImageFormatError', 'image-format', /SVG.*convert it to PNG/],
    [
      'huge-declared.png',
      { fixture: 'huge-declared.png' },
      'ImageTooLargeError',
      'image-too-large',
      /declares 20000 x 20000 pixels \(400\.0 megapixels\), over the limit of 50\.0 megapixels/,
    ],
    [
      'truncated.jpg',
      { fixture: 'truncated.jpg' },
      'ImageDecodeError',
      'image-decode',
      /truncated JPEG \(no end-of-image marker\)/,
    ],
    // SOI + EOI: passes every header check, so this is the browser's own refusal, passed on with its reason.
    [
      'hollow.jpg',
      { bytes: [0xff, 0xd8, 0xff, 0xd9] },
      'ImageDecodeError',
      'image-decode',
      /browser could not decode this JPEG file \(\w+Error: .+\)/,
    ],
  ];
  for (const [name, source, errorName, code, message] of cases) {
    const result = await decode(page, name, source);
    if (result.ok) throw new Error(`${name} decoded, expected ${errorName}`);
    expect(result.error, name).toMatchObject({ name: errorName, code, imageName: name });
    expect(result.error.message.startsWith(`${name}: `), result.error.message).toBe(true);
    expect(result.error.message).toMatch(message);
  }
  const tooSmallLimit = await decode(page, 'gradient.jpg', { fixture: 'gradient.jpg' }, 1000);
  expect(tooSmallLimit).toMatchObject({ ok: false, error: { code: 'image-too-large' } });
  // The same worker still decodes a good file.
  expect(await decode(page, 'gradient.jpg', { fixture: 'gradient.jpg' })).toMatchObject({
    ok: true,
    width: 320,
    height: 240,
  });
});

test('ImageBitmap and ImageData inputs: read as they are, size-checked, bitmaps left to their owner', async ({
  page,
}) => {
  await decode(page, 'gradient.jpg', { fixture: 'gradient.jpg' });
  const bitmap = await decode(page, 'bitmap', { fixture: 'gradient.jpg', as: 'bitmap' });
  expect(bitmap).toMatchObject({ ok: true, width: 320, height: 240, format: 'imagebitmap', bitmapWidthAfter: 320 });
  expect(await meanAbsDiff(page, 'gradient.jpg', 'bitmap')).toBeLessThan(1);
  const bigBitmap = await decode(page, 'bitmap-limited', { fixture: 'gradient.jpg', as: 'bitmap' }, 320 * 240 - 1);
  expect(bigBitmap).toMatchObject({ ok: false, error: { name: 'ImageTooLargeError', message: /is 320 x 240 pixels/ } });

  const rgba = [1, 2, 3, 4, 250, 251, 252, 253, 9, 8, 7, 0, 100, 0, 200, 255, 5, 6, 7, 8, 0, 0, 0, 255];
  const data = await decode(page, 'data', { imageData: { width: 3, height: 2, rgba } });
  expect(data).toMatchObject({ ok: true, width: 3, height: 2, format: 'imagedata', readBack: 'imagedata' });
  expect(await pixel(page, 'data', 2, 0)).toEqual([9, 8, 7, 0]); // no canvas round trip: exact even at alpha 0
  const bigData = await decode(page, 'data-limited', { imageData: { width: 3, height: 2, rgba } }, 5);
  expect(bigData).toMatchObject({ ok: false, error: { name: 'ImageTooLargeError' } });
});
