/** The approximate (IVF) index on a small clustered set: recall against exact search, and lists kept in step. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { VectorIndex } from '../../src/core/vector-index/vector-index.ts';
import { ClusteredVectors } from '../../scripts/lib/gallery-bench-data.ts';

const DIM = 64;
const data = new ClusteredVectors({ dim: DIM, centres: 100, noise: 0.75, seed: 5 });
const rows = (flat: Float32Array) =>
  Array.from({ length: flat.length / DIM }, (_, i) => flat.slice(i * DIM, (i + 1) * DIM));

function built(n: number, options: Partial<ConstructorParameters<typeof VectorIndex>[0]> = {}) {
  const index = new VectorIndex({ dim: DIM, approximateFrom: 1000, ...options });
  rows(data.stream('gallery')(n)).forEach((v, i) => index.add(`v${i}`, v));
  expect(index.needsBuild).toBe(true);
  let steps = 0;
  for (const _ of index.build()) steps++;
  expect(steps).toBeGreaterThan(10); // it does yield: a page can interleave other work
  expect(index.needsBuild).toBe(false);
  return index;
}

function recallAt5(index: VectorIndex, queries: Float32Array[]): number {
  let hit = 0;
  for (const q of queries) {
    const exact = new Set(index.searchExact(q, 5).map((m) => m.id));
    hit += index.search(q, 5).filter((m) => exact.has(m.id)).length;
  }
  return hit / (5 * queries.length);
}

describe('VectorIndex, approximate (IVF)', () => {
  it('reaches recall@5 >= 0.95 against exact search on held-out queries, with nprobe chosen by calibration', () => {
    const index = built(8000);
    const stats = index.stats();
    expect(stats.approximate).toBe(true);
    expect(stats.nlist).toBeGreaterThan(16);
    expect(stats.nprobe).toBeLessThan(stats.nlist!);
    expect(recallAt5(index, rows(data.stream('queries')(100)))).toBeGreaterThanOrEqual(0.95);
  });

  it('with every list probed, is exact: the lists hold every vector once, after adds, replacements and removes', () => {
    const index = built(3000, { nprobe: 1 });
    const random = mulberry32(9);
    const extra = rows(data.stream('queries')(600));
    for (let i = 0; i < 600; i++) {
      const r = random();
      if (r < 0.4) index.remove(`v${Math.floor(random() * 3000)}`);
      else if (r < 0.7) index.add(`v${Math.floor(random() * 3000)}`, extra[i]!);
      else index.add(`new${i}`, extra[i]!);
    }
    expect(index.approximate).toBe(true);
    index.nprobe = index.stats().nlist;
    for (const q of rows(data.stream('queries')(20))) expect(index.search(q, 10)).toEqual(index.searchExact(q, 10));
  });

  it('keeps changes made while it builds (the page adds entries between steps)', () => {
    const index = new VectorIndex({ dim: DIM, approximateFrom: 1000, nprobe: 4 });
    const vs = rows(data.stream('gallery')(4000));
    vs.slice(0, 3000).forEach((v, i) => index.add(`v${i}`, v));
    let i = 3000;
    for (const _ of index.build()) {
      if (i < 4000) index.add(`v${i}`, vs[i++]!);
      if (i % 7 === 0) index.remove(`v${i - 2000}`);
    }
    index.nprobe = index.stats().nlist;
    for (const q of rows(data.stream('queries')(20))) expect(index.search(q, 10)).toEqual(index.searchExact(q, 10));
  });
});
