/**
 * faiss's own index file (faiss.write_index / faiss.read_index), for the index PaddleClas's build_gallery.py makes:
 * `faiss.IndexIDMap2(faiss.index_factory(dim, "Flat" | "HNSW32" | "IVF<n>,Flat", faiss.METRIC_INNER_PRODUCT))`.
 *
 * The format (faiss/impl/index_write.cpp, index_read.cpp; the same in faiss 1.7.3 and today) is each class's
 * fields in order, little-endian: a fourcc naming the class, then the Index header — d (int32), ntotal (int64),
 * two unused int64 (written as 1 << 20), is_trained (1 byte), metric_type (int32: 0 inner product, 1 L2; a float
 * metric_arg follows for the others) — then the class's own fields; a vector is its length (uint64) and its
 * elements. A fourcc is four ASCII letters, in file order (faiss packs them little-endian into a uint32).
 * A wrapper (IndexIDMap, IndexHNSW, IndexIVF) writes the index it wraps in place, recursively.
 */
import { ByteWriter } from './byte-io.ts';

/** faiss's MetricType: 0 inner product, 1 L2. */
const METRIC_INNER_PRODUCT = 0;

/** faiss writes 1 << 20 into the header's two unused int64 fields. */
const HEADER_DUMMY = 1 << 20;

/** What readFaissIndex found: the vectors with their ids, and the index around them. */
export interface FaissIndexContents {
  readonly dim: number;
  /** The outermost index's metric_type: 0 inner product, 1 L2, others as faiss numbers them. */
  readonly metricType: number;
  /** faiss's class names, outermost first, e.g. ['IndexIDMap2', 'IndexHNSWFlat', 'IndexFlatIP']. */
  readonly structure: readonly string[];
  /** The external ids, in the order the index stores the vectors. */
  readonly ids: readonly number[];
  /** ids.length rows of `dim` values: row i is the vector of ids[i]. */
  readonly vectors: Float32Array;
}

function writeHeader(w: ByteWriter, dim: number, ntotal: number, metricType: number): void {
  w.i32(dim).i64(ntotal).i64(HEADER_DUMMY).i64(HEADER_DUMMY).u8(1).i32(metricType);
}

/**
 * `faiss.IndexIDMap2(faiss.IndexFlatIP(dim))` holding `rows` (ids.length x dim, row-major) under `ids`: what
 * build_gallery.py writes for index_method "Flat" and dist_type "IP". Exact search, so a deployment finds what this
 * browser found.
 */
export function writeFaissIdMap2FlatIp(rows: Float32Array, dim: number, ids: readonly number[]): Uint8Array {
  const n = ids.length;
  if (rows.length !== n * dim) throw new RangeError(`${rows.length} values are not ${n} rows of ${dim}`);
  const w = new ByteWriter();
  w.ascii('IxM2');
  writeHeader(w, dim, n, METRIC_INNER_PRODUCT);
  w.ascii('IxFI');
  writeHeader(w, dim, n, METRIC_INNER_PRODUCT);
  // IndexFlat's codes are written as a vector of n * d floats (its length counts floats, not bytes).
  w.u64(n * dim);
  for (const v of rows) w.f32(v);
  w.u64(n);
  for (const id of ids) w.i64(id);
  return w.finish();
}
