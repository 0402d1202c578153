/** The page's gallery index (src/ui/gallery-index.ts): one index per model, builds held and run in slices. */
import { describe, expect, it } from 'vitest';
import { GalleryIndex, runSliced } from '../../src/ui/gallery-index.ts';
import { ClusteredVectors } from '../../scripts/lib/gallery-bench-data.ts';

const DIM = 32;
const data = new ClusteredVectors({ dim: DIM, centres: 40, noise: 0.75, seed: 3 });
const rows = (flat: Float32Array) =>
  Array.from({ length: flat.length / DIM }, (_, i) => flat.slice(i * DIM, (i + 1) * DIM));

describe('GalleryIndex', () => {
  it('keeps one index per model and answers nothing for a query of another length', () => {
    const index = new GalleryIndex();
    const vs = rows(data.stream('gallery')(20));
    vs.forEach((v, i) => index.add(i < 10 ? 'a' : 'b', `v${i}`, v));
    expect(index.size('a')).toBe(10);
    expect(index.search('a', vs[12]!, 20).every((m) => Number(m.id.slice(1)) < 10)).toBe(true);
    expect(index.search('b', vs[12]!, 1)[0]!.id).toBe('v12');
    expect(index.search('a', new Float32Array(5), 3)).toEqual([]);
    expect(index.search('c', vs[0]!, 3)).toEqual([]);
    index.remove('a', 'v3');
    expect(index.size('a')).toBe(9);
  });

  it('holds builds while vectors arrive, then builds once, in slices, staying searchable meanwhile', async () => {
    const index = new GalleryIndex({ approximateFrom: 500 });
    const release = index.holdBuilds();
    rows(data.stream('gallery')(2000)).forEach((v, i) => index.add('m', `v${i}`, v));
    expect(index.stats('m')!.approximate).toBe(false);
    release();
    const q = rows(data.stream('queries')(1))[0]!;
    expect(index.search('m', q, 5)).toHaveLength(5); // exact while the build runs
    await index.idle();
    const stats = index.stats('m')!;
    expect(stats.approximate).toBe(true);
    expect(stats.nprobe).toBeGreaterThan(0);
  });

  it('runSliced runs a generator to its end across several tasks', async () => {
    let steps = 0;
    let tasks = 0;
    const counter = setInterval(() => tasks++, 0);
    await runSliced(
      (function* () {
        for (let i = 0; i < 200; i++) {
          const t = performance.now();
          while (performance.now() - t < 0.5);
          steps++;
          yield;
        }
      })(),
      5,
    );
    clearInterval(counter);
    expect(steps).toBe(200);
    expect(tasks).toBeGreaterThan(2); // other tasks ran between the slices
  });
});
