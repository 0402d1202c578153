/**
 * PP-ShiTu's retrieval step in plain code: inner product over L2-normalised embeddings (= cosine), top-k,
 * and a label when the best score passes a threshold (deploy/configs/inference_general.yaml: top-k 5,
 * score threshold 0.5). searchGallery is the float32 flat scan, for small galleries held as plain arrays
 * (the element's); the page's gallery searches a vector index (vector-index/: int8 rows, exact scan, IVF
 * past 200k vectors, where PaddleClas uses HNSW) and labels its matches with recognise().
 */

export interface GalleryEntry {
  readonly id: string;
  readonly label: string;
  /** L2-normalised. */
  readonly embedding: ArrayLike<number>;
}

export interface GalleryMatch {
  readonly id: string;
  readonly label: string;
  readonly score: number;
}

export interface GallerySearchResult {
  readonly matches: readonly GalleryMatch[];
  /** The best match's label when its score is at least the threshold, else undefined ("unknown"). */
  readonly label: string | undefined;
  readonly score: number | undefined;
}

export const DEFAULT_TOP_K = 5;
export const DEFAULT_SCORE_THRESHOLD = 0.5;

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The label step: the best match's label when its score reaches the threshold, else unknown. */
export function recognise(matches: readonly GalleryMatch[], threshold = DEFAULT_SCORE_THRESHOLD): GallerySearchResult {
  const best = matches[0];
  return { matches, label: best && best.score >= threshold ? best.label : undefined, score: best?.score };
}

export function searchGallery(
  query: ArrayLike<number>,
  gallery: readonly GalleryEntry[],
  k = DEFAULT_TOP_K,
  threshold = DEFAULT_SCORE_THRESHOLD,
): GallerySearchResult {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`searchGallery: k must be a positive integer; got ${k}`);
  const scored = gallery.map((g) => {
    if (g.embedding.length !== query.length) {
      throw new RangeError(
        `searchGallery: gallery entry "${g.id}" has ${g.embedding.length} values, the query ${query.length}`,
      );
    }
    return { id: g.id, label: g.label, score: dot(query, g.embedding) };
  });
  scored.sort((a, b) => b.score - a.score);
  return recognise(scored.slice(0, k), threshold);
}

/** The N x N cosine matrix of L2-normalised rows, row-major. */
export function similarityMatrix(rows: readonly ArrayLike<number>[]): Float32Array {
  const n = rows.length;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = dot(rows[i]!, rows[i]!);
    for (let j = i + 1; j < n; j++) out[i * n + j] = out[j * n + i] = dot(rows[i]!, rows[j]!);
  }
  return out;
}
