/**
 * The gallery's exchange formats: files written by Python (faiss 1.7.3, numpy, pickle; test/fixtures/faiss-gallery,
 * made by its make-fixtures.py) read back exactly; what this project writes reads back; bad input fails with
 * messages that say what is wrong.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GalleryFormatError } from '../../src/core/errors.ts';
import {
  galleryJsonl,
  galleryNpy,
  ppshituGalleryFiles,
  ppshituToken,
  readFaissIndex,
  readGalleryJsonl,
  readGalleryNpy,
  readIdMapPickle,
  readNpyFloat32,
  readPpshituGallery,
  writeFaissIdMap2FlatIp,
  writeIdMapPickle,
  writeNpyFloat32,
  type ExchangeEntry,
} from '../../src/core/gallery-formats/index.ts';

const FIXTURES = resolve(__dirname, '../fixtures/faiss-gallery');
const fixture = (...parts: string[]): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, ...parts)));
const gallery = (name: string) => ({ index: fixture(name, 'vector.index'), idMap: fixture(name, 'id_map.pkl') });

/** features.npy: 16 L2-normalised float32 rows of 8; gallery.txt: line k is the id_map line of row k. */
const FEATURES = readNpyFloat32(fixture('features.npy'));
const DOCS = readFileSync(join(FIXTURES, 'gallery.txt'), 'utf8').split('\n').slice(0, -1);
const row = (k: number) => FEATURES.data.slice(k * 8, (k + 1) * 8);
const expected = (k: number) => ({ path: DOCS[k]!.split('\t')[0], label: DOCS[k]!.split('\t')[1], embedding: row(k) });

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GalleryFormatError);
    expect((e as GalleryFormatError).code).toBe('gallery-format');
    return (e as Error).message;
  }
  throw new Error('expected a GalleryFormatError');
};

const entries = (n: number, dim = 8): ExchangeEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    path: `images/${i}.jpg`,
    label: ['cat', 'dog', '可口可乐'][i % 3]!,
    embedding: Float32Array.from({ length: dim }, (_, k) => Math.sin(i * 7 + k) / 3),
  }));

describe('galleries written by PaddleClas build_gallery.py (python faiss 1.7.3)', () => {
  it('reads the fixtures: features.npy is 16 rows of 8, gallery.txt its 16 lines', () => {
    expect([FEATURES.rows, FEATURES.cols]).toEqual([16, 8]);
    expect(DOCS).toHaveLength(16);
    expect(DOCS[1]).toBe('gallery/1/0001.jpg\t可口可乐');
  });

  const cases: [string, string[], number[]][] = [
    ['flat-ip', ['IndexIDMap2', 'IndexFlatIP'], [0, 1, 2, 3, 4, 5]],
    ['hnsw32', ['IndexIDMap2', 'IndexHNSWFlat', 'IndexFlatIP'], [0, 1, 2, 3, 4, 5]],
    ['ivf', ['IndexIDMap2', 'IndexIVFFlat', 'quantizer IndexFlatIP'], Array.from({ length: 16 }, (_, i) => i)],
    // 2 vectors in 4 lists: faiss writes the list sizes in its sparse ("sprs") layout.
    ['ivf-sparse', ['IndexIDMap2', 'IndexIVFFlat', 'quantizer IndexFlatIP'], [0, 1]],
    // "new" 5, "append" 3, "remove" ids 1 and 6: the ids keep their gaps.
    ['flat-ip-edited', ['IndexIDMap2', 'IndexFlatIP'], [0, 2, 3, 4, 5, 7]],
    // build_gallery's Android demo index: a bare IndexFlatIP, ids by position.
    ['android-flat', ['IndexFlatIP'], [0, 1, 2, 3, 4, 5]],
  ];
  for (const [name, structure, ids] of cases) {
    it(`${name}: ${structure.join(' > ')}, ids ${ids.join(',')}, every vector and line exact`, () => {
      const files = gallery(name);
      const index = readFaissIndex(files.index);
      expect(index).toMatchObject({ dim: 8, metricType: 0, structure });
      expect([...index.ids].sort((a, b) => a - b)).toEqual(ids);
      expect(readPpshituGallery(files)).toEqual(ids.map(expected));
    });
  }

  it('ivf: the index stores vectors by inverted list, the entries come back in id order', () => {
    const { ids } = readFaissIndex(gallery('ivf').index);
    expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
  });

  it('IndexIDMap around IndexFlatL2 with ids out of order (40, 7, 23 on rows 0, 1, 2)', () => {
    const files = gallery('idmap-l2-unsorted');
    expect(readFaissIndex(files.index)).toMatchObject({ metricType: 1, structure: ['IndexIDMap', 'IndexFlatL2'] });
    expect(readFaissIndex(files.index).ids).toEqual([40, 7, 23]);
    expect(readPpshituGallery(files)).toEqual([expected(1), expected(2), expected(0)]);
  });

  it('refuses an index type it does not read, naming it', () => {
    expect(message(() => readFaissIndex(fixture('unsupported-sq8', 'vector.index')))).toBe(
      'vector.index: faiss index type "IxSQ" (IndexScalarQuantizer) inside IndexIDMap2 is not supported: this ' +
        'reader takes IndexFlat (IP or L2), IndexHNSWFlat and IndexIVFFlat, alone or inside IndexIDMap / ' +
        'IndexIDMap2: what PaddleClas build_gallery.py writes for index_method "Flat", "HNSW32" or "IVF" (at byte 37)',
    );
  });

  it('writes byte for byte what faiss writes for IndexIDMap2(IndexFlatIP), and numpy for np.save', () => {
    const written = writeFaissIdMap2FlatIp(FEATURES.data.slice(0, 6 * 8), 8, [0, 1, 2, 3, 4, 5]);
    expect(written).toEqual(fixture('flat-ip', 'vector.index'));
    expect(writeNpyFloat32(FEATURES.data, 16, 8)).toEqual(fixture('features.npy'));
  });
});

describe('id_map.pkl', () => {
  const ID_MAP = new Map([0, 1, 2].map((k) => [k, DOCS[k]!]));
  const variants = [0, 1, 2, 3, 4, 5].map((p) => `protocol-${p}`).concat('int-keys', 'numpy2-module');
  for (const name of variants) {
    it(`reads ${name}.pkl (numpy int64 keys unless int-keys) to the same dict`, () => {
      expect(readIdMapPickle(fixture('id-map-pickles', `${name}.pkl`))).toEqual(ID_MAP);
    });
  }

  it('round-trips ids from -2^53 to 2^53 and any text', () => {
    const map = new Map<number, string>([
      [0, 'a\tb'],
      [255, 'é'],
      [256, '可口可乐'],
      [65536, 'x y'],
      [-1, 'neg'],
      [2 ** 31, 'long1'],
      [-(2 ** 31) - 1, 'long1 neg'],
      [Number.MAX_SAFE_INTEGER, 'max'],
      [Number.MIN_SAFE_INTEGER, 'min'],
      [7, ''],
    ]);
    expect(readIdMapPickle(writeIdMapPickle(map))).toEqual(map);
    const many = new Map(Array.from({ length: 2500 }, (_, i) => [i, `line ${i}`]));
    expect(readIdMapPickle(writeIdMapPickle(many))).toEqual(many);
  });

  const pickle = (...parts: (string | number[])[]) =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

  it('refuses what is not a dict of ints to strings, and never calls anything', () => {
    expect(message(() => readIdMapPickle(pickle([0x80, 2], '].')))).toBe(
      'id_map.pkl: the pickle holds no dict (PaddleClas id_map.pkl is a dict id -> line) (at byte 0)',
    );
    expect(message(() => readIdMapPickle(pickle([0x80, 2], '}(X', [1, 0, 0, 0], 'aK', [1], 'u.')))).toBe(
      'id_map.pkl: the dict has a key "a"; an id map\'s keys are integers (at byte 0)',
    );
    expect(message(() => readIdMapPickle(pickle([0x80, 2], '}(K', [1], 'K', [2], 'u.')))).toBe(
      'id_map.pkl: the dict maps id 1 to 2, not to a string (at byte 0)',
    );
    expect(message(() => readIdMapPickle(pickle('cos\nsystem\n(X', [2, 0, 0, 0], 'lstR.')))).toBe(
      'id_map.pkl: the pickle calls os.system with arguments this reader does not evaluate (it reads plain data ' +
        'and numpy scalars, as in PaddleClas id_map.pkl) (at byte 20)',
    );
    expect(message(() => readIdMapPickle(pickle([0x80, 2], '}G')))).toBe(
      'id_map.pkl: pickle opcode 0x47 is not one this reader knows (at byte 3)',
    );
    expect(message(() => readIdMapPickle(fixture('id-map-pickles', 'protocol-4.pkl').slice(0, 100)))).toBe(
      'id_map.pkl: truncated: pickle opcode needs 1 byte, 0 are left (at byte 100)',
    );
    expect(message(() => readIdMapPickle(pickle([0x80, 6], '}.')))).toBe(
      'id_map.pkl: pickle protocol 6 is newer than 5, the highest this reader knows (at byte 0)',
    );
  });
});

describe('ppshituGalleryFiles / readPpshituGallery', () => {
  it('round-trips entries: ids 0..n-1 in order, float32 vectors exact', () => {
    const input = entries(40, 512);
    const files = ppshituGalleryFiles(input);
    const back = readPpshituGallery({ index: files['vector.index'], idMap: files['id_map.pkl'] });
    expect(back).toEqual(input.map((e) => ({ path: e.path, label: e.label, embedding: e.embedding })));
    expect(readFaissIndex(files['vector.index'])).toMatchObject({
      dim: 512,
      metricType: 0,
      structure: ['IndexIDMap2', 'IndexFlatIP'],
    });
    expect(readIdMapPickle(files['id_map.pkl']).get(2)).toBe('images/2.jpg\t可口可乐');
  });

  it('replaces whitespace in paths and labels with "_", as predict_system reads one field each', () => {
    const input: ExchangeEntry[] = [
      { path: 'my photos/IMG 1.jpg', label: 'red  apple', embedding: [1, 0] },
      { path: ' b.jpg\n', label: '\u3000green\u00a0pear\u2028', embedding: [0, 1] },
      { path: 'c.jpg', label: 'bom\ufeffkept', embedding: [0.6, 0.8] }, // U+FEFF is not whitespace to Python
    ];
    const files = ppshituGalleryFiles(input);
    expect([...readIdMapPickle(files['id_map.pkl']).values()]).toEqual([
      'my_photos/IMG_1.jpg\tred_apple',
      'b.jpg\tgreen_pear',
      'c.jpg\tbom\ufeffkept',
    ]);
    expect(
      readPpshituGallery({ index: files['vector.index'], idMap: files['id_map.pkl'] }).map((e) => e.label),
    ).toEqual(['red_apple', 'green_pear', 'bom\ufeffkept']);
    expect(ppshituToken(' \x1c a \x85 b\t')).toBe('a_b');
  });

  it('refuses an empty label or path, and two labels that would become one', () => {
    const e = (path: string, label: string): ExchangeEntry => ({ path, label, embedding: [1] });
    expect(message(() => ppshituGalleryFiles([e('a.jpg', 'x'), e('b.jpg', ' \t')]))).toBe(
      'PP-ShiTu gallery (vector.index, id_map.pkl): entry 1 ("b.jpg") has an empty label; predict_system reads ' +
        'each id_map line as "path label" and fails on a line with fewer than two fields',
    );
    expect(message(() => ppshituGalleryFiles([e('', 'x')]))).toBe(
      'PP-ShiTu gallery (vector.index, id_map.pkl): entry 0 ("") has an empty path; predict_system reads ' +
        'each id_map line as "path label" and fails on a line with fewer than two fields',
    );
    expect(
      message(() => ppshituGalleryFiles([e('a.jpg', 'red_apple'), e('b.jpg', 'x'), e('c.jpg', 'red apple')])),
    ).toBe(
      'PP-ShiTu gallery (vector.index, id_map.pkl): the labels "red_apple" (entry 0) and "red apple" (entry 2) ' +
        'would both be exported as "red_apple", since predict_system\'s labels cannot hold whitespace; rename one of them',
    );
  });

  it('checks the embeddings: one width, at least one value, finite float32, at least one entry', () => {
    const F = 'PP-ShiTu gallery (vector.index, id_map.pkl)';
    const e = (embedding: ArrayLike<number>): ExchangeEntry => ({ path: 'p.jpg', label: 'l', embedding });
    expect(message(() => ppshituGalleryFiles([]))).toBe(`${F}: the gallery is empty, there is nothing to write`);
    expect(message(() => ppshituGalleryFiles([e([1, 2]), e([1, 2, 3])]))).toBe(
      `${F}: entry 1 ("p.jpg") has 3 values, entry 0 has 2: embeddings of one gallery must come from one model`,
    );
    expect(message(() => ppshituGalleryFiles([e([])]))).toBe(`${F}: entry 0 ("p.jpg") has an empty embedding`);
    expect(message(() => ppshituGalleryFiles([e([1, NaN])]))).toBe(
      `${F}: entry 0 ("p.jpg") has NaN at index 1, not a finite float32`,
    );
    expect(message(() => ppshituGalleryFiles([e([1e39])]))).toBe(
      `${F}: entry 0 ("p.jpg") has 1e+39 at index 0, not a finite float32`,
    );
  });

  it('says which id has no line, and which line has no label', () => {
    const files = ppshituGalleryFiles(entries(3));
    const idMap = writeIdMapPickle(
      new Map([
        [0, 'a.jpg\tcat'],
        [1, 'b.jpg\tdog'],
      ]),
    );
    expect(message(() => readPpshituGallery({ index: files['vector.index'], idMap }))).toBe(
      'id_map.pkl has no line for id 2 of vector.index (the index holds 3 vectors, id_map.pkl 2 lines): the two ' +
        'files are not from the same gallery',
    );
    const oneField = writeIdMapPickle(
      new Map([
        [0, 'a.jpg'],
        [1, 'b.jpg\tdog'],
        [2, 'c.jpg\tcat'],
      ]),
    );
    expect(message(() => readPpshituGallery({ index: files['vector.index'], idMap: oneField }))).toBe(
      'id_map.pkl: the line of id 0, "a.jpg", has 1 whitespace-separated field(s); predict_system takes the label ' +
        'from the second',
    );
  });
});

describe('readFaissIndex: damaged and foreign files', () => {
  const flat = fixture('flat-ip', 'vector.index');

  it('names the truncation, trailing bytes, a file that is not faiss, a binary index and duplicate ids', () => {
    expect(message(() => readFaissIndex(flat.slice(0, 100)))).toBe(
      'vector.index: truncated: IndexFlatIP vectors needs 192 bytes, 18 are left (at byte 82)',
    );
    expect(message(() => readFaissIndex(Uint8Array.from([...flat, 0])))).toBe(
      'vector.index: the file goes on for 1 byte after the end of the IndexIDMap2 (at byte 330)',
    );
    expect(message(() => readFaissIndex(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])))).toBe(
      'vector.index: not a faiss index: bytes 89 50 4e 47 name no faiss index type (at byte 0)',
    );
    const binary = Uint8Array.from(flat);
    binary.set([0x49, 0x42, 0x78, 0x46], 0); // "IBxF", IndexBinaryFlat
    expect(message(() => readFaissIndex(binary))).toBe(
      'vector.index: faiss index type "IBxF" is a binary index (faiss.write_index_binary, PaddleClas\'s dist_type ' +
        '"hamming"): this reader takes IndexFlat (IP or L2), IndexHNSWFlat and IndexIVFFlat, alone or inside ' +
        'IndexIDMap / IndexIDMap2: what PaddleClas build_gallery.py writes for index_method "Flat", "HNSW32" or ' +
        '"IVF" (at byte 0)',
    );
    const twice = writeFaissIdMap2FlatIp(new Float32Array(4), 2, [5, 5]);
    expect(message(() => readFaissIndex(twice))).toBe('vector.index: id 5 is given to two vectors (at byte 0)');
  });

  it('checks the sizes the header promises', () => {
    const wrong = Uint8Array.from(flat);
    new DataView(wrong.buffer).setBigInt64(45, 7n, true); // IndexFlatIP's ntotal: 7, but 6 x 8 values follow
    expect(message(() => readFaissIndex(wrong))).toBe(
      'vector.index: IndexFlatIP stores 48 values, not ntotal 7 x d 8 (at byte 74)',
    );
  });
});

describe('.npy', () => {
  const npy = (header: string, data: number[] = []) => {
    const padded = header + ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
    return Uint8Array.from([
      0x93,
      ...Array.from('NUMPY', (c) => c.charCodeAt(0)),
      1,
      0,
      padded.length,
      0,
      ...Array.from(padded, (c) => c.charCodeAt(0)),
      ...data,
    ]);
  };

  it('round-trips a float32 matrix, and reads float64, big-endian and Fortran order', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5);
    expect(readNpyFloat32(writeNpyFloat32(data, 3, 4))).toEqual({ rows: 3, cols: 4, data });
    const f8be = new Uint8Array(6 * 8);
    [1, 2, 3, 4, 5, 6].forEach((v, i) => new DataView(f8be.buffer).setFloat64(i * 8, v, false));
    // Fortran order: column 0 (1, 2, 3), then column 1 (4, 5, 6).
    expect(readNpyFloat32(npy("{'descr': '>f8', 'fortran_order': True, 'shape': (3, 2), }", [...f8be]))).toEqual({
      rows: 3,
      cols: 2,
      data: Float32Array.from([1, 4, 2, 5, 3, 6]),
    });
  });

  it('refuses other dtypes, other shapes and files that are not .npy', () => {
    expect(message(() => readNpyFloat32(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }")))).toBe(
      'embeddings.npy: dtype "<i8" is not float32 or float64: the embeddings must be floats (at byte 10)',
    );
    expect(message(() => readNpyFloat32(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")))).toBe(
      'embeddings.npy: shape (3,) is not 2-D (one row per image, one column per embedding value) (at byte 10)',
    );
    expect(message(() => readNpyFloat32(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }")))).toBe(
      'embeddings.npy: truncated: 1 x 2 values needs 8 bytes, 0 are left (at byte 128)',
    );
    expect(message(() => readNpyFloat32(new TextEncoder().encode('name,e0\n')))).toBe(
      'embeddings.npy: not a .npy file: it does not start with "\\x93NUMPY" (at byte 0)',
    );
  });

  it('galleryNpy: embeddings.npy and labels.txt, row i with line i; read back by readGalleryNpy', () => {
    const input = entries(5);
    const files = galleryNpy(input);
    expect(files['labels.txt']).toBe(input.map((e) => `${e.path}\t${e.label}\n`).join(''));
    expect(readNpyFloat32(files['embeddings.npy'])).toMatchObject({ rows: 5, cols: 8 });
    expect(readGalleryNpy({ npy: files['embeddings.npy'], labels: files['labels.txt'] })).toEqual(input);
    expect(message(() => galleryNpy([{ path: 'a\tb.jpg', label: 'x', embedding: [1] }]))).toBe(
      'labels.txt: entry 0 ("a\tb.jpg") has a tab or line break in its path, which would break the "path<TAB>label" line',
    );
    expect(message(() => readGalleryNpy({ npy: files['embeddings.npy'], labels: 'a\tb\n' }))).toBe(
      'labels.txt has 1 lines for the 5 rows of embeddings.npy',
    );
  });
});

describe('JSONL', () => {
  it('writes one object per line, values as float32 printed to 9 digits', () => {
    const text = galleryJsonl([{ path: 'a.jpg', label: 'cat', embedding: [0.1, -2, 1 / 3] }]);
    expect(text).toBe('{"id":0,"path":"a.jpg","label":"cat","embedding":[0.100000001,-2,0.333333343]}\n');
    expect(galleryJsonl([])).toBe('');
  });

  it('round-trips entries exactly (float32), skipping blank lines and \\r', () => {
    const input = entries(7, 64);
    const text = galleryJsonl(input);
    expect(readGalleryJsonl(text)).toEqual(input);
    expect(readGalleryJsonl(`\n${text.replace(/\n/g, '\r\n')}\n`)).toEqual(input);
    expect(readGalleryJsonl('{"path":"x","label":"y","embedding":[1]}')).toEqual([
      { path: 'x', label: 'y', embedding: Float32Array.from([1]) },
    ]);
  });

  it('names the line and the problem', () => {
    const ok = '{"id":0,"path":"a","label":"b","embedding":[1,2]}';
    expect(message(() => readGalleryJsonl(`${ok}\n{"id":1,`))).toMatch(/^gallery.jsonl line 2: not JSON \(/);
    expect(message(() => readGalleryJsonl('[1]'))).toBe('gallery.jsonl line 1: not a JSON object');
    expect(message(() => readGalleryJsonl('{"path":"a","embedding":[1]}'))).toBe(
      'gallery.jsonl line 1: "label" must be a string',
    );
    expect(message(() => readGalleryJsonl(`${ok}\n${ok}`))).toBe(
      'gallery.jsonl line 2: id 0 was already given to an earlier line',
    );
    expect(message(() => readGalleryJsonl(`${ok}\n{"path":"a","label":"b","embedding":[1,2,3]}`))).toBe(
      "gallery.jsonl line 2: the embedding has 3 values, the first line's has 2",
    );
    expect(message(() => readGalleryJsonl('{"path":"a","label":"b","embedding":[1,"2"]}'))).toBe(
      'gallery.jsonl line 1: embedding value 1 is "2", not a finite float32',
    );
    expect(message(() => readGalleryJsonl('{"id":-1,"path":"a","label":"b","embedding":[1]}'))).toBe(
      'gallery.jsonl line 1: "id" must be a whole number >= 0, not -1',
    );
    expect(message(() => galleryJsonl([{ path: 'a', label: 'b', embedding: [Infinity] }]))).toBe(
      'gallery.jsonl: entry 0 ("a") has Infinity at index 0, not a finite float32',
    );
  });
});
