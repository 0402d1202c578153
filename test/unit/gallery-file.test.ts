import { describe, expect, it } from 'vitest';
import {
  decodeGalleryFile,
  encodeGalleryFile,
  GalleryFileError,
  type GalleryItem,
} from '../../src/core/gallery-file.ts';

const item = (id: string, values: number[]): GalleryItem => ({
  id,
  name: `${id}.jpg`,
  label: `label "${id}" / ü`,
  modelId: 'm',
  embedding: new Float32Array(values),
  thumbnail: 'data:image/jpeg;base64,AAAA',
  addedAt: 7,
});

describe('gallery file', () => {
  it('round-trips every field and the float32 values bit for bit', () => {
    const items = [item('a', [0.1, -0.2, 1e-30, 3.4e38]), item('b', [Math.PI, 0, -0, 1])];
    const back = decodeGalleryFile(encodeGalleryFile(items));
    expect(back).toHaveLength(2);
    back.forEach((g, i) => {
      expect({ ...g, embedding: undefined }).toEqual({ ...items[i], embedding: undefined });
      expect(Array.from(g.embedding)).toEqual(Array.from(items[i]!.embedding));
    });
  });

  it('handles an embedding larger than one String.fromCharCode chunk', () => {
    const big = item(
      'big',
      Array.from({ length: 20_000 }, (_, i) => Math.sin(i)),
    );
    expect(Array.from(decodeGalleryFile(encodeGalleryFile([big]))[0]!.embedding)).toEqual(Array.from(big.embedding));
  });

  it('refuses what is not a gallery file, saying what is wrong', () => {
    expect(() => decodeGalleryFile('nope')).toThrow(/not a gallery file: it is not JSON/);
    expect(() => decodeGalleryFile('{"format":"x"}')).toThrow(
      'not a gallery file: "format" is not "shitu-web/gallery"',
    );
    expect(() => decodeGalleryFile('{"format":"shitu-web/gallery","formatVersion":9,"items":[]}')).toThrow(
      'gallery file version 9 is not supported',
    );
    const good = JSON.parse(encodeGalleryFile([item('a', [1, 2])]));
    good.items[0].label = 3;
    expect(() => decodeGalleryFile(JSON.stringify(good))).toThrow('gallery item 1: "label" must be a string');
    good.items[0].label = 'x';
    good.items[0].embedding = 'AAA';
    expect(() => decodeGalleryFile(JSON.stringify(good))).toThrow(GalleryFileError);
    good.items[0].embedding = Buffer.from(new Float32Array([Number.NaN]).buffer).toString('base64');
    expect(() => decodeGalleryFile(JSON.stringify(good))).toThrow('non-finite');
  });

  it('drops a thumbnail that is not an image data URL (it is put into an img src later)', () => {
    const raw = JSON.parse(encodeGalleryFile([item('a', [1])]));
    raw.items[0].thumbnail = 'https://example.com/track.gif';
    expect(decodeGalleryFile(JSON.stringify(raw))[0]!.thumbnail).toBe('');
  });
});
