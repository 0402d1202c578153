/**
 * Spherical k-means (cosine: centroids are normalised means) over rows of an Int8Slab, for the IVF's
 * coarse quantiser. Each step finds every point's nearest centroid with the int8 kernel (centroids
 * quantised into their own small slab, the point as the int16 query), so an iteration over 50k points and
 * 64 centroids is 1.6 G multiply-adds in WebAssembly SIMD. A generator: it yields every few hundred points,
 * so a caller can spread it over many short tasks.
 */
import { Int8Slab } from './int8-slab.ts';

export interface KMeansResult {
  /** k x dim, row-major, each row L2-normalised. */
  readonly centroids: Float32Array;
  readonly k: number;
  /** The centroid of each input point (after the last iteration's assignment). */
  readonly assignment: Int32Array;
}

/** Points per step: a few milliseconds of work. Counted across passes, so small clusters yield too. */
const YIELD_EVERY = 256;

/** k distinct positions of 0..n-1 (a partial Fisher-Yates shuffle). */
export function sampleWithoutReplacement(n: number, k: number, random: () => number): Int32Array {
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, m);
}

function normalizeRow(m: Float32Array, row: number, dim: number): boolean {
  let s = 0;
  for (let i = row * dim; i < (row + 1) * dim; i++) s += m[i]! * m[i]!;
  if (!(s > 0)) return false;
  const inv = 1 / Math.sqrt(s);
  for (let i = row * dim; i < (row + 1) * dim; i++) m[i]! *= inv;
  return true;
}

/** Clusters the rows `slots` of `source` into at most k clusters (fewer when there are fewer points). */
export function* sphericalKMeans(
  source: Int8Slab,
  slots: Int32Array,
  k: number,
  iterations: number,
  random: () => number,
  /** A slab to hold the centroids, reused across calls: each new slab is a new WebAssembly memory. */
  scratch?: Int8Slab,
): Generator<void, KMeansResult> {
  const dim = source.dim;
  const n = slots.length;
  k = Math.max(1, Math.min(k, n));
  const centroids = new Float32Array(k * dim);
  const seeds = sampleWithoutReplacement(n, k, random);
  for (let c = 0; c < k; c++) centroids.set(source.decode(slots[seeds[c]!]!), c * dim);
  const assignment = new Int32Array(n);
  const slab = scratch ?? new Int8Slab(dim, source.kernelKind, k);
  const scores = new Float32Array(k);
  const row = new Float32Array(dim);
  const sums = new Float32Array(k * dim);
  const counts = new Int32Array(k);
  let work = 0;
  for (let it = 0; it <= iterations; it++) {
    slab.clear();
    for (let c = 0; c < k; c++) slab.add(centroids.subarray(c * dim, (c + 1) * dim));
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      slab.setQueryFromRow(source, slots[i]!);
      slab.scoreRange(0, k, scores);
      let best = 0;
      for (let c = 1; c < k; c++) if (scores[c]! > scores[best]!) best = c;
      assignment[i] = best;
      counts[best]!++;
      source.decode(slots[i]!, row);
      const at = best * dim;
      for (let d = 0; d < dim; d++) sums[at + d]! += row[d]!;
      if (++work % YIELD_EVERY === 0) yield;
    }
    if (it === iterations) break; // the last pass only assigns
    for (let c = 0; c < k; c++) {
      // An empty cluster restarts at a random point, as faiss does with its largest cluster's points.
      if (counts[c] === 0) sums.set(source.decode(slots[Math.floor(random() * n)]!), c * dim);
      if (!normalizeRow(sums, c, dim)) continue;
      centroids.set(sums.subarray(c * dim, (c + 1) * dim), c * dim);
    }
  }
  return { centroids, k, assignment };
}
