import { describe, expect, it } from 'vitest';
import { leaveOneOutRetrieval } from '../../src/core/retrieval-metrics.ts';

const v = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return Float32Array.from(xs.map((x) => x / n));
};

describe('leave-one-out retrieval', () => {
  it('is perfect for well-separated classes', () => {
    const m = leaveOneOutRetrieval([v(1, 0), v(0.9, 0.1), v(0, 1), v(0.1, 0.9)], ['a', 'a', 'b', 'b']);
    expect(m).toEqual({ queries: 4, recallAt1: 1, recallAt5: 1, map: 1 });
  });

  it('computes average precision over the ranking, by hand', () => {
    // Query 0 (a): ranking 1 (b), 2 (a), 3 (a) -> AP = (1/2 + 2/3) / 2.
    const e = [v(1, 0), v(1, 0.01), v(1, 0.2), v(1, 0.3)];
    const m = leaveOneOutRetrieval(e, ['a', 'b', 'a', 'a']);
    // Query 1 (b) has no other b: skipped. Query 2 ranks 3 (a), 1 (b), 0 (a); query 3 ranks 2 (a), 1 (b), 0 (a).
    expect(m.queries).toBe(3);
    const ap0 = (1 / 2 + 2 / 3) / 2;
    const ap2 = (1 + 2 / 3) / 2;
    const ap3 = (1 + 2 / 3) / 2;
    expect(m.map).toBeCloseTo((ap0 + ap2 + ap3) / 3, 10);
    expect(m.recallAt1).toBeCloseTo(2 / 3, 10);
    expect(m.recallAt5).toBe(1);
  });

  it('refuses mismatched inputs and unusable labels', () => {
    expect(() => leaveOneOutRetrieval([v(1, 0)], ['a', 'b'])).toThrow(
      'leaveOneOutRetrieval: 1 embeddings but 2 labels',
    );
    expect(() => leaveOneOutRetrieval([v(1, 0), v(0, 1)], ['a', 'b'])).toThrow('no label has two or more images');
  });
});
