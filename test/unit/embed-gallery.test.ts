/**
 * `npm run embed -- --gallery-out DIR <folder>` (scripts/lib/embed-gallery.ts): a PP-ShiTu gallery of a folder with
 * one subfolder per label, in every --format, read back with src/core/gallery-formats and, where python3 can
 * import faiss, searched with faiss itself as PaddleClas's predict_system does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPpshituGallery } from '../../src/core/gallery-formats/index.ts';
import { runEmbedCli } from '../support/embed-cli.ts';
import { FIXTURE_MODELS, writeFixtureModel } from '../support/fixture-models.ts';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const HAS_FAISS = spawnSync(PYTHON, ['-c', 'import faiss, numpy'], { stdio: 'ignore' }).status === 0;
const SKIP_REASON = `${PYTHON} cannot import faiss and numpy (Debian: apt-get install python3-faiss)`;

let modelDir = '';
let work = '';
let root = '';
let out = '';
let json: { results: { name: string; ok: boolean; embedding?: number[]; error?: { code: string } }[] };
let stderr = '';

const run = (args: string[]) => runEmbedCli(['--model', modelDir, ...args]);

/** gallery/upright/*.png, gallery/rotated/*.png and a broken JPEG there, a stray image at the top. */
beforeAll(async () => {
  modelDir = dirname(await writeFixtureModel(FIXTURE_MODELS.small));
  work = await mkdtemp(join(tmpdir(), 'shitu-embed-gallery-'));
  root = join(work, 'gallery');
  for (const f of readdirSync('test/fixtures/textlines').filter((f) => f.endsWith('.png'))) {
    const label = f.startsWith('upright') ? 'upright' : 'rotated';
    await mkdir(join(root, label), { recursive: true });
    await copyFile(join('test/fixtures/textlines', f), join(root, label, f));
  }
  await copyFile('test/fixtures/images/truncated.jpg', join(root, 'rotated', 'broken.jpg'));
  await copyFile('test/fixtures/images/shapes.png', join(root, 'stray.png'));
  await writeFile(join(root, 'notes.txt'), 'not an image');
  out = join(work, 'out');
  const jsonPath = join(work, 'gallery.json');
  const r = await run([
    '--gallery-out',
    out,
    '--format',
    'faiss,jsonl,npy',
    '--json',
    jsonPath,
    '--workers',
    '2',
    root,
  ]);
  expect(r.code, r.stderr).toBe(0);
  stderr = r.stderr;
  json = JSON.parse(await readFile(jsonPath, 'utf8')) as typeof json;
});

describe('npm run embed --gallery-out', () => {
  it("writes PaddleClas build_gallery's files: labels from the subfolders, failed images left out and listed", async () => {
    expect(readdirSync(out).sort()).toEqual([
      'embeddings.npy',
      'gallery.jsonl',
      'id_map.pkl',
      'labels.txt',
      'vector.index',
    ]);
    const entries = readPpshituGallery({
      index: await readFile(join(out, 'vector.index')),
      idMap: await readFile(join(out, 'id_map.pkl')),
    });
    expect(entries.map((e) => `${e.path} ${e.label}`)).toEqual([
      ...[1, 2, 3, 4, 5, 6].map((n) => `rotated/rotated-0${n}.png rotated`),
      ...[1, 2, 3, 4, 5, 6].map((n) => `upright/upright-0${n}.png upright`),
    ]);
    // The very embeddings of the --json output (L2-normalised, as build_gallery feeds faiss).
    const byName = new Map(json.results.map((r) => [r.name, r]));
    for (const e of entries) {
      const r = byName.get(join(root, ...e.path.split('/')))!;
      expect(Array.from(e.embedding)).toEqual(r.embedding);
      expect(Math.hypot(...e.embedding)).toBeCloseTo(1, 5);
    }
    expect(json.results).toHaveLength(13); // the stray image is not in the run, the broken one failed
    expect(byName.get(join(root, 'rotated', 'broken.jpg'))).toMatchObject({
      ok: false,
      error: { code: 'image-decode' },
    });
    expect(stderr).toContain(
      `note: 1 image(s) directly in ${root}, not in a label subfolder, are left out of the gallery: ${join(root, 'stray.png')}`,
    );
    expect(stderr).toMatch(/^gallery: 12 images of 2 labels in .*vector\.index, .*id_map\.pkl/m);
    expect(stderr).toContain(
      `gallery: 1 failed image(s) left out:\n  ${join(root, 'rotated', 'broken.jpg')}  image-decode\n`,
    );

    expect((await readFile(join(out, 'labels.txt'), 'utf8')).trim().split('\n')).toHaveLength(12);
    const jsonl = (await readFile(join(out, 'gallery.jsonl'), 'utf8')).trim().split('\n');
    expect(jsonl).toHaveLength(12);
    expect(existsSync(join(out, 'gallery.partial.jsonl'))).toBe(false);
  });

  it.skipIf(!HAS_FAISS)(
    `faiss.read_index finds a gallery image's own label as top-1${HAS_FAISS ? '' : ` (skipped: ${SKIP_REASON})`}`,
    () => {
      const queries = json.results.filter((r) => r.ok).map((r) => ({ name: r.name, embedding: r.embedding }));
      const script = `
import json, pickle, sys
import faiss, numpy as np
index = faiss.read_index(sys.argv[1] + '/vector.index')
id_map = pickle.load(open(sys.argv[1] + '/id_map.pkl', 'rb'))
queries = json.load(sys.stdin)
scores, ids = index.search(np.array([q['embedding'] for q in queries], dtype='float32'), 1)
print(json.dumps({'ntotal': index.ntotal, 'd': index.d, 'top1': [id_map[int(i[0])].split()[1] for i in ids], 'scores': [float(s[0]) for s in scores]}))
`;
      const r = spawnSync(PYTHON, ['-c', script, out], { input: JSON.stringify(queries), encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout) as { ntotal: number; d: number; top1: string[]; scores: number[] };
      expect([result.ntotal, result.d]).toEqual([12, 512]);
      expect(result.top1).toEqual(queries.map((q) => (q.name.includes('upright') ? 'upright' : 'rotated')));
      for (const s of result.scores) expect(s).toBeCloseTo(1, 5);
    },
  );

  it('says what is wrong with a gallery command', async () => {
    expect((await run(['--gallery-out', out, root, root])).stderr).toMatch(/--gallery-out takes one folder/);
    expect((await run(['--gallery-out', out, '--format', 'faiss,csv', root])).stderr).toMatch(
      /--format takes names from faiss, jsonl, npy, joined by commas; got "faiss,csv"/,
    );
    expect((await run(['--format', 'npy', root])).stderr).toMatch(/--format chooses the files of --gallery-out DIR/);
  });
});
