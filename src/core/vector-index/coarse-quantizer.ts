/**
 * The IVF's coarse quantiser: nlist centroids found by two-level k-means (sqrt(nlist) groups, then each
 * group's points split into its share of the nlist), trained on a sample. The two levels make assigning a
 * vector cheap: its nearest groups first, then only those groups' centroids, about 3 * sqrt(nlist) dot
 * products instead of nlist (96 instead of 1,024), which is what lets a million vectors be assigned in
 * seconds. Probing a query scores all nlist centroids: one query, so that is cheap.
 */
import { Int8Slab } from './int8-slab.ts';
import { sphericalKMeans } from './kmeans.ts';
import { TopK } from './top-k.ts';

export interface CoarseQuantizerOptions {
  /** Number of lists (cells). */
  readonly nlist: number;
  /** k-means iterations per level. */
  readonly iterations: number;
  /** Top-level groups; nlist or more: one level (every centroid its own group). */
  readonly groups: number;
  /** Groups searched when assigning a vector. */
  readonly assignGroups: number;
}

export class CoarseQuantizer {
  private readonly groupTop: TopK;
  private readonly groupScores: Float32Array;
  private readonly candidates: Int32Array;
  private readonly candidateScores: Float32Array;

  constructor(
    /** One row per list. */
    readonly centroids: Int8Slab,
    /** One row per group. */
    readonly groups: Int8Slab,
    /** The lists (centroid rows) of each group. */
    readonly members: readonly Int32Array[],
    readonly assignGroups: number,
  ) {
    this.groupTop = new TopK(Math.min(assignGroups, groups.size));
    this.groupScores = new Float32Array(groups.size);
    const largest = [...members].map((m) => m.length).sort((a, b) => b - a);
    const most = largest.slice(0, assignGroups).reduce((s, n) => s + n, 0);
    this.candidates = new Int32Array(most);
    this.candidateScores = new Float32Array(most);
  }

  get nlist(): number {
    return this.centroids.size;
  }

  get bytes(): number {
    return this.centroids.bytes + this.groups.bytes + this.candidates.byteLength * 2;
  }

  /** The list of row `slot` of `source`: the nearest centroid among the nearest groups' centroids. */
  assign(source: Int8Slab, slot: number): number {
    const top = this.groupTop;
    top.size = 0;
    this.groups.setQueryFromRow(source, slot);
    this.groups.scoreRange(0, this.groups.size, this.groupScores);
    top.pushBlock(this.groupScores, this.groups.size, 0);
    let n = 0;
    for (let g = 0; g < top.size; g++) {
      const m = this.members[top.slots[g]!]!;
      this.candidates.set(m, n);
      n += m.length;
    }
    this.centroids.setQueryFromRow(source, slot);
    this.centroids.scoreSlots(this.candidates, 0, n, this.candidateScores);
    let best = 0;
    for (let i = 1; i < n; i++) if (this.candidateScores[i]! > this.candidateScores[best]!) best = i;
    return this.candidates[best]!;
  }

  /** Every list's centroid score for `query`, into `out` (length nlist). */
  scoreLists(query: ArrayLike<number>, out: Float32Array): void {
    this.centroids.setQuery(query);
    for (let first = 0; first < this.nlist; first += 4096) {
      const count = Math.min(4096, this.nlist - first);
      this.centroids.scoreRange(first, count, out.subarray(first, first + count));
    }
  }
}

/** Trains the quantiser on the rows `sample` of `source`. */
export function* trainCoarseQuantizer(
  source: Int8Slab,
  sample: Int32Array,
  options: CoarseQuantizerOptions,
  random: () => number,
): Generator<void, CoarseQuantizer> {
  const dim = source.dim;
  const nlist = Math.max(1, Math.min(options.nlist, sample.length));
  const groupCount = Math.max(1, Math.min(options.groups, nlist));
  const top = yield* sphericalKMeans(source, sample, groupCount, options.iterations, random);
  const groups = new Int8Slab(dim, source.kernelKind, top.k);
  for (let g = 0; g < top.k; g++) groups.add(top.centroids.subarray(g * dim, (g + 1) * dim));
  if (groupCount === nlist) {
    const singletons = Array.from({ length: top.k }, (_, g) => Int32Array.of(g));
    return new CoarseQuantizer(groups, groups, singletons, 1);
  }
  const byGroup: number[][] = Array.from({ length: top.k }, () => []);
  for (let i = 0; i < sample.length; i++) byGroup[top.assignment[i]!]!.push(sample[i]!);
  const centroids = new Int8Slab(dim, source.kernelKind, nlist);
  const members: Int32Array[] = [];
  const scratch = new Int8Slab(dim, source.kernelKind, 64);
  for (let g = 0; g < top.k; g++) {
    const points = Int32Array.from(byGroup[g]!);
    // Each group gets lists in proportion to its points, so lists hold about the same number of vectors.
    const share = Math.max(1, Math.round((nlist * points.length) / sample.length));
    const first = centroids.size;
    if (points.length > 0) {
      const sub = yield* sphericalKMeans(source, points, share, options.iterations, random, scratch);
      for (let c = 0; c < sub.k; c++) centroids.add(sub.centroids.subarray(c * dim, (c + 1) * dim));
    } else {
      centroids.add(top.centroids.subarray(g * dim, (g + 1) * dim));
    }
    members.push(Int32Array.from({ length: centroids.size - first }, (_, i) => first + i));
  }
  return new CoarseQuantizer(centroids, groups, members, options.assignGroups);
}
