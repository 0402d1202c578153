/** The package's entry exports the gallery report and the near-duplicate search, typed, and they work on plain data. */
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.ts';
import type { GalleryReportEntry, GalleryReportResult, NearDuplicateGroup } from '../../src/index.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';

const unit = (v: ArrayLike<number>) => {
  const n = Math.hypot(...Array.from(v));
  return Float32Array.from(v, (x) => x / n);
};

/** `labels` classes of `per` images: a class direction plus noise, normalised. */
function gallery(labels: number, per: number, d = 32): GalleryReportEntry[] {
  const rnd = normalSampler(3);
  const centres = Array.from({ length: labels }, () => Float64Array.from({ length: d }, rnd));
  return centres.flatMap((c, l) =>
    Array.from({ length: per }, (_, k) => ({
      id: `c${l}/${k}`,
      label: `c${l}`,
      embedding: unit(c.map((x) => x + 0.6 * rnd())),
    })),
  );
}

describe('the insights API of shitu-web', () => {
  it('exports report (galleryReport), nearDuplicates, pca2d and the default duplicate threshold', () => {
    expect(api.report).toBe(api.galleryReport);
    expect(typeof api.nearDuplicates).toBe('function');
    expect(typeof api.pca2d).toBe('function');
    expect(api.DEFAULT_DUPLICATE_THRESHOLD).toBe(0.85);
  });

  it('report(gallery) scores a labelled gallery leave-one-out', () => {
    const entries = gallery(4, 6);
    const r: GalleryReportResult = api.report(entries, { threshold: 0.5 });
    expect(r.images).toBe(24);
    expect(r.classes).toBe(4);
    expect(r.recallAt1).toBeGreaterThan(0.9);
    expect(r.perClass.map((c) => c.label)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(r.threshold.threshold).toBe(0.5);
    expect(r.growth).toHaveLength(4);
    expect(() => api.report(entries.slice(0, 6))).toThrow(RangeError);
  });

  it('nearDuplicates(embeddings, threshold) groups planted copies and nothing else', () => {
    const entries = gallery(3, 2, 64).map(({ id, embedding }) => ({ id, embedding }));
    const copy = unit(Float32Array.from(entries[0]!.embedding, (x, i) => x + (i % 2 ? 0.001 : -0.001)));
    const groups: NearDuplicateGroup[] = api.nearDuplicates([...entries, { id: 'copy', embedding: copy }]);
    expect(groups.map((g) => g.ids)).toEqual([['c0/0', 'copy']]);
    expect(groups[0]!.minScore).toBeGreaterThan(0.99);
    expect(api.nearDuplicates(entries, 0.999)).toEqual([]);
  });
});
