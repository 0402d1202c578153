import { describe, expect, it } from 'vitest';
import { searchGallery, similarityMatrix } from '../../src/core/gallery-search.ts';

const unit = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return xs.map((x) => x / n);
};

const gallery = [
  { id: 'mug-1', label: 'mug', embedding: unit(1, 0, 0) },
  { id: 'mug-2', label: 'mug', embedding: unit(0.9, 0.1, 0) },
  { id: 'shoe-1', label: 'shoe', embedding: unit(0, 1, 0) },
];

describe('gallery search', () => {
  it('ranks by cosine and labels the query when the best score passes the threshold', () => {
    const r = searchGallery(unit(1, 0.05, 0), gallery, 2);
    expect(r.matches.map((m) => m.id)).toEqual(['mug-1', 'mug-2']);
    expect(r.label).toBe('mug');
    expect(r.score).toBeCloseTo(unit(1, 0.05, 0)[0]!, 10);
  });

  it('says unknown below the threshold (PP-ShiTu default 0.5)', () => {
    const r = searchGallery(unit(0, 0, 1), gallery);
    expect(r.label).toBeUndefined();
    expect(r.matches.length).toBe(3);
    expect(searchGallery(unit(0, 0, 1), [], 5)).toEqual({ matches: [], label: undefined, score: undefined });
  });

  it('refuses a bad k or a width mismatch', () => {
    expect(() => searchGallery(unit(1, 0, 0), gallery, 0)).toThrow(
      'searchGallery: k must be a positive integer; got 0',
    );
    expect(() => searchGallery([1, 0], gallery)).toThrow('gallery entry "mug-1" has 3 values, the query 2');
  });

  it('builds a symmetric cosine matrix with ones on the diagonal', () => {
    const m = similarityMatrix(gallery.map((g) => g.embedding));
    expect(m[0]).toBeCloseTo(1, 6);
    expect(m[1]).toBeCloseTo(m[3]!, 7);
    expect(m[2]).toBeCloseTo(0, 7);
  });
});
