/** The vector index: exact search is brute force over the stored vectors, and ids survive adds and removes. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { validateVectorIndexOptions, VectorIndex } from '../../src/core/vector-index/vector-index.ts';
import { ClusteredVectors } from '../../scripts/lib/gallery-bench-data.ts';

const DIM = 64;
const data = new ClusteredVectors({ dim: DIM, centres: 50, noise: 0.75, seed: 11 });

function bruteForce(vectors: Map<string, Float32Array>, q: ArrayLike<number>, k: number) {
  return [...vectors]
    .map(([id, v]) => ({ id, score: v.reduce((s, x, i) => s + x * q[i]!, 0) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

const rows = (flat: Float32Array) =>
  Array.from({ length: flat.length / DIM }, (_, i) => flat.slice(i * DIM, (i + 1) * DIM));

describe('VectorIndex, exact', () => {
  for (const kernel of ['wasm-simd', 'js'] as const) {
    it(`${kernel}: search equals brute force over the stored vectors, and the originals' top-k`, () => {
      const index = new VectorIndex({ dim: DIM, kernel });
      const stored = new Map<string, Float32Array>();
      const originals = new Map<string, Float32Array>();
      rows(data.stream('gallery')(5000)).forEach((v, i) => {
        index.add(`v${i}`, v);
        originals.set(`v${i}`, v);
      });
      for (const id of originals.keys()) stored.set(id, index.vector(id)!);
      let sameAsOriginals = 0;
      for (const q of rows(data.stream('queries')(40))) {
        const got = index.search(q, 5);
        const want = bruteForce(stored, q, 5);
        expect(got.map((m) => m.id)).toEqual(want.map((m) => m.id));
        got.forEach((m, i) => expect(m.score).toBeCloseTo(want[i]!.score, 3));
        const exact = new Set(bruteForce(originals, q, 5).map((m) => m.id));
        sameAsOriginals += got.filter((m) => exact.has(m.id)).length;
      }
      // int8 rounding swaps near-ties only.
      expect(sameAsOriginals / 200).toBeGreaterThanOrEqual(0.95);
      expect(index.stats().kernel).toBe(kernel);
      expect(index.stats().approximate).toBe(false);
    });
  }

  it('adds, replaces and removes by id, in any order, like a map', () => {
    const random = mulberry32(2);
    const index = new VectorIndex({ dim: DIM });
    const reference = new Map<string, Float32Array>();
    const pool = rows(data.stream('gallery')(400));
    for (let step = 0; step < 3000; step++) {
      const id = `id${Math.floor(random() * 300)}`;
      if (random() < 0.4) {
        expect(index.remove(id)).toBe(reference.delete(id));
      } else {
        const v = pool[Math.floor(random() * pool.length)]!;
        index.add(id, v);
        reference.set(id, v);
      }
      expect(index.size).toBe(reference.size);
    }
    for (const [id, v] of reference) {
      expect(index.has(id)).toBe(true);
      const back = index.vector(id)!;
      for (let i = 0; i < DIM; i++) expect(Math.abs(back[i]! - v[i]!)).toBeLessThan(0.01);
    }
    const q = pool[0]!;
    const all = index.search(q, reference.size);
    expect(new Set(all.map((m) => m.id))).toEqual(new Set(reference.keys()));
    expect(index.remove('never-added')).toBe(false);
  });

  it('leaves out the excluded id and still returns k matches', () => {
    const index = new VectorIndex({ dim: DIM });
    const vs = rows(data.stream('gallery')(50));
    vs.forEach((v, i) => index.add(`v${i}`, v));
    const r = index.search(vs[3]!, 5, 'v3');
    expect(r).toHaveLength(5);
    expect(r.map((m) => m.id)).not.toContain('v3');
    expect(index.search(vs[3]!, 1)[0]!.id).toBe('v3');
  });

  it('takes back the int8 form it gave (what the gallery persists) without requantising', () => {
    const a = new VectorIndex({ dim: DIM });
    const b = new VectorIndex({ dim: DIM });
    rows(data.stream('gallery')(100)).forEach((v, i) => a.add(`v${i}`, v));
    for (let i = 0; i < 100; i++) {
      const { code, scale } = a.code(`v${i}`)!;
      b.addCode(`v${i}`, code, scale);
    }
    const q = rows(data.stream('queries')(1))[0]!;
    expect(b.search(q, 10)).toEqual(a.search(q, 10));
  });

  it('refuses a vector of the wrong length and bad options, saying what is valid', () => {
    const index = new VectorIndex({ dim: DIM });
    expect(() => index.add('x', new Float32Array(3))).toThrow('vector index: a vector has 3 values, the index 64');
    expect(() => validateVectorIndexOptions({ dim: 0 })).toThrow('vector index: dim must be a positive integer; got 0');
    expect(() => validateVectorIndexOptions({ dim: 8, nprobe: 0 })).toThrow(
      "vector index: nprobe must be a positive integer or 'auto'; got 0",
    );
    expect(() => validateVectorIndexOptions({ dim: 8, targetRecall: 2 })).toThrow('targetRecall must be in (0, 1]');
  });
});
