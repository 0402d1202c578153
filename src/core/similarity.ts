/** Cosine similarity of two vectors; throws on a size mismatch or a zero vector, where it is undefined. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`cosineSimilarity: vectors have different lengths (${a.length} and ${b.length})`);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) throw new RangeError('cosineSimilarity: a vector has zero norm');
  return dot / Math.sqrt(na * nb);
}

/**
 * cosineSimilarity, or NaN where it is undefined (a zero vector, possible only with normalize off; vectors of
 * different lengths): views draw NaN as an empty cell or leave the pair out instead of failing.
 */
export function safeCosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  try {
    return cosineSimilarity(a, b);
  } catch {
    return Number.NaN;
  }
}
