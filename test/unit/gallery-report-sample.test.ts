/** The report's sample of a large gallery: every class in its share, two images at least, fixed by its seed. */
import { describe, expect, it } from 'vitest';
import { sampleForReport } from '../../src/core/gallery-report-sample.ts';

const gallery = (sizes: Record<string, number>) =>
  Object.entries(sizes).flatMap(([label, n]) => Array.from({ length: n }, (_, i) => ({ id: `${label}/${i}`, label })));

const counts = (entries: readonly { label: string }[]) => {
  const c: Record<string, number> = {};
  for (const e of entries) c[e.label] = (c[e.label] ?? 0) + 1;
  return c;
};

describe('sampleForReport', () => {
  it('returns a gallery under the limit whole', () => {
    const g = gallery({ a: 3, b: 2 });
    expect(sampleForReport(g, 5)).toEqual({ entries: g, total: 5 });
  });

  it('keeps each class in proportion (largest remainders), with two images at least, in gallery order', () => {
    const g = gallery({ a: 600, b: 300, c: 97, d: 3 });
    const { entries, total } = sampleForReport(g, 100);
    expect(total).toBe(1000);
    // Shares 60, 30, 9.7, 0.3: c takes the larger remainder, d the two-image floor.
    expect(counts(entries)).toEqual({ a: 60, b: 30, c: 10, d: 2 });
    const order = entries.map((e) => g.indexOf(e));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(new Set(entries).size).toBe(entries.length);
  });

  it('is the same sample for the same seed and another for another seed', () => {
    const g = gallery({ a: 500, b: 500 });
    const ids = (seed: number) => sampleForReport(g, 50, seed).entries.map((e) => e.id);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(2)).not.toEqual(ids(1));
  });

  it('samples uniformly within a class', () => {
    const g = gallery({ a: 100, b: 100 });
    const seen = new Array(100).fill(0);
    for (let seed = 1; seed <= 400; seed++)
      for (const e of sampleForReport(g, 20, seed).entries) if (e.label === 'a') seen[Number(e.id.slice(2))]++;
    // Each image of a is drawn with probability 10/100: 40 of 400 draws, binomial sd 6.
    expect(Math.min(...seen)).toBeGreaterThan(15);
    expect(Math.max(...seen)).toBeLessThan(65);
  });

  it('refuses a limit under two', () => {
    expect(() => sampleForReport(gallery({ a: 3 }), 1)).toThrow('sampleForReport: limit 1 is not an integer >= 2');
  });
});
