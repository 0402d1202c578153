import { describe, expect, it } from 'vitest';
import { galleryReport, SCORE_HISTOGRAM_BINS, type GalleryReportEntry } from '../../src/core/gallery-report.ts';
import { openSetRates, thresholdAtFalseAcceptRate } from '../../src/core/recognition-calibration.ts';
import { leaveOneOutRetrieval } from '../../src/core/retrieval-metrics.ts';
import { mulberry32, normalSampler } from '../../src/core/seeded-random.ts';

function unit(v: Float64Array): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

/**
 * Clustered random vectors: one random centre per class, images at `noise` around it (32-d). Classes of 2 to
 * 14 images, and one class of a single image.
 */
function clustered(noise: number, seed = 1, sizes = [14, 9, 6, 4, 3, 2, 12, 1]): GalleryReportEntry[] {
  const rnd = normalSampler(seed);
  const d = 32;
  return sizes.flatMap((size, c) => {
    const centre = Float64Array.from({ length: d }, rnd);
    return Array.from({ length: size }, (_, i) => ({
      id: `c${c}/${i}`,
      label: `class-${String.fromCharCode(97 + c)}`,
      embedding: unit(Float64Array.from(centre, (x) => x + noise * rnd())),
    }));
  });
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
};

/** Each image's other images ranked by score, then index (brute force). */
function rankings(entries: readonly GalleryReportEntry[]): number[][] {
  return entries.map((q, qi) =>
    entries
      .map((_, j) => j)
      .filter((j) => j !== qi)
      .sort((x, y) => dot(q.embedding, entries[y]!.embedding) - dot(q.embedding, entries[x]!.embedding) || x - y),
  );
}

describe('galleryReport', () => {
  const entries = clustered(1.1);
  const report = galleryReport(entries, { threshold: 0.6 });
  const labels = entries.map((e) => e.label);
  const ranked = rankings(entries);

  it("reports leaveOneOutRetrieval's own recall@1, recall@5, mAP and query count", () => {
    const loo = leaveOneOutRetrieval(
      entries.map((e) => e.embedding as Float32Array),
      labels,
    );
    expect({
      queries: report.queries,
      recallAt1: report.recallAt1,
      recallAt5: report.recallAt5,
      map: report.map,
    }).toEqual(loo);
    // The fixture is neither trivial nor hopeless.
    expect(report.recallAt1).toBeGreaterThan(0.4);
    expect(report.recallAt1).toBeLessThan(1);
    expect(report.images).toBe(51);
    expect(report.classes).toBe(8);
  });

  it("keeps leaveOneOutRetrieval's figures with exact ties (copies across classes) and other seeds", () => {
    for (const seed of [2, 3, 4]) {
      const base = clustered(1.4, seed);
      // Byte-equal vectors under other labels: every such pair ties, and the index breaks it.
      const tied = [
        ...base,
        ...base.slice(0, 12).map((e, i) => ({ ...e, id: `copy-${i}`, label: `class-${'xyz'[i % 3]}` })),
      ];
      const got = galleryReport(tied);
      expect({ queries: got.queries, recallAt1: got.recallAt1, recallAt5: got.recallAt5, map: got.map }).toEqual(
        leaveOneOutRetrieval(
          tied.map((e) => e.embedding as Float32Array),
          tied.map((e) => e.label),
        ),
      );
    }
  });

  it('splits them by class: the per-class figures average (by images) to the overall ones', () => {
    expect(report.perClass.map((c) => c.label)).toEqual([
      'class-a',
      'class-b',
      'class-c',
      'class-d',
      'class-e',
      'class-f',
      'class-g',
    ]);
    expect(report.singleImageClasses).toEqual(['class-h']);
    const weighted = (f: (c: (typeof report.perClass)[number]) => number) =>
      report.perClass.reduce((s, c) => s + c.images * f(c), 0) / report.queries;
    expect(weighted((c) => c.recallAt1)).toBeCloseTo(report.recallAt1, 12);
    expect(weighted((c) => c.map)).toBeCloseTo(report.map, 12);
    // One class by brute force.
    const members = entries.flatMap((e, i) => (e.label === 'class-c' ? [i] : []));
    const hits = members.filter((q) => labels[ranked[q]![0]!] === 'class-c').length;
    const ap = (q: number) => {
      let found = 0;
      let sum = 0;
      ranked[q]!.forEach((j, rank) => {
        if (labels[j] === labels[q]) sum += ++found / (rank + 1);
      });
      return sum / found;
    };
    const c = report.perClass.find((x) => x.label === 'class-c')!;
    expect(c).toEqual({
      label: 'class-c',
      images: 6,
      recallAt1: hits / 6,
      map: expect.closeTo(members.reduce((s, q) => s + ap(q), 0) / 6, 12),
    });
  });

  it('lists the most confused class pairs, both directions counted and kept', () => {
    const counts = new Map<string, [number, number]>();
    entries.forEach((e, q) => {
      const to = labels[ranked[q]![0]!]!;
      if (e.label === 'class-h' || to === e.label) return;
      const [a, b] = [e.label, to].sort();
      const key = `${a}|${b}`;
      const c = counts.get(key) ?? [0, 0];
      c[e.label === a ? 0 : 1]++;
      counts.set(key, c);
    });
    expect(report.confusedPairs.length).toBe(Math.min(10, counts.size));
    for (const p of report.confusedPairs) {
      expect(p.a < p.b).toBe(true);
      expect([p.aTakenForB, p.bTakenForA]).toEqual(counts.get(`${p.a}|${p.b}`));
      expect(p.count).toBe(p.aTakenForB + p.bTakenForA);
      expect(p.examples.length).toBe(Math.min(3, p.count));
    }
    const sorted = [...report.confusedPairs].sort((x, y) => y.count - x.count || y.rate - x.rate);
    expect(report.confusedPairs.map((p) => p.count)).toEqual(sorted.map((p) => p.count));
    const top = report.confusedPairs[0]!;
    const n = (l: string) => labels.filter((x) => x === l).length;
    expect(top.rate).toBeCloseTo(top.count / (n(top.a) + n(top.b)), 12);
  });

  it("grows each class's recall@1 with its gallery, ending at the class's own recall@1", () => {
    const easy = galleryReport(clustered(1.6, 4, [30, 30, 30, 30]));
    for (const g of easy.growth) {
      const own = easy.perClass.find((c) => c.label === g.label)!;
      expect(g.points.map((p) => p.galleryImages)).toEqual([1, 2, 3, 5, 10, 20, 29]);
      expect(g.points.at(-1)!.recallAt1).toBe(own.recallAt1);
      for (let i = 1; i < g.points.length; i++) {
        expect(g.points[i]!.recallAt1).toBeGreaterThanOrEqual(g.points[i - 1]!.recallAt1 - 1e-12);
      }
    }
    // Not flat: one image of a class finds it less often than the whole class does.
    const mean = (k: number) => easy.growth.reduce((s, g) => s + g.points[k]!.recallAt1, 0) / easy.growth.length;
    expect(mean(0)).toBeLessThan(mean(6) - 0.05);
    // Small classes: sizes beyond their other images are left out.
    expect(report.growth.find((g) => g.label === 'class-f')!.points).toEqual([
      { galleryImages: 1, recallAt1: report.perClass.find((c) => c.label === 'class-f')!.recallAt1 },
    ]);
  });

  it('gives the exact mean over galleries that seeded repeats estimate', () => {
    // Monte Carlo in the test: 4000 random draws of k of each query's other images, other classes whole.
    const g = report.growth.find((x) => x.label === 'class-a')!;
    const k = g.points.find((p) => p.galleryImages === 3)!;
    const rand = mulberry32(7);
    const members = entries.flatMap((e, i) => (e.label === 'class-a' ? [i] : []));
    let hits = 0;
    let draws = 0;
    for (let r = 0; r < 4000; r++) {
      for (const q of members) {
        const others = members.filter((j) => j !== q);
        const kept = new Set<number>();
        while (kept.size < 3) kept.add(others[Math.floor(rand() * others.length)]!);
        const top = ranked[q]!.find((j) => labels[j] !== 'class-a' || kept.has(j))!;
        hits += labels[top] === 'class-a' ? 1 : 0;
        draws++;
      }
    }
    expect(k.recallAt1).toBeCloseTo(hits / draws, 2);
  });

  it("histograms each query's best same-class and best other-class score over [-1, 1]", () => {
    const { binEdges, sameClass, differentClass } = report.scores;
    expect(binEdges).toHaveLength(SCORE_HISTOGRAM_BINS + 1);
    expect(binEdges[0]).toBe(-1);
    expect(binEdges.at(-1)).toBe(1);
    expect(sameClass.reduce((a, b) => a + b, 0)).toBe(report.queries);
    expect(differentClass.reduce((a, b) => a + b, 0)).toBe(report.queries);
    const bin = (s: number) => Math.min(SCORE_HISTOGRAM_BINS - 1, Math.floor((s + 1) * 20));
    const expected = new Array<number>(SCORE_HISTOGRAM_BINS).fill(0);
    entries.forEach((e, q) => {
      if (e.label === 'class-h') return;
      const best = ranked[q]!.find((j) => labels[j] === e.label)!;
      expected[bin(dot(e.embedding, entries[best]!.embedding))]!++;
    });
    expect(sameClass).toEqual(expected);
  });

  it('echoes the threshold and suggests one at the false-accept rate, each class left out in turn', () => {
    const unknown = entries.map((e, q) =>
      dot(e.embedding, entries[ranked[q]!.find((j) => labels[j] !== e.label)!]!.embedding),
    );
    const known = entries.flatMap((e, q) =>
      e.label === 'class-h'
        ? []
        : [
            {
              score: dot(e.embedding, entries[ranked[q]![0]!]!.embedding),
              correct: labels[ranked[q]![0]!] === e.label,
            },
          ],
    );
    const suggested = thresholdAtFalseAcceptRate(unknown, 0.1);
    const rates = (t: number) => {
      const r = openSetRates({ known, unknown }, t);
      return { knownRight: r.knownRight, unknownRejected: r.unknownRejected };
    };
    expect(report.threshold.threshold).toBe(0.6);
    expect(report.threshold.atThreshold).toEqual(rates(0.6));
    expect(report.threshold.falseAcceptRate).toBe(0.1);
    expect(report.threshold.suggestedThreshold).toBeCloseTo(suggested, 6);
    expect(report.threshold.atSuggested.knownRight).toBeCloseTo(rates(suggested).knownRight, 12);
    expect(report.threshold.atSuggested.unknownRejected).toBeGreaterThanOrEqual(0.9);
    const without = galleryReport(entries, { falseAcceptRate: 0.25 });
    expect(without.threshold).not.toHaveProperty('threshold');
    expect(without.threshold).not.toHaveProperty('atThreshold');
    expect(without.threshold.suggestedThreshold).toBeLessThan(report.threshold.suggestedThreshold);
  });

  it('normalises rows that are not, and takes plain arrays', () => {
    const scaled = entries.map((e, i) => ({ ...e, embedding: Array.from(e.embedding, (x) => x * (1 + (i % 3))) }));
    const r = galleryReport(scaled, { threshold: 0.6 });
    expect(r.recallAt1).toBe(report.recallAt1);
    expect(r.map).toBeCloseTo(report.map, 6);
    expect(r.perClass.map((c) => c.recallAt1)).toEqual(report.perClass.map((c) => c.recallAt1));
  });

  it('refuses what it cannot report on, with exact messages', () => {
    const e = (id: string, label: string, embedding: number[]) => ({ id, label, embedding });
    expect(() => galleryReport([])).toThrow('galleryReport: no entries');
    expect(() => galleryReport([e('a', 'cat', [1, 0]), e('b', 'cat', [0, 1])])).toThrow(
      'galleryReport: needs images of at least 2 labels; got 1 ("cat")',
    );
    expect(() => galleryReport([e('a', 'cat', [1, 0]), e('b', 'dog', [0, 1])])).toThrow(
      'galleryReport: every label has a single image, so no query has a same-label image to find; give some labels a second image',
    );
    expect(() => galleryReport([e('a', 'cat', [1, 0]), e('b', 'dog', [0, 1, 0])])).toThrow(
      'galleryReport: entry "b" has 3 values, entry "a" has 2',
    );
    expect(() => galleryReport([e('a', 'cat', [1, 0]), e('b', 'dog', [0, 0])])).toThrow(
      'galleryReport: entry "b" is a zero vector, which has no cosine',
    );
    expect(() => galleryReport([e('a', '', [1, 0])])).toThrow('galleryReport: entry "a" has no label');
    expect(() => galleryReport([e('a', 'x', [])])).toThrow('galleryReport: entry "a" has no values');
    expect(() => galleryReport([e('a', 'x', [Number.NaN, 1])])).toThrow(
      'galleryReport: entry "a" has a non-finite value',
    );
    expect(() => galleryReport(entries, { threshold: 2 })).toThrow(
      'galleryReport: threshold must be a cosine from -1 to 1; got 2',
    );
    expect(() => galleryReport(entries, { falseAcceptRate: -0.1 })).toThrow(
      'galleryReport: falseAcceptRate must be from 0 to 1; got -0.1',
    );
    expect(() => galleryReport(entries, { growthSizes: [1, 2.5] })).toThrow(
      'galleryReport: growthSizes must be positive integers; got [1, 2.5]',
    );
  });
});
