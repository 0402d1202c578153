/**
 * The gallery report: how well a labelled set of embeddings recognises itself, class by class. Every image is
 * a query against all the others (leave-one-out, cosine), as `npm run eval` measures a model: the overall
 * recall@1 / mAP are leaveOneOutRetrieval's own figures; this adds which classes fail, which classes are taken
 * for which, how many images a class needs, how right and wrong matches score, and a recognition threshold.
 * docs/insights.md explains each number.
 */
import { openSetRates, thresholdAtFalseAcceptRate } from './recognition-calibration.ts';
import type { RetrievalMetrics } from './retrieval-metrics.ts';

export interface GalleryReportEntry {
  readonly id: string;
  readonly label: string;
  /** L2-normalised (the embedder's default); other rows are normalised first. */
  readonly embedding: ArrayLike<number>;
}

export interface GalleryReportOptions {
  /** The recognition threshold in use (a cosine); echoed with the rates it gives. */
  readonly threshold?: number;
  /** The share of unknown queries the suggested threshold may accept (0 to 1). Default 0.1. */
  readonly falseAcceptRate?: number;
  /** Gallery sizes of the growth curves (positive integers). Default 1, 2, 3, 5, 10, 20, 50, 100. */
  readonly growthSizes?: readonly number[];
}

export const DEFAULT_GALLERY_REPORT_OPTIONS = Object.freeze({
  // The rate the default model's and fine-tuned models' thresholds are set at (docs/recognition-threshold.md).
  falseAcceptRate: 0.1,
  growthSizes: Object.freeze([1, 2, 3, 5, 10, 20, 50, 100]),
});

/** The score histograms' bins: 40 of width 0.05 over the whole cosine range. */
export const SCORE_HISTOGRAM_BINS = 40;

export interface ClassReport {
  readonly label: string;
  /** Images of the class; each is one query. */
  readonly images: number;
  /** Its queries whose best match (among all other images) has their label. */
  readonly recallAt1: number;
  /** Mean average precision of its queries over the full ranking. */
  readonly map: number;
}

export interface ConfusionExample {
  readonly queryId: string;
  readonly matchId: string;
  readonly score: number;
}

/** Two classes (a < b), with how often a query of one had its best match in the other, each way. */
export interface ConfusedPair {
  readonly a: string;
  readonly b: string;
  readonly aTakenForB: number;
  readonly bTakenForA: number;
  /** aTakenForB + bTakenForA: what the list is sorted by. */
  readonly count: number;
  /** count over the two classes' queries. */
  readonly rate: number;
  /** Up to 3 of those queries, highest score first. */
  readonly examples: readonly ConfusionExample[];
}

export interface GrowthPoint {
  /** Images of the class in the gallery (besides the query). */
  readonly galleryImages: number;
  /** Expected recall@1 of the class's queries over every gallery of that many of its images. */
  readonly recallAt1: number;
}

export interface ClassGrowth {
  readonly label: string;
  /** Ascending sizes, the last the whole class (images - 1, where recallAt1 is the class's own). */
  readonly points: readonly GrowthPoint[];
}

export interface ScoreHistograms {
  /** SCORE_HISTOGRAM_BINS + 1 edges from -1 to 1; bin i is [edges[i], edges[i + 1]), the last one closed. */
  readonly binEdges: readonly number[];
  /** Per query: its best score against another image of its class. */
  readonly sameClass: readonly number[];
  /** Per query: its best score against an image of another class. */
  readonly differentClass: readonly number[];
}

export interface ThresholdRates {
  /** Queries whose best match has their label and reaches the threshold. */
  readonly knownRight: number;
  /** Images whose best match among the other classes stays under it (as if their class were unknown). */
  readonly unknownRejected: number;
}

export interface ThresholdAdvice {
  /** The threshold given in the options; absent when none was. */
  readonly threshold?: number;
  readonly atThreshold?: ThresholdRates;
  /** Accepts `falseAcceptRate` of the images' best other-class scores (each class left out in turn). */
  readonly suggestedThreshold: number;
  readonly falseAcceptRate: number;
  readonly atSuggested: ThresholdRates;
}

export interface GalleryReportResult {
  readonly images: number;
  /** Distinct labels, single-image ones included. */
  readonly classes: number;
  /** Images of labels with two or more images: the queries every figure below is over. */
  readonly queries: number;
  readonly recallAt1: number;
  readonly recallAt5: number;
  readonly map: number;
  /** Labels with two or more images, sorted. */
  readonly perClass: readonly ClassReport[];
  /** Labels with one image: no query can find a same-label match, so they are left out of every recall (they
   * stay in the gallery as images other queries may wrongly match). */
  readonly singleImageClasses: readonly string[];
  /** The 10 most confused pairs, most confusions first. */
  readonly confusedPairs: readonly ConfusedPair[];
  readonly growth: readonly ClassGrowth[];
  readonly scores: ScoreHistograms;
  readonly threshold: ThresholdAdvice;
}

/** What one leave-one-out query found. */
interface QueryOutcome {
  readonly top: number;
  readonly topScore: number;
  readonly bestSame: number;
  readonly bestOther: number;
  /** Same-label images ranked above the best other-label one. */
  readonly aboveOther: number;
  /** Other-label images ranked above the best same-label one: its 0-based rank. */
  readonly firstRank: number;
  readonly ap: number;
}

const CONFUSED_PAIRS = 10;
const CONFUSION_EXAMPLES = 3;

export function galleryReport(
  entries: readonly GalleryReportEntry[],
  options: GalleryReportOptions = {},
): GalleryReportResult {
  const { threshold, falseAcceptRate, growthSizes } = validateOptions(options);
  const rows = validateEntries(entries);
  const labels = entries.map((e) => e.label);
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => (byLabel.get(l) ?? byLabel.set(l, []).get(l)!).push(i));
  const sortedLabels = [...byLabel.keys()].sort(compareStrings);
  if (sortedLabels.length < 2) {
    throw new RangeError(
      `galleryReport: needs images of at least 2 labels; got ${sortedLabels.length} (${sortedLabels.map((l) => JSON.stringify(l)).join(', ')})`,
    );
  }
  const singleImageClasses = sortedLabels.filter((l) => byLabel.get(l)!.length === 1);
  if (singleImageClasses.length === sortedLabels.length) {
    throw new RangeError(
      'galleryReport: every label has a single image, so no query has a same-label image to find; give some labels a second image',
    );
  }
  const outcomes = queryOutcomes(rows, labels);
  const isQuery = (i: number) => byLabel.get(labels[i]!)!.length > 1;
  const overall = overallOf(outcomes, isQuery);

  const perClass: ClassReport[] = [];
  const growth: ClassGrowth[] = [];
  for (const label of sortedLabels) {
    const members = byLabel.get(label)!;
    if (members.length < 2) continue;
    const mean = (f: (o: QueryOutcome) => number) => members.reduce((s, i) => s + f(outcomes[i]!), 0) / members.length;
    perClass.push({
      label,
      images: members.length,
      recallAt1: mean((o) => (labels[o.top] === label ? 1 : 0)),
      map: mean((o) => o.ap),
    });
    const others = members.length - 1;
    const sizes = [...growthSizes.filter((k) => k < others), others];
    growth.push({
      label,
      points: sizes.map((k) => ({ galleryImages: k, recallAt1: mean((o) => hitChance(others, o.aboveOther, k)) })),
    });
  }

  const queries = outcomes.flatMap((o, i) => (isQuery(i) ? [{ o, i }] : []));
  const known = queries.map(({ o, i }) => ({ score: o.topScore, correct: labels[o.top] === labels[i] }));
  // Every image, single-image classes too, is once an unknown query: its best match among the other classes.
  const unknown = outcomes.map((o) => o.bestOther);
  const ratesAt = (t: number): ThresholdRates => {
    const r = openSetRates({ known, unknown }, t);
    return { knownRight: r.knownRight, unknownRejected: r.unknownRejected };
  };
  const suggestedThreshold = thresholdAtFalseAcceptRate(unknown, falseAcceptRate);

  return {
    images: entries.length,
    classes: sortedLabels.length,
    queries: overall.queries,
    recallAt1: overall.recallAt1,
    recallAt5: overall.recallAt5,
    map: overall.map,
    perClass,
    singleImageClasses,
    confusedPairs: confusedPairs(entries, outcomes, isQuery, byLabel),
    growth,
    scores: {
      binEdges: Array.from({ length: SCORE_HISTOGRAM_BINS + 1 }, (_, i) => -1 + (2 * i) / SCORE_HISTOGRAM_BINS),
      sameClass: histogram(queries.map(({ o }) => o.bestSame)),
      differentClass: histogram(queries.map(({ o }) => o.bestOther)),
    },
    threshold: {
      ...(threshold === undefined ? {} : { threshold, atThreshold: ratesAt(threshold) }),
      suggestedThreshold,
      falseAcceptRate,
      atSuggested: ratesAt(suggestedThreshold),
    },
  };
}

/**
 * Every image against every other, ranked as leaveOneOutRetrieval ranks them (score, then index: the same
 * dot-product loop, the same tie-break), so each query's top match and average precision are that function's.
 * Four queries share each pass over the rows; each pair's sum still runs in the same order, to the same bits.
 */
function queryOutcomes(rows: readonly Float32Array[], labels: readonly string[]): QueryOutcome[] {
  const n = rows.length;
  const ids = new Map<string, number>();
  const labelOf = Int32Array.from(labels, (l) => ids.get(l) ?? ids.set(l, ids.size).get(l)!);
  const members: number[][] = Array.from({ length: ids.size }, () => []);
  labelOf.forEach((c, i) => members[c]!.push(i));
  const scores = Array.from({ length: 4 }, () => new Float64Array(n));
  const outcomes: QueryOutcome[] = [];
  for (let q0 = 0; q0 < n; q0 += 4) {
    const block = Math.min(4, n - q0);
    // A short last block repeats its last query in the unused slots, whose scores are ignored.
    const [a0, a1, a2, a3] = [0, 1, 2, 3].map((r) => rows[q0 + Math.min(r, block - 1)]!) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const [s0, s1, s2, s3] = scores as [Float64Array, Float64Array, Float64Array, Float64Array];
    for (let j = 0; j < n; j++) {
      const b = rows[j]!;
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      for (let k = 0; k < b.length; k++) {
        const x = b[k]!;
        t0 += a0[k]! * x;
        t1 += a1[k]! * x;
        t2 += a2[k]! * x;
        t3 += a3[k]! * x;
      }
      s0[j] = t0;
      s1[j] = t1;
      s2[j] = t2;
      s3[j] = t3;
    }
    for (let r = 0; r < block; r++) outcomes.push(outcomeOf(q0 + r, scores[r]!, labelOf, members[labelOf[q0 + r]!]!));
  }
  return outcomes;
}

function outcomeOf(q: number, s: Float64Array, labelOf: Int32Array, sameLabel: readonly number[]): QueryOutcome {
  const ahead = (x: number, y: number) => s[x]! > s[y]! || (s[x] === s[y] && x < y);
  const relevant = sameLabel.filter((j) => j !== q).sort((x, y) => s[y]! - s[x]! || x - y);
  const label = labelOf[q]!;
  let bestOther = -1;
  for (let j = 0; j < s.length; j++) if (labelOf[j] !== label && (bestOther < 0 || ahead(j, bestOther))) bestOther = j;
  // above[i]: other-label images ranked between relevant[i - 1] and relevant[i] (binary search of each).
  const above = new Int32Array(relevant.length + 1);
  let aboveOther = 0;
  for (let j = 0; j < s.length; j++) {
    if (labelOf[j] === label) continue;
    let lo = 0;
    let hi = relevant.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ahead(relevant[mid]!, j)) lo = mid + 1;
      else hi = mid;
    }
    above[lo]!++;
    if (j === bestOther) aboveOther = lo;
  }
  let ap = 0;
  let irrelevantAbove = 0;
  // The same terms, added in the same order, as leaveOneOutRetrieval's found / (rank + 1).
  for (let i = 0; i < relevant.length; i++) {
    irrelevantAbove += above[i]!;
    ap += (i + 1) / (i + irrelevantAbove + 1);
  }
  const first = relevant[0];
  const top = first !== undefined && ahead(first, bestOther) ? first : bestOther;
  return {
    top,
    topScore: s[top]!,
    bestSame: first === undefined ? Number.NaN : s[first]!,
    bestOther: s[bestOther]!,
    aboveOther,
    firstRank: above[0]!,
    ap: relevant.length > 0 ? ap / relevant.length : Number.NaN,
  };
}

/**
 * leaveOneOutRetrieval's figures from the outcomes (the same ranking, the same sums in query order, so the same
 * bits; a test holds them equal), without a second O(N² D) pass and its full sort per query.
 */
function overallOf(outcomes: readonly QueryOutcome[], isQuery: (i: number) => boolean): RetrievalMetrics {
  let queries = 0;
  let hit1 = 0;
  let hit5 = 0;
  let apSum = 0;
  outcomes.forEach((o, i) => {
    if (!isQuery(i)) return;
    queries++;
    if (o.firstRank === 0) hit1++;
    if (o.firstRank < 5) hit5++;
    apSum += o.ap;
  });
  return { queries, recallAt1: hit1 / queries, recallAt5: hit5 / queries, map: apSum / queries };
}

/**
 * The chance that a gallery of k of the query's `others` same-label images, drawn uniformly, holds one of the
 * `good` ones ranked above its best other-label match: 1 - C(others - good, k) / C(others, k). This is the
 * mean over every such gallery, exactly what seeded repeats of the draw would estimate.
 */
function hitChance(others: number, good: number, k: number): number {
  let miss = 1;
  for (let i = 0; i < k; i++) miss *= Math.max(0, others - good - i) / (others - i);
  return 1 - miss;
}

function confusedPairs(
  entries: readonly GalleryReportEntry[],
  outcomes: readonly QueryOutcome[],
  isQuery: (i: number) => boolean,
  byLabel: ReadonlyMap<string, readonly number[]>,
): ConfusedPair[] {
  const pairs = new Map<string, { a: string; b: string; ab: number; ba: number; examples: ConfusionExample[] }>();
  outcomes.forEach((o, q) => {
    const from = entries[q]!.label;
    const to = entries[o.top]!.label;
    if (!isQuery(q) || from === to) return;
    const [a, b] = compareStrings(from, to) < 0 ? [from, to] : [to, from];
    const key = JSON.stringify([a, b]);
    const pair = pairs.get(key) ?? pairs.set(key, { a, b, ab: 0, ba: 0, examples: [] }).get(key)!;
    if (from === a) pair.ab++;
    else pair.ba++;
    pair.examples.push({ queryId: entries[q]!.id, matchId: entries[o.top]!.id, score: o.topScore });
  });
  const queriesOf = (l: string) => (byLabel.get(l)!.length > 1 ? byLabel.get(l)!.length : 0);
  return [...pairs.values()]
    .map((p) => ({
      a: p.a,
      b: p.b,
      aTakenForB: p.ab,
      bTakenForA: p.ba,
      count: p.ab + p.ba,
      rate: (p.ab + p.ba) / (queriesOf(p.a) + queriesOf(p.b)),
      examples: p.examples.sort((x, y) => y.score - x.score).slice(0, CONFUSION_EXAMPLES),
    }))
    .sort((x, y) => y.count - x.count || y.rate - x.rate || compareStrings(x.a, y.a) || compareStrings(x.b, y.b))
    .slice(0, CONFUSED_PAIRS);
}

function histogram(scores: readonly number[]): number[] {
  const counts = new Array<number>(SCORE_HISTOGRAM_BINS).fill(0);
  for (const s of scores) {
    const bin = Math.floor(((s + 1) * SCORE_HISTOGRAM_BINS) / 2);
    counts[Math.min(SCORE_HISTOGRAM_BINS - 1, Math.max(0, bin))]!++;
  }
  return counts;
}

function validateOptions(options: GalleryReportOptions): {
  threshold: number | undefined;
  falseAcceptRate: number;
  growthSizes: number[];
} {
  const { threshold } = options;
  if (threshold !== undefined && !(threshold >= -1 && threshold <= 1)) {
    throw new RangeError(`galleryReport: threshold must be a cosine from -1 to 1; got ${threshold}`);
  }
  const falseAcceptRate = options.falseAcceptRate ?? DEFAULT_GALLERY_REPORT_OPTIONS.falseAcceptRate;
  if (!(falseAcceptRate >= 0 && falseAcceptRate <= 1)) {
    throw new RangeError(`galleryReport: falseAcceptRate must be from 0 to 1; got ${falseAcceptRate}`);
  }
  const sizes = options.growthSizes ?? DEFAULT_GALLERY_REPORT_OPTIONS.growthSizes;
  if (sizes.length === 0 || !sizes.every((k) => Number.isInteger(k) && k >= 1)) {
    throw new RangeError(`galleryReport: growthSizes must be positive integers; got [${sizes.join(', ')}]`);
  }
  return { threshold, falseAcceptRate, growthSizes: [...new Set(sizes)].sort((a, b) => a - b) };
}

/** Float32 rows, L2-normalised: the caller's own arrays when they already are (so figures match theirs). */
function validateEntries(entries: readonly GalleryReportEntry[]): Float32Array[] {
  if (entries.length === 0) throw new RangeError('galleryReport: no entries');
  const first = entries[0]!;
  const dim = first.embedding.length;
  if (dim === 0) throw new RangeError(`galleryReport: entry "${first.id}" has no values`);
  return entries.map(({ id, label, embedding }) => {
    if (typeof label !== 'string' || label === '') throw new RangeError(`galleryReport: entry "${id}" has no label`);
    if (embedding.length !== dim) {
      throw new RangeError(
        `galleryReport: entry "${id}" has ${embedding.length} values, entry "${first.id}" has ${dim}`,
      );
    }
    let s = 0;
    for (let k = 0; k < dim; k++) s += embedding[k]! * embedding[k]!;
    if (!Number.isFinite(s)) throw new RangeError(`galleryReport: entry "${id}" has a non-finite value`);
    if (s === 0) throw new RangeError(`galleryReport: entry "${id}" is a zero vector, which has no cosine`);
    const f32 = embedding instanceof Float32Array ? embedding : Float32Array.from(embedding);
    if (Math.abs(Math.sqrt(s) - 1) <= 1e-5) return f32;
    const inv = 1 / Math.sqrt(s);
    return Float32Array.from(f32, (x) => x * inv);
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
