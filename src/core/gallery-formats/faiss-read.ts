/**
 * Reads the vectors and ids out of a faiss index file (faiss.write_index), for the index types a PP-ShiTu gallery
 * uses: IndexFlat (IP, L2, other metrics), IndexHNSWFlat (its storage, an IndexFlat, holds the vectors) and
 * IndexIVFFlat (its inverted lists hold them), alone or inside IndexIDMap / IndexIDMap2. The layout of each is in
 * faiss/impl/index_read.cpp; faiss-index.ts describes the common header. Anything else fails naming what it found.
 */
import { ByteReader, byteCount } from './byte-io.ts';
import type { FaissIndexContents } from './faiss-index.ts';

/** One index as read: its rows, and the id each row has at this level (positions, list ids, or mapped ids). */
interface ReadIndex {
  readonly dim: number;
  readonly ntotal: number;
  readonly metricType: number;
  readonly structure: string[];
  readonly ids: number[];
  readonly rows: Float32Array;
}

/** Classes a gallery file may hold that this reader does not, by fourcc, so a refusal can name them. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  IxSQ: 'IndexScalarQuantizer',
  IxPq: 'IndexPQ',
  IxPQ: 'IndexPQ',
  IxPT: 'IndexPreTransform',
  IxRF: 'IndexRefine',
  IxHe: 'IndexLSH',
  IxHE: 'IndexLSH',
  Ix2L: 'Index2Layer',
  IxRq: 'IndexResidualQuantizer',
  IxLS: 'IndexLocalSearchQuantizer',
  IxFP: 'IndexFlatPanorama',
  IxFp: 'IndexFlatPanorama',
  IwSq: 'IndexIVFScalarQuantizer',
  IwSQ: 'IndexIVFScalarQuantizer',
  IwPQ: 'IndexIVFPQ',
  IvPQ: 'IndexIVFPQ',
  IwQR: 'IndexIVFPQR',
  IwFd: 'IndexIVFFlatDedup',
  IwSh: 'IndexIVFSpectralHash',
  IHNp: 'IndexHNSWPQ',
  IHNs: 'IndexHNSWSQ',
  IHN2: 'IndexHNSW2Level',
  IHfP: 'IndexHNSWFlatPanorama',
  IHc2: 'IndexHNSWCagra',
  INSf: 'IndexNSGFlat',
  INSp: 'IndexNSGPQ',
  INSs: 'IndexNSGSQ',
  INNf: 'IndexNNDescentFlat',
};

const SUPPORTED =
  'this reader takes IndexFlat (IP or L2), IndexHNSWFlat and IndexIVFFlat, alone or inside IndexIDMap / ' +
  'IndexIDMap2: what PaddleClas build_gallery.py writes for index_method "Flat", "HNSW32" or "IVF"';

const FLAT_NAMES: Readonly<Record<string, string>> = { IxFI: 'IndexFlatIP', IxF2: 'IndexFlatL2', IxFl: 'IndexFlat' };

function readHeader(r: ByteReader, cls: string): { dim: number; ntotal: number; metricType: number } {
  const at = r.pos;
  const dim = r.i32(`${cls}.d`);
  const ntotal = r.i64(`${cls}.ntotal`);
  r.i64(`${cls} header`);
  r.i64(`${cls} header`);
  r.u8(`${cls}.is_trained`);
  const metricType = r.i32(`${cls}.metric_type`);
  if (metricType > 1) r.f32(`${cls}.metric_arg`);
  if (dim <= 0 || dim > 1 << 20) r.fail(`${cls} has dimension ${dim}`, at);
  if (ntotal < 0) r.fail(`${cls} holds ${ntotal} vectors`, at);
  return { dim, ntotal, metricType };
}

/** Skips a faiss vector whose elements are `elementBytes` long, returning its length. */
function skipVector(r: ByteReader, elementBytes: number, what: string): number {
  const n = r.u64(`${what} length`);
  r.raw(n * elementBytes, what);
  return n;
}

function readFlat(r: ByteReader, tag: string): ReadIndex {
  const cls = FLAT_NAMES[tag]!;
  const h = readHeader(r, cls);
  const at = r.pos;
  const count = r.u64(`${cls} codes length`);
  if (count !== h.ntotal * h.dim) {
    r.fail(`${cls} stores ${count} values, not ntotal ${h.ntotal} x d ${h.dim}`, at);
  }
  const rows = r.f32s(count, `${cls} vectors`);
  return { ...h, structure: [cls], ids: Array.from({ length: h.ntotal }, (_, i) => i), rows };
}

function readHnswFlat(r: ByteReader): ReadIndex {
  const h = readHeader(r, 'IndexHNSWFlat');
  // The graph (HNSW in faiss/impl/HNSW.h), skipped: the vectors are in the storage index that follows.
  skipVector(r, 8, 'HNSW assign_probas');
  skipVector(r, 4, 'HNSW cum_nneighbor_per_level');
  const at = r.pos;
  const levels = skipVector(r, 4, 'HNSW levels');
  if (levels !== h.ntotal) r.fail(`IndexHNSWFlat has levels for ${levels} vectors, not ntotal ${h.ntotal}`, at);
  skipVector(r, 8, 'HNSW offsets');
  skipVector(r, 4, 'HNSW neighbors');
  r.raw(5 * 4, 'HNSW entry_point, max_level, efConstruction, efSearch, upper_beam');
  const storageAt = r.pos;
  const storage = readIndex(r, 'IndexHNSWFlat');
  if (!storage.structure[0]!.startsWith('IndexFlat') || storage.dim !== h.dim || storage.ntotal !== h.ntotal) {
    r.fail(
      `IndexHNSWFlat (d ${h.dim}, ${h.ntotal} vectors) has a storage ${storage.structure.join(' > ')} ` +
        `(d ${storage.dim}, ${storage.ntotal} vectors)`,
      storageAt,
    );
  }
  return { ...h, structure: ['IndexHNSWFlat', ...storage.structure], ids: storage.ids, rows: storage.rows };
}

function readIvfFlat(r: ByteReader): ReadIndex {
  const h = readHeader(r, 'IndexIVFFlat');
  const nlist = r.u64('IndexIVFFlat.nlist');
  r.u64('IndexIVFFlat.nprobe');
  const quantizer = readIndex(r, 'IndexIVFFlat'); // the coarse centroids: not gallery vectors
  const mapAt = r.pos;
  const mapType = r.u8('IndexIVFFlat direct_map type');
  if (mapType > 2) r.fail(`IndexIVFFlat has direct_map type ${mapType} (0, 1 or 2 expected)`, mapAt);
  skipVector(r, 8, 'IndexIVFFlat direct_map array');
  if (mapType === 2) skipVector(r, 16, 'IndexIVFFlat direct_map hashtable');

  const listsAt = r.pos;
  const lists = r.fourcc('inverted lists type');
  if (lists.text !== 'ilar') {
    const why =
      lists.text === 'il00'
        ? 'was written without its inverted lists'
        : `keeps its inverted lists as "${lists.text ?? '?'}" (only ArrayInvertedLists, "ilar", are read)`;
    r.fail(`IndexIVFFlat ${why}`, listsAt);
  }
  const at = r.pos;
  const listCount = r.u64('inverted lists nlist');
  const codeSize = r.u64('inverted lists code_size');
  if (listCount !== nlist || codeSize !== h.dim * 4) {
    r.fail(`inverted lists of ${listCount} lists x ${codeSize} bytes do not fit nlist ${nlist}, d ${h.dim}`, at);
  }
  const sizes = new Array<number>(nlist).fill(0);
  const kind = r.fourcc('inverted lists layout');
  if (kind.text === 'full') {
    const n = r.u64('inverted lists sizes length');
    if (n !== nlist) r.fail(`inverted lists give ${n} sizes for ${nlist} lists`);
    for (let i = 0; i < nlist; i++) sizes[i] = r.u64('inverted list size');
  } else if (kind.text === 'sprs') {
    const n = r.u64('inverted lists sizes length');
    for (let k = 0; k < n / 2; k++) {
      const list = r.u64('inverted list number');
      if (list >= nlist) r.fail(`inverted list ${list} does not exist (nlist ${nlist})`);
      sizes[list] = r.u64('inverted list size');
    }
  } else {
    r.fail(`unknown inverted lists layout "${kind.text ?? '?'}" ("full" or "sprs" expected)`);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== h.ntotal) r.fail(`the inverted lists hold ${total} vectors, not ntotal ${h.ntotal}`, listsAt);
  const rows = new Float32Array(total * h.dim);
  const ids: number[] = [];
  for (const n of sizes) {
    if (n === 0) continue;
    rows.set(r.f32s(n * h.dim, 'inverted list codes'), ids.length * h.dim);
    ids.push(...r.i64s(n, 'inverted list ids'));
  }
  return { ...h, structure: ['IndexIVFFlat', ...quantizer.structure.map((s) => `quantizer ${s}`)], ids, rows };
}

function readIdMap(r: ByteReader, cls: 'IndexIDMap' | 'IndexIDMap2'): ReadIndex {
  const h = readHeader(r, cls);
  const inner = readIndex(r, cls);
  const at = r.pos;
  const idMap = r.i64s(r.u64(`${cls}.id_map length`), `${cls}.id_map`);
  if (idMap.length !== h.ntotal || inner.ntotal !== h.ntotal) {
    r.fail(`${cls} has ntotal ${h.ntotal}, ${idMap.length} ids and an index of ${inner.ntotal} vectors`, at);
  }
  // The wrapped index numbers its vectors 0..ntotal-1 (it was filled with add()); id_map[k] is k's real id.
  const ids = inner.ids.map((k) => {
    if (!(k >= 0 && k < idMap.length)) r.fail(`${cls} wraps an index whose vector id ${k} has no entry in id_map`, at);
    return idMap[k]!;
  });
  return { ...h, structure: [cls, ...inner.structure], ids, rows: inner.rows };
}

function readIndex(r: ByteReader, parent: string | null): ReadIndex {
  const at = r.pos;
  const { text } = r.fourcc('index type');
  if (text === null) {
    const first = Array.from(r.bytes.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    r.fail(`not a faiss index: ${parent ? `inside ${parent}, ` : ''}bytes ${first} name no faiss index type`, at);
  }
  if (text in FLAT_NAMES) return readFlat(r, text);
  if (text === 'IHNf') return readHnswFlat(r);
  if (text === 'IwFl') return readIvfFlat(r);
  if (text === 'IxMp') return readIdMap(r, 'IndexIDMap');
  if (text === 'IxM2') return readIdMap(r, 'IndexIDMap2');
  const inside = parent ? ` inside ${parent}` : '';
  if (text === 'null') {
    r.fail(`there is no index${inside} ("null"): it was written without its vectors (faiss.IO_FLAG_SKIP_STORAGE)`, at);
  }
  if (text.startsWith('IB')) {
    r.fail(
      `faiss index type "${text}"${inside} is a binary index (faiss.write_index_binary, PaddleClas's dist_type ` +
        `"hamming"): ${SUPPORTED}`,
      at,
    );
  }
  const name = Object.hasOwn(UNSUPPORTED, text) ? ` (${UNSUPPORTED[text]})` : '';
  r.fail(`faiss index type "${text}"${name}${inside} is not supported: ${SUPPORTED}`, at);
}

/** The vectors and ids of a faiss index file; throws GalleryFormatError naming what it could not read. */
export function readFaissIndex(bytes: Uint8Array, file = 'vector.index'): FaissIndexContents {
  const r: ByteReader = new ByteReader(bytes, file);
  const index = readIndex(r, null);
  if (r.left !== 0) r.fail(`the file goes on for ${byteCount(r.left)} after the end of the ${index.structure[0]}`);
  const seen = new Set<number>();
  for (const id of index.ids) {
    if (seen.has(id)) r.fail(`id ${id} is given to two vectors`, 0);
    seen.add(id);
  }
  return {
    dim: index.dim,
    metricType: index.metricType,
    structure: index.structure,
    ids: index.ids,
    vectors: index.rows,
  };
}
