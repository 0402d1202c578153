import { describe, expect, it } from 'vitest';
import { chooseDuplicateThreshold, DUPLICATE_RULE } from '../../scripts/lib/duplicate-evidence.ts';
import { pairsAtLeast } from '../../src/core/embedding-map/pair-scan.ts';
import { DEFAULT_DUPLICATE_THRESHOLD, nearDuplicates } from '../../src/core/near-duplicates.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';
import { cosineSimilarity } from '../../src/core/similarity.ts';

function randomUnit(d: number, rnd: () => number): Float32Array {
  const v = Float64Array.from({ length: d }, rnd);
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

/** `base` plus noise of relative size `noise`, normalised: cosine about 1 / sqrt(1 + noise²) with the base. */
function jitter(base: Float32Array, noise: number, rnd: () => number): Float32Array {
  const v = Float64Array.from(base, (x) => x + (noise / Math.sqrt(base.length)) * rnd());
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

/** 300 random 64-d images (pairwise cosines within about +-0.5) and 10 planted families of 2 to 4 copies. */
function fixture() {
  const rnd = normalSampler(42);
  const items = Array.from({ length: 300 }, (_, i) => ({
    id: `img-${String(i).padStart(3, '0')}`,
    embedding: randomUnit(64, rnd),
  }));
  const families: string[][] = [];
  for (let f = 0; f < 10; f++) {
    const base = items[f * 29]!;
    const family = [base.id];
    for (let c = 0; c < 1 + (f % 3); c++) {
      const id = `${base.id}-copy${c}`;
      items.push({ id, embedding: jitter(base.embedding, 0.15, rnd) });
      family.push(id);
    }
    families.push(family.sort());
  }
  return { items, families };
}

describe('nearDuplicates', () => {
  it('finds the planted duplicates and groups nothing else', () => {
    const { items, families } = fixture();
    const groups = nearDuplicates(items, 0.95);
    expect(groups.map((g) => g.ids)).toEqual(
      [...families].sort((a, b) => b.length - a.length || (a[0]! < b[0]! ? -1 : 1)),
    );
    const byId = new Map(items.map((x) => [x.id, x.embedding]));
    for (const g of groups) {
      const scores = g.ids.flatMap((a, i) =>
        g.ids.slice(i + 1).map((b) => cosineSimilarity(byId.get(a)!, byId.get(b)!)),
      );
      expect(g.minScore).toBe(Math.min(...scores));
      expect(g.maxScore).toBe(Math.max(...scores));
      expect(g.minScore).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('sorts groups by size, then by first id, and ids within a group', () => {
    const rnd = normalSampler(5);
    const [a, b, c] = [randomUnit(16, rnd), randomUnit(16, rnd), randomUnit(16, rnd)];
    const groups = nearDuplicates([
      { id: 'z1', embedding: a },
      { id: 'b2', embedding: b },
      { id: 'b1', embedding: b },
      { id: 'a9', embedding: c },
      { id: 'a1', embedding: a },
      { id: 'm', embedding: a },
      { id: 'a8', embedding: c },
    ]);
    expect(groups.map((g) => g.ids)).toEqual([
      ['a1', 'm', 'z1'],
      ['a8', 'a9'],
      ['b1', 'b2'],
    ]);
  });

  it('groups a chain whose ends are below the threshold, and says so in minScore', () => {
    const at = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
    const groups = nearDuplicates(
      [
        { id: 'a', embedding: at(0) },
        { id: 'b', embedding: at(20) },
        { id: 'c', embedding: at(40) },
        { id: 'far', embedding: at(90) },
      ],
      Math.cos((25 * Math.PI) / 180),
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.ids).toEqual(['a', 'b', 'c']);
    expect(groups[0]!.minScore).toBeCloseTo(Math.cos((40 * Math.PI) / 180), 12);
    expect(groups[0]!.maxScore).toBeCloseTo(Math.cos((20 * Math.PI) / 180), 12);
  });

  it('decides at the threshold exactly, on cosineSimilarity, not on the float32 scan', () => {
    const rnd = normalSampler(9);
    const a = randomUnit(512, rnd);
    const b = jitter(a, 0.3, rnd);
    const s = cosineSimilarity(a, b);
    const items = [
      { id: 'a', embedding: a },
      { id: 'b', embedding: b },
    ];
    expect(nearDuplicates(items, s)).toHaveLength(1);
    expect(nearDuplicates(items, s + 2 ** -40)).toHaveLength(0);
  });

  it('compares cosines, so scaled copies are duplicates; odd sizes (7 rows of 5) are padded right', () => {
    const rnd = normalSampler(3);
    const rows = Array.from({ length: 6 }, () => Array.from(randomUnit(5, rnd)));
    const items = rows.map((embedding, i) => ({ id: `r${i}`, embedding }));
    items.push({ id: 'r0-big', embedding: rows[0]!.map((x) => 3 * x) });
    expect(nearDuplicates(items, 0.999999).map((g) => g.ids)).toEqual([['r0', 'r0-big']]);
  });

  it('gives the same pairs with the WebAssembly and the JavaScript kernel', () => {
    const { items } = fixture();
    const rows = items.map((x) => x.embedding);
    const wasm = pairsAtLeast(rows, 0.5);
    const js = pairsAtLeast(rows, 0.5, { kernel: 'js' });
    expect(wasm.kernel).toBe('wasm-simd'); // Node has WebAssembly SIMD
    expect(js.kernel).toBe('js');
    expect(wasm.first).toEqual(js.first);
    expect(wasm.second).toEqual(js.second);
    expect(wasm.scores).toEqual(js.scores);
    // And the brute force over every pair.
    let expected = 0;
    for (let i = 0; i < rows.length; i++)
      for (let j = i + 1; j < rows.length; j++) if (cosineSimilarity(rows[i]!, rows[j]!) >= 0.5) expected++;
    expect(wasm.first.length).toBe(expected);
  });

  it('uses DEFAULT_DUPLICATE_THRESHOLD by default; small inputs have no groups', () => {
    const at = (c: number) => [c, Math.sqrt(1 - c * c)];
    const t = DEFAULT_DUPLICATE_THRESHOLD;
    const items = [
      { id: 'x', embedding: at(1) },
      { id: 'y', embedding: at(t + 0.005) },
      { id: 'z', embedding: [t - 0.06, -Math.sqrt(1 - (t - 0.06) ** 2)] }, // on the other side of x from y
    ];
    expect(nearDuplicates(items).map((g) => g.ids)).toEqual([['x', 'y']]);
    expect(nearDuplicates([])).toEqual([]);
    expect(nearDuplicates([{ id: 'only', embedding: [1, 0] }])).toEqual([]);
  });

  it('refuses bad input with exact messages', () => {
    const e = (id: string, embedding: number[]) => ({ id, embedding });
    expect(() => nearDuplicates([e('a', [1, 0]), e('a', [0, 1])])).toThrow(
      'nearDuplicates: id "a" is used twice; ids must be unique',
    );
    expect(() => nearDuplicates([e('a', [1, 0]), e('b', [0, 1, 0])])).toThrow(
      'nearDuplicates: "b" has 3 values, "a" has 2',
    );
    expect(() => nearDuplicates([e('a', [1, 0]), e('b', [0, 0])])).toThrow(
      'nearDuplicates: "b" is a zero vector, which has no cosine',
    );
    expect(() => nearDuplicates([e('a', [1, Number.NaN])])).toThrow('nearDuplicates: "a" has a non-finite value');
    expect(() => nearDuplicates([e('', [1, 0])])).toThrow('nearDuplicates: every embedding needs a non-empty id');
    expect(() => nearDuplicates([], 1.5)).toThrow('nearDuplicates: threshold must be a cosine from -1 to 1; got 1.5');
    expect(() => nearDuplicates([e('a', []), e('b', [])])).toThrow('nearDuplicates: embeddings have no values');
  });
});

describe('the duplicate threshold rule (scripts/lib/duplicate-evidence.ts)', () => {
  it('takes the grid threshold with the most variants kept less images grouped, the higher on a tie', () => {
    // Variants at 0.95 and above, images' best same-class neighbours at 0.90 and below: every grid value from
    // 0.91 to 0.95 separates them perfectly (J = 1); the rule takes the highest, 0.95.
    const variants = [0.95, 0.97, 0.99].map((score) => ({ kind: 'jpeg' as const, score }));
    const choice = chooseDuplicateThreshold({ variants, sameClassBest: [0.5, 0.9], otherClassBest: [0.3] });
    expect(choice.threshold).toBe(0.95);
    expect(choice).toMatchObject({ variantsKept: 1, imagesGrouped: 0, keepBound: 0.95 });
    expect(DUPLICATE_RULE.grid[0]).toBe(0.5);
    expect(DUPLICATE_RULE.grid.at(-1)).toBe(0.99);
  });

  it('trades one against the other when they overlap', () => {
    // 0.76 to 0.80: 7 of 8 variants kept, 1 of 4 images grouped (J 0.625); 0.86: 4 of 8 and none (0.5);
    // 0.70: all and 2 of 4 (0.5). The best, and the highest of the tied best, is 0.80.
    const variants = [0.7, 0.8, 0.82, 0.84, 0.9, 0.95, 0.97, 0.99].map((score) => ({ kind: 'resize' as const, score }));
    const choice = chooseDuplicateThreshold({ variants, sameClassBest: [0.3, 0.5, 0.75, 0.85], otherClassBest: [] });
    expect(choice.threshold).toBe(0.8);
    expect(choice.variantsKept).toBe(0.875);
    expect(choice.imagesGrouped).toBe(0.25);
  });
});
