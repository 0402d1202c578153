import { describe, expect, it } from 'vitest';
import { labelOrStem } from '../../src/core/labels.ts';
import { cosineSimilarity, safeCosine } from '../../src/core/similarity.ts';

describe('cosineSimilarity', () => {
  it('is the normalised dot product', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity(Float32Array.from([1, 1]), [-1, -1])).toBeCloseTo(-1, 12);
  });

  it('throws on a size mismatch or a zero vector', () => {
    expect(() => cosineSimilarity([1, 2], [1, 2, 3])).toThrow(
      'cosineSimilarity: vectors have different lengths (2 and 3)',
    );
    expect(() => cosineSimilarity([0, 0], [1, 2])).toThrow('cosineSimilarity: a vector has zero norm');
  });
});

describe('shared view helpers', () => {
  it('safeCosine is the cosine, or NaN where it is undefined', () => {
    expect(safeCosine([1, 0], [1, 0])).toBe(1);
    expect(safeCosine([0, 0], [1, 0])).toBeNaN();
    expect(safeCosine([1], [1, 0])).toBeNaN();
  });

  it("labelOrStem is the label, else the file name's stem", () => {
    expect(labelOrStem({ label: 'cat', name: 'x/1.jpg' })).toBe('cat');
    expect(labelOrStem({ label: '', name: 'pizza/0012.jpg' })).toBe('0012');
    expect(labelOrStem({ label: '', name: 'a.b.png' })).toBe('a.b');
  });
});
