/**
 * Leave-one-out retrieval over cosine similarity, as PP-ShiTu's recognition is measured: each image queries
 * all the others; recall@k is the share of queries with a same-label image among the k nearest, and mAP the
 * mean over queries of average precision over the full ranking.
 */

export interface RetrievalMetrics {
  readonly queries: number;
  readonly recallAt1: number;
  readonly recallAt5: number;
  readonly map: number;
}

/** Rows must be L2-normalised (cosine = dot product). Queries whose label has no other image are skipped. */
export function leaveOneOutRetrieval(embeddings: readonly Float32Array[], labels: readonly string[]): RetrievalMetrics {
  if (embeddings.length !== labels.length) {
    throw new RangeError(`leaveOneOutRetrieval: ${embeddings.length} embeddings but ${labels.length} labels`);
  }
  const n = embeddings.length;
  const count = new Map<string, number>();
  for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
  let queries = 0;
  let hit1 = 0;
  let hit5 = 0;
  let apSum = 0;
  const scores = new Float64Array(n);
  const order = new Int32Array(n);
  for (let q = 0; q < n; q++) {
    const relevant = count.get(labels[q]!)! - 1;
    if (relevant === 0) continue;
    queries++;
    const a = embeddings[q]!;
    for (let j = 0; j < n; j++) {
      if (j === q) {
        scores[j] = Number.NEGATIVE_INFINITY;
        continue;
      }
      const b = embeddings[j]!;
      let dot = 0;
      for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
      scores[j] = dot;
    }
    for (let j = 0; j < n; j++) order[j] = j;
    // Ties broken by index, so results are deterministic.
    order.sort((x, y) => scores[y]! - scores[x]! || x - y);
    let found = 0;
    let ap = 0;
    for (let rank = 0; rank < n - 1; rank++) {
      if (labels[order[rank]!] !== labels[q]) continue;
      found++;
      ap += found / (rank + 1);
      if (rank === 0) hit1++;
      if (rank < 5 && found === 1) hit5++;
      if (found === relevant) break;
    }
    apSum += ap / relevant;
  }
  if (queries === 0) throw new RangeError('leaveOneOutRetrieval: no label has two or more images');
  return { queries, recallAt1: hit1 / queries, recallAt5: hit5 / queries, map: apSum / queries };
}
