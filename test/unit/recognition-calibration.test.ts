/** The open-set protocol behind calibrate-threshold and recognition-eval, on synthetic embeddings. */
import { describe, expect, it } from 'vitest';
import {
  leaveLabelOutThreshold,
  calibrateThreshold,
  openSetRates,
  openSetTrial,
  scoreTrial,
  thresholdAtFalseAcceptRate,
  type TrialScores,
} from '../../src/core/recognition-calibration.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';
import { refuseMeasuringSplit } from '../../scripts/calibrate-threshold.ts';

/** `classes` tight clusters around random unit centres: same-class cosines near 1, others near 0. */
function clusters(classes: number, perClass: number, dim = 32, spread = 0.05, seed = 7) {
  const normal = normalSampler(seed);
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return Float32Array.from(v, (x) => x / n);
  };
  const vectors: Float32Array[] = [];
  const labels: string[] = [];
  for (let c = 0; c < classes; c++) {
    const centre = unit(Array.from({ length: dim }, normal));
    for (let i = 0; i < perClass; i++) {
      vectors.push(unit(Array.from(centre, (x) => x + spread * normal())));
      labels.push(`class-${String(c).padStart(2, '0')}`);
    }
  }
  return { vectors, labels };
}

describe('openSetTrial', () => {
  const labels = ['b', 'a', 'b', 'c', 'a', 'c', 'b', 'a', 'd', 'd'];

  it('splits classes into known and unknown, each known class into gallery and queries, with nothing left over or shared', () => {
    const t = openSetTrial(labels, { knownClasses: 2, galleryPerClass: 1, seed: 3 });
    expect(t.knownClasses).toHaveLength(2);
    expect([...t.knownClasses, ...t.unknownClasses].sort()).toEqual(['a', 'b', 'c', 'd']);
    const all = [...t.gallery, ...t.knownQueries, ...t.unknownQueries].sort((x, y) => x - y);
    expect(all).toEqual(labels.map((_, i) => i));
    for (const c of t.knownClasses) expect(t.gallery.filter((i) => labels[i] === c)).toHaveLength(1);
    expect(t.unknownQueries.every((i) => t.unknownClasses.includes(labels[i]!))).toBe(true);
    expect(t.knownQueries.every((i) => t.knownClasses.includes(labels[i]!))).toBe(true);
  });

  it('is a function of the seed and the images, not of the split file order', () => {
    const a = openSetTrial(labels, { knownClasses: 2, galleryPerClass: 1, seed: 11 });
    expect(openSetTrial(labels, { knownClasses: 2, galleryPerClass: 1, seed: 11 })).toEqual(a);
    const seen = new Set(
      Array.from({ length: 20 }, (_, s) =>
        openSetTrial(labels, { knownClasses: 2, galleryPerClass: 1, seed: s }).knownClasses.join(),
      ),
    );
    expect(seen.size).toBeGreaterThan(1);
    // The same images listed class by class: the same classes are drawn.
    const order = labels.map((l, i) => [l, i] as const).sort((x, y) => x[0].localeCompare(y[0]) || x[1] - y[1]);
    const b = openSetTrial(
      order.map(([l]) => l),
      { knownClasses: 2, galleryPerClass: 1, seed: 11 },
    );
    expect(b.knownClasses).toEqual(a.knownClasses);
  });

  it('says what is wrong with its options', () => {
    expect(() => openSetTrial(labels, { knownClasses: 4, galleryPerClass: 1, seed: 1 })).toThrow(
      'knownClasses must be an integer from 1 to 3 (there are 4 classes); got 4',
    );
    expect(() => openSetTrial(labels, { knownClasses: 3, galleryPerClass: 0, seed: 1 })).toThrow(
      'galleryPerClass must be a positive integer; got 0',
    );
    expect(() => openSetTrial(labels, { knownClasses: 3, galleryPerClass: 2, seed: 1 })).toThrow(
      /class "(c|d)" has 2 images; 2 go to the gallery, so none would be left to query/,
    );
  });
});

describe('scoreTrial and openSetRates', () => {
  // Gallery: a (x axis), b (y axis). Queries: a near x, one a near y (mislabelled), an unknown between.
  const v = (x: number, y: number, z: number) => Float32Array.from([x, y, z].map((c) => c / Math.hypot(x, y, z)));
  const vectors = [v(1, 0, 0), v(0, 1, 0), v(1, 0.1, 0), v(0.1, 1, 0.2), v(1, 1, 4), v(0, 0, 1)];
  const labels = ['a', 'b', 'a', 'a', 'u', 'u'];
  const trial = {
    knownClasses: ['a', 'b'],
    unknownClasses: ['u'],
    gallery: [0, 1],
    knownQueries: [2, 3],
    unknownQueries: [4, 5],
  };

  it("takes each query's best gallery cosine and whether its label is right", () => {
    const s = scoreTrial(vectors, labels, trial);
    expect(s.known.map((q) => q.correct)).toEqual([true, false]);
    expect(s.known[0]!.score).toBeCloseTo(1 / Math.hypot(1, 0.1), 6);
    expect(s.unknown[0]).toBeCloseTo(1 / Math.hypot(1, 1, 4), 6);
    expect(s.unknown[1]).toBeCloseTo(0, 6);
  });

  it('accepts at score >= threshold, as searchGallery does', () => {
    const s: TrialScores = {
      known: [
        { score: 0.6, correct: true },
        { score: 0.4, correct: true },
        { score: 0.9, correct: false },
      ],
      unknown: [0.6, 0.3],
    };
    expect(openSetRates(s, 0.6)).toEqual({ knownRight: 1 / 3, unknownRejected: 0.5, knownTop1: 2 / 3 });
    expect(openSetRates(s, 0.3)).toEqual({ knownRight: 2 / 3, unknownRejected: 0, knownTop1: 2 / 3 });
  });

  it('refuses embeddings of mixed sizes', () => {
    expect(() =>
      scoreTrial([vectors[0]!, Float32Array.of(1, 0)], ['a', 'b'], {
        ...trial,
        gallery: [0, 1],
        knownQueries: [],
        unknownQueries: [],
      }),
    ).toThrow('scoreTrial: embedding 1 has 2 values, the first 3');
  });
});

describe('thresholdAtFalseAcceptRate', () => {
  const unknown = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4, 0.8, 0.6, 0.0];

  it('is midway between the highest score it must reject and the next higher one', () => {
    expect(thresholdAtFalseAcceptRate(unknown, 0.2)).toBeCloseTo(0.75, 12); // accepts 0.9 and 0.8
    expect(thresholdAtFalseAcceptRate(unknown, 0.25)).toBeCloseTo(0.75, 12); // 2.5 of 10: still 2
    expect(thresholdAtFalseAcceptRate(unknown, 0.1)).toBeCloseTo(0.85, 12);
    const t = thresholdAtFalseAcceptRate(unknown, 0.3);
    expect(unknown.filter((s) => s >= t)).toHaveLength(3);
  });

  it('rejects everything at 0, accepts everything at 1, and never lets ties through', () => {
    expect(unknown.every((s) => s < thresholdAtFalseAcceptRate(unknown, 0))).toBe(true);
    expect(thresholdAtFalseAcceptRate(unknown, 1)).toBe(-1);
    const tied = [0.8, 0.8, 0.8, 0.2];
    expect(tied.filter((s) => s >= thresholdAtFalseAcceptRate(tied, 0.5))).toHaveLength(0);
    expect(() => thresholdAtFalseAcceptRate(unknown, 1.5)).toThrow('far must be from 0 to 1; got 1.5');
    expect(() => thresholdAtFalseAcceptRate([], 0.1)).toThrow('no unknown scores');
  });
});

describe('calibrateThreshold on separated clusters', () => {
  const { vectors, labels } = clusters(12, 25);
  const trials = Array.from({ length: 6 }, (_, i) =>
    scoreTrial(vectors, labels, openSetTrial(labels, { knownClasses: 6, galleryPerClass: 5, seed: i + 1 })),
  );

  it('finds a threshold between the unknown and the known scores, rejecting about 1 - far of the unknowns', () => {
    const [strict, loose] = calibrateThreshold(trials, [0.01, 0.2]);
    expect(strict!.far).toBe(0.01);
    expect(strict!.threshold).toBeGreaterThan(loose!.threshold);
    expect(strict!.thresholdSd).toBeGreaterThanOrEqual(0);
    expect(strict!.rates.unknownRejected).toBeGreaterThan(0.95);
    expect(loose!.rates.unknownRejected).toBeGreaterThan(0.75);
    expect(loose!.rates.unknownRejected).toBeLessThan(0.85);
    // Tight clusters: every known query is right, and far above any unknown's score.
    expect(strict!.rates.knownTop1).toBe(1);
    expect(strict!.rates.knownRight).toBe(1);
  });
});

describe('calibrate-threshold', () => {
  it('refuses the splits kept for measuring', () => {
    for (const f of ['splits/eval.txt', 'x/finetune-train.txt', 'finetune-test.txt']) {
      expect(() => refuseMeasuringSplit(f)).toThrow(
        `refusing to calibrate on ${f}: eval.txt and finetune-*.txt are for measuring only`,
      );
    }
    expect(() => refuseMeasuringSplit('../shared/data/caltech101-80/splits/train.txt')).not.toThrow();
  });
});

describe('leaveLabelOutThreshold', () => {
  const unit = (x: number, y: number) => {
    const n = Math.hypot(x, y);
    return [x / n, y / n];
  };
  it('each query is known against the whole gallery and unknown against the other labels', () => {
    const gallery = [
      { embedding: unit(1, 0), label: 'a' },
      { embedding: unit(0, 1), label: 'b' },
    ];
    // Queries near their own label: best own score ~0.99, best other-label score ~0.14.
    const queries = [
      { embedding: unit(1, 0.14), label: 'a' },
      { embedding: unit(0.14, 1), label: 'b' },
      { embedding: unit(1, 0.5), label: 'a' },
      { embedding: unit(0.5, 1), label: 'b' },
    ];
    const c = leaveLabelOutThreshold(gallery, queries, 0)!;
    // No unknown may pass: the threshold sits above the highest other-label score (0.447 for (1, 0.5) vs b).
    expect(c.threshold).toBeGreaterThan(unit(1, 0.5)[1]!);
    expect(c.unknownRejected).toBe(1);
    expect(c.knownRight).toBe(1);
    expect(c.queries).toBe(4);
  });
  it('needs two labels in the gallery', () => {
    expect(
      leaveLabelOutThreshold([{ embedding: [1, 0], label: 'a' }], [{ embedding: [1, 0], label: 'a' }], 0.1),
    ).toBeUndefined();
  });
});
