import { describe, expect, it } from 'vitest';
import { cosineSimilarity } from '../../src/core/similarity.ts';

describe('cosineSimilarity', () => {
  it('is the normalised dot product', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity(Float32Array.from([1, 1]), [-1, -1])).toBeCloseTo(-1, 12);
  });

  it('throws on a size mismatch or a zero vector', () => {
    expect(() => cosineSimilarity([1, 2], [1, 2, 3])).toThrow('cosineSimilarity: vectors have different lengths (2 and 3)');
    expect(() => cosineSimilarity([0, 0], [1, 2])).toThrow('cosineSimilarity: a vector has zero norm');
  });
});
