/**
 * The PP-ShiTu gallery against real faiss, both ways: a gallery written here is searched by Python faiss exactly as
 * PaddleClas's predict_system searches (scripts/check-faiss-gallery.py), and must give the top 5 a brute-force
 * search here gives; galleries Python faiss builds as build_gallery.py does (Flat, HNSW32, IVF) read back here with
 * the vectors they were given. Needs python3 with faiss and numpy (Debian: python3-faiss); skipped without them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalSampler } from '../../src/core/seeded-random.ts';
import {
  galleryNpy,
  ppshituGalleryFiles,
  readPpshituGallery,
  writeNpyFloat32,
  type ExchangeEntry,
} from '../../src/core/gallery-formats/index.ts';

const ROOT = resolve(__dirname, '../..');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const HAS_FAISS = spawnSync(PYTHON, ['-c', 'import faiss, numpy'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import faiss and numpy (Debian: apt-get install python3-faiss)`;

const DIM = 512;
const CLASSES = 30;
const PER_CLASS = 10;
const QUERIES = 25;

function normalised(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** Clustered L2-normalised vectors: each class a random centre, each image the centre plus noise. */
function makeData(): { entries: ExchangeEntry[]; queries: Float32Array[]; queryClass: number[] } {
  const normal = normalSampler(20240601);
  const noisy = (centre: Float32Array, scale: number) => normalised(centre.map((c) => c + scale * normal()));
  const centres = Array.from({ length: CLASSES }, () => Float32Array.from({ length: DIM }, normal));
  const entries: ExchangeEntry[] = [];
  for (let i = 0; i < CLASSES * PER_CLASS; i++) {
    const c = i % CLASSES; // classes interleaved, so ids of one class are not contiguous
    entries.push({ path: `gallery/class_${c}/${i}.jpg`, label: `class_${c}`, embedding: noisy(centres[c]!, 0.8) });
  }
  const queryClass = Array.from({ length: QUERIES }, (_, q) => (q * 7) % CLASSES);
  return { entries, queries: queryClass.map((c) => noisy(centres[c]!, 0.8)), queryClass };
}

/** The top k ids and inner products over the whole gallery, best first (what IndexFlatIP computes). */
function bruteForce(entries: readonly ExchangeEntry[], query: Float32Array, k: number) {
  const scored = entries.map((e, id) => {
    let dot = 0;
    for (let j = 0; j < DIM; j++) dot += e.embedding[j]! * query[j]!;
    return { id, score: dot };
  });
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k);
}

function python(args: string[]): string {
  const run = spawnSync(PYTHON, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`${PYTHON} ${args[0]} failed (${run.status}):\n${run.stderr}`);
  return run.stdout;
}

describe('PP-ShiTu gallery files against Python faiss', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faiss-round-trip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { entries, queries, queryClass } = makeData();

  it('a gallery written here: predict_system-style search gives the brute-force top 5 (ids, scores to 1e-5, labels)', (ctx) => {
    ctx.skip(!HAS_FAISS, SKIP_REASON);
    const gallery = join(dir, 'from-ts');
    mkdirSync(gallery, { recursive: true });
    const files = ppshituGalleryFiles(entries);
    writeFileSync(join(gallery, 'vector.index'), files['vector.index']);
    writeFileSync(join(gallery, 'id_map.pkl'), files['id_map.pkl']);
    const queriesFile = join(dir, 'queries.npy');
    const packed = new Float32Array(QUERIES * DIM);
    queries.forEach((q, i) => packed.set(q, i * DIM));
    writeFileSync(queriesFile, writeNpyFloat32(packed, QUERIES, DIM));

    const out = JSON.parse(python(['scripts/check-faiss-gallery.py', gallery, queriesFile, '--top-k', '5'])) as {
      ids: number[][];
      scores: number[][];
      labels: string[][];
    };
    expect(out.ids).toHaveLength(QUERIES);
    queries.forEach((q, i) => {
      const expected = bruteForce(entries, q, 5);
      expect(out.ids[i]).toEqual(expected.map((e) => e.id));
      out.scores[i]!.forEach((s, k) => expect(Math.abs(s - expected[k]!.score)).toBeLessThan(1e-5));
      expect(out.labels[i]).toEqual(expected.map((e) => entries[e.id]!.label));
      expect(out.labels[i]![0]).toBe(`class_${queryClass[i]}`); // the clusters are separable: top 1 is right
    });
  });

  it('galleries Python faiss builds as build_gallery.py does (Flat, HNSW32, IVF) read back with the same vectors', (ctx) => {
    ctx.skip(!HAS_FAISS, SKIP_REASON);
    const npy = galleryNpy(entries);
    writeFileSync(join(dir, 'embeddings.npy'), npy['embeddings.npy']);
    writeFileSync(join(dir, 'labels.txt'), npy['labels.txt']);
    // build_gallery: IndexIDMap2(index_factory(d, method, METRIC_INNER_PRODUCT)), train, add_with_ids with
    // np.arange(...).astype(np.int64), id_map {np.int64 id: line}, pickle.dump; "IVF" becomes IVF{n // 8},Flat.
    const build = `
import os, pickle, sys, faiss, numpy as np
d = sys.argv[1]
x = np.load(os.path.join(d, "embeddings.npy"))
assert x.dtype == np.float32 and x.shape == (${entries.length}, ${DIM}), (x.dtype, x.shape)
docs = [l.rstrip("\\n") for l in open(os.path.join(d, "labels.txt"), encoding="utf-8")]
for name, method in [("Flat", "Flat"), ("HNSW32", "HNSW32"), ("IVF", "IVF%d,Flat" % min(len(docs) // 8, 65536))]:
    index = faiss.IndexIDMap2(faiss.index_factory(x.shape[1], method, faiss.METRIC_INNER_PRODUCT))
    index.train(x)
    ids_now = np.arange(0, len(docs)).astype(np.int64)
    index.add_with_ids(x, ids_now)
    ids = {}
    for i, doc in zip(list(ids_now), docs):
        ids[i] = doc
    os.makedirs(os.path.join(d, name), exist_ok=True)
    faiss.write_index(index, os.path.join(d, name, "vector.index"))
    with open(os.path.join(d, name, "id_map.pkl"), "wb") as fd:
        pickle.dump(ids, fd)
`;
    python(['-c', build, dir]);
    for (const name of ['Flat', 'HNSW32', 'IVF']) {
      const back = readPpshituGallery({
        index: new Uint8Array(readFileSync(join(dir, name, 'vector.index'))),
        idMap: new Uint8Array(readFileSync(join(dir, name, 'id_map.pkl'))),
      });
      expect(back, name).toEqual(entries.map((e) => ({ path: e.path, label: e.label, embedding: e.embedding })));
    }
  });
});
