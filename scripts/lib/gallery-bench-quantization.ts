/**
 * What storing vectors compactly costs in retrieval: recall@5 of an exact search over int8 (one scale per
 * vector, what the index stores) and over fp16 vectors, against the exact fp32 top-5, plus the score error.
 * On the synthetic clustered set (held-out queries) and on real embeddings (each of a sample of them
 * queried against all the others: leave-one-out). Runs in Node on the index's own code.
 */
import { readFile } from 'node:fs/promises';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { sampleWithoutReplacement } from '../../src/core/vector-index/kmeans.ts';
import { roundTripFloat16 } from '../../src/core/vector-index/quantize.ts';
import { VectorIndex } from '../../src/core/vector-index/vector-index.ts';
import { ExactTruth } from './gallery-bench-truth.ts';

export interface QuantizationCost {
  readonly source: string;
  readonly vectors: number;
  readonly queries: number;
  readonly dim: number;
  readonly int8: { readonly recallAt5: number; readonly meanAbsScoreError: number; readonly bytesPerVector: number };
  readonly fp16: { readonly recallAt5: number; readonly meanAbsScoreError: number; readonly bytesPerVector: number };
}

const K = 5;

/** Exact top-5 over `rows` for each query (leaving out row `self[q]` when given). */
function topFive(rows: readonly Float32Array[], queries: readonly Float32Array[], self?: Int32Array): Int32Array[] {
  const dim = rows[0]!.length;
  const flatQueries = new Float32Array(queries.length * dim);
  queries.forEach((q, i) => flatQueries.set(q, i * dim));
  const chunkRows = 4096;
  const truth = new ExactTruth(flatQueries, dim, K + 1, chunkRows);
  for (let first = 0; first < rows.length; first += chunkRows) {
    const n = Math.min(chunkRows, rows.length - first);
    const chunk = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) chunk.set(rows[first + r]!, r * dim);
    truth.add(chunk);
  }
  return queries.map((_, q) => {
    const ids = [...truth.topK(q)].filter((id) => id !== self?.[q]);
    return Int32Array.from(ids.slice(0, K));
  });
}

function recall(found: readonly Int32Array[], truth: readonly Int32Array[]): number {
  let hits = 0;
  found.forEach((f, q) => {
    const want = new Set(truth[q]);
    hits += [...f].filter((id) => want.has(id)).length;
  });
  return hits / (K * found.length);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

export function measureQuantization(
  source: string,
  rows: readonly Float32Array[],
  queries: readonly Float32Array[] | { readonly leaveOneOut: number; readonly seed: number },
): QuantizationCost {
  const dim = rows[0]!.length;
  let self: Int32Array | undefined;
  let qs: readonly Float32Array[];
  if ('leaveOneOut' in queries) {
    self = sampleWithoutReplacement(rows.length, queries.leaveOneOut, mulberry32(queries.seed));
    qs = [...self].map((i) => rows[i]!);
  } else qs = queries;
  const exact = topFive(rows, qs, self);
  const fp16Rows = rows.map((r) => roundTripFloat16(r));
  const fp16 = topFive(fp16Rows, qs, self);
  const index = new VectorIndex({ dim, approximateFrom: Number.MAX_SAFE_INTEGER });
  rows.forEach((r, i) => index.add(String(i), r));
  const int8 = qs.map((q, i) =>
    Int32Array.from(index.searchExact(q, K, self ? String(self[i]) : undefined).map((m) => Number(m.id))),
  );
  // Score error on a fixed sample of pairs.
  let int8Error = 0;
  let fp16Error = 0;
  let pairs = 0;
  const random = mulberry32(1);
  for (let p = 0; p < 20_000; p++) {
    const q = qs[Math.floor(random() * qs.length)]!;
    const r = Math.floor(random() * rows.length);
    const want = dot(q, rows[r]!);
    int8Error += Math.abs(dot(q, index.vector(String(r))!) - want);
    fp16Error += Math.abs(dot(q, fp16Rows[r]!) - want);
    pairs++;
  }
  return {
    source,
    vectors: rows.length,
    queries: qs.length,
    dim,
    int8: { recallAt5: recall(int8, exact), meanAbsScoreError: int8Error / pairs, bytesPerVector: dim + 4 },
    fp16: { recallAt5: recall(fp16, exact), meanAbsScoreError: fp16Error / pairs, bytesPerVector: 2 * dim },
  };
}

/**
 * Real embeddings from `npm run embed -- --json FILE` ({results: [{ok, embedding}]}) or from the recognition
 * scripts' cache (.cache/embeddings/*.json: {dim, vectors: base64 float32}).
 */
export async function readEmbeddings(path: string): Promise<Float32Array[]> {
  const json = JSON.parse(await readFile(path, 'utf8')) as {
    results?: { ok: boolean; embedding?: number[] }[];
    dim?: number;
    vectors?: string;
  };
  if (Array.isArray(json.results))
    return json.results.filter((r) => r.ok && r.embedding).map((r) => Float32Array.from(r.embedding!));
  if (typeof json.vectors === 'string' && typeof json.dim === 'number') {
    const flat = new Float32Array(new Uint8Array(Buffer.from(json.vectors, 'base64')).buffer);
    return Array.from({ length: flat.length / json.dim }, (_, i) => flat.slice(i * json.dim!, (i + 1) * json.dim!));
  }
  throw new Error(`${path}: neither npm run embed --json output nor an embedding cache file`);
}
