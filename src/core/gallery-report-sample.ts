/**
 * A gallery too large for the report's O(N² D) leave-one-out pass (an imported faiss index of 100,000 vectors)
 * is reported on a fixed sample: each class keeps its share of the gallery, and at least two images (one query
 * and one match) where it has them. The sample is seeded, so the same gallery gives the same report.
 * A sampled class has fewer images to match against than the whole gallery gives it, so recall@1 on the sample
 * is usually lower than the whole gallery's (Caltech-101's 3,853 training images: 0.829 on the sample of 2,000,
 * 0.847 on all; mAP 0.538 and 0.536; npm run report-timing): the view says so beside the figures.
 */
import { mulberry32 } from './seeded-random.ts';

/** 3.2 s for the report of 2,000 images on one core of the build machine (npm run report-timing). */
export const REPORT_SAMPLE_LIMIT = 2000;

export interface ReportSample<T> {
  /** The entries to report on, in the gallery's order. */
  readonly entries: T[];
  /** How many the gallery holds; more than `entries.length` when it was sampled. */
  readonly total: number;
}

export function sampleForReport<T extends { readonly label: string }>(
  entries: readonly T[],
  limit = REPORT_SAMPLE_LIMIT,
  seed = 1,
): ReportSample<T> {
  if (!(Number.isInteger(limit) && limit >= 2))
    throw new RangeError(`sampleForReport: limit ${limit} is not an integer >= 2`);
  const total = entries.length;
  if (total <= limit) return { entries: [...entries], total };
  const byLabel = new Map<string, number[]>();
  entries.forEach((e, i) => {
    const list = byLabel.get(e.label);
    if (list) list.push(i);
    else byLabel.set(e.label, [i]);
  });
  // Largest remainders of each class's share, so the quotas add up to `limit` before the two-image floor.
  const classes = [...byLabel.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shares = classes.map(([, members]) => (limit * members.length) / total);
  const quota = shares.map(Math.floor);
  let left = limit - quota.reduce((s, q) => s + q, 0);
  const byRemainder = shares.map((s, c) => [s - Math.floor(s), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of byRemainder) {
    if (left-- <= 0) break;
    quota[c]!++;
  }
  const random = mulberry32(seed);
  const kept = new Set<number>();
  classes.forEach(([, members], c) => {
    const take = Math.min(members.length, Math.max(2, quota[c]!));
    // A partial Fisher-Yates shuffle: the first `take` are a uniform sample of the class.
    const pool = [...members];
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      kept.add(pool[i]!);
    }
  });
  return { entries: entries.filter((_, i) => kept.has(i)), total };
}
