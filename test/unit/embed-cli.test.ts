/**
 * `npm run embed`: scripts/embed.ts's main() on the fixture images with a small random model, on the wasm and
 * cpu backends; the decoder's EXIF orientation; the command's usage errors; and the real entry point once.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { DEFAULT_EMBED_CLI_OPTIONS, parseCliOptions } from '../../scripts/embed.ts';
import { decodeImageBytes, orient } from '../../scripts/lib/node-image-decode.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';
import { runEmbedCli } from '../support/embed-cli.ts';
import { FIXTURE_MODELS, writeFixtureModel } from '../support/fixture-models.ts';
import { mulberry32, randomStateDict } from '../support/random-weights.ts';

interface JsonResult {
  name: string;
  ok: boolean;
  sha256?: string;
  embedding?: number[];
  prediction?: { label: string; score: number };
  error?: { code: string; message: string };
}
interface JsonOutput {
  model: string;
  backend: string;
  skipped: string[];
  results: JsonResult[];
}

let modelDir = '';
let work = '';

beforeAll(async () => {
  modelDir = dirname(await writeFixtureModel(FIXTURE_MODELS.small));
  work = await mkdtemp(join(tmpdir(), 'shitu-embed-cli-'));
});

async function runJson(
  backend: string,
  inputs: string[],
  extra: string[] = [],
): Promise<{ json: JsonOutput; stdout: string; stderr: string }> {
  const file = join(work, `${backend}-${Math.random().toString(36).slice(2)}.json`);
  const args = ['--model', modelDir, '--backend', backend, '--json', file, ...extra, ...inputs];
  const { code, stdout, stderr } = await runEmbedCli(args);
  expect(code, stderr).toBe(0);
  return { json: JSON.parse(await readFile(file, 'utf8')) as JsonOutput, stdout, stderr };
}

const BAD = {
  'test/fixtures/images/empty.jpg': 'image-empty',
  'test/fixtures/images/truncated.jpg': 'image-decode',
  'test/fixtures/images/not-an-image.jpg': 'image-format',
  'test/fixtures/images/vector.svg': 'image-format',
  'test/fixtures/images/huge-declared.png': 'image-too-large',
} as const;

describe('npm run embed', () => {
  let wasm: JsonOutput;

  it('embeds folders on wasm in 2 workers: good images succeed, each broken file fails alone with its code', async () => {
    const { json, stdout, stderr } = await runJson(
      'wasm',
      ['test/fixtures/photos', 'test/fixtures/images'],
      ['--workers', '2'],
    );
    wasm = json;
    expect(json).toMatchObject({ model: FIXTURE_MODELS.small.id, backend: 'wasm' });
    expect(json.skipped).toEqual(
      expect.arrayContaining(['test/fixtures/images/README.md', 'test/fixtures/photos/make-photos.py']),
    );
    expect(json.results.map((r) => r.name)).toContain('test/fixtures/photos/cat-view-1.jpg');
    expect(json.results).toHaveLength(14);
    for (const r of json.results) {
      const code = BAD[r.name as keyof typeof BAD];
      if (code) {
        expect(r, r.name).toMatchObject({ ok: false, error: { code } });
        expect(Object.keys(r).sort()).toEqual(['error', 'name', 'ok', 'sha256']);
        expect(r.error!.message).toContain(r.name);
      } else {
        expect(r.ok, `${r.name}: ${r.error?.message}`).toBe(true);
        expect(Object.keys(r).sort()).toEqual(['embedding', 'name', 'ok', 'sha256']); // no head: no prediction
        expect(r.sha256).toBe(createHash('sha256').update(readFileSync(r.name)).digest('hex'));
        expect(r.embedding).toHaveLength(512);
        expect(Math.hypot(...r.embedding!)).toBeCloseTo(1, 4);
      }
    }
    expect(stdout).toMatch(
      /^test\/fixtures\/images\/empty\.jpg +failed {2}image-empty {2}the file is empty \(0 bytes\)$/m,
    );
    expect(stdout).toMatch(/^test\/fixtures\/photos\/coffee\.jpg +ok {2}512-d {2}norm 1\.000$/m);
    expect(stdout.trim().split('\n')).toHaveLength(14);
    expect(stderr).toMatch(
      /^backend: wasm \(SIMD on, 1 thread.*: requested with --backend wasm; model loaded and warmed up in \d+ ms$/m,
    );
    expect(stderr).toMatch(/^note: skipped 4 file\(s\) without an image extension/m);
    expect(stderr).toMatch(/^embedded 14 \/ 14 \(100%\), [\d.]+ images\/s, 5 failed$/m);
    expect(stderr).toMatch(/^embedded 9 of 14 images \(5 failed\) in [\d.]+ s: [\d.]+ images\/s on wasm, 2 workers$/m);
    expect(stderr).toMatch(/^workers: 2 threads, each with the model, started in \d+ ms \(--workers 2\)$/m);
  });

  it('gives the same embeddings on cpu as on wasm (max |diff| < 1e-4), and auto picks wasm', async () => {
    const { json } = await runJson('cpu', ['test/fixtures/photos', 'test/fixtures/images'], ['--workers', '1']);
    expect(json.backend).toBe('cpu');
    expect(json.results.map((r) => [r.name, r.ok, r.error?.code])).toEqual(
      wasm.results.map((r) => [r.name, r.ok, r.error?.code]),
    );
    let maxDiff = 0;
    json.results.forEach((r, i) =>
      r.embedding?.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - wasm.results[i]!.embedding![k]!)))),
    );
    expect(maxDiff).toBeLessThan(1e-4);
    const auto = await runEmbedCli(['--model', join(modelDir, 'manifest.json'), 'test/fixtures/photos/rocket.jpg']);
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/^backend: wasm .*auto tries wasm first in Node, then cpu;/m);
  });

  it('applies EXIF orientation as the browser does: the rotated JPEG decodes and embeds like the upright one', () => {
    const plain = decodeImageBytes(readFileSync('test/fixtures/images/gradient.jpg'), 'a', 50e6);
    const rotated = decodeImageBytes(readFileSync('test/fixtures/images/gradient-exif6.jpg'), 'b', 50e6);
    expect([rotated.width, rotated.height]).toEqual([320, 240]);
    let sum = 0;
    for (let i = 0; i < plain.data.length; i++) sum += Math.abs(plain.data[i]! - rotated.data[i]!);
    expect(sum / plain.data.length).toBeLessThan(1);
    const byName = (n: string) => wasm.results.find((r) => r.name.endsWith(n))!.embedding!;
    const a = byName('/gradient.jpg');
    const b = byName('/gradient-exif6.jpg');
    expect(a.reduce((s, v, k) => s + v * b[k]!, 0)).toBeGreaterThan(0.99);
  });

  it('maps every EXIF orientation (stored 3 x 2 pixels, values 0..5)', () => {
    const stored = { width: 3, height: 2, data: new Uint8Array([0, 1, 2, 3, 4, 5].flatMap((v) => [v, 0, 0, 255])) };
    const values = (o: number) => {
      const p = orient(stored, o);
      return [p.width, p.height, ...Array.from({ length: p.width * p.height }, (_, i) => p.data[i * 4])];
    };
    expect(values(1)).toEqual([3, 2, 0, 1, 2, 3, 4, 5]);
    expect(values(2)).toEqual([3, 2, 2, 1, 0, 5, 4, 3]);
    expect(values(3)).toEqual([3, 2, 5, 4, 3, 2, 1, 0]);
    expect(values(4)).toEqual([3, 2, 3, 4, 5, 0, 1, 2]);
    expect(values(5)).toEqual([2, 3, 0, 3, 1, 4, 2, 5]);
    expect(values(6)).toEqual([2, 3, 3, 0, 4, 1, 5, 2]);
    expect(values(7)).toEqual([2, 3, 5, 2, 4, 1, 3, 0]);
    expect(values(8)).toEqual([2, 3, 2, 5, 1, 4, 0, 3]);
  });

  it('refuses other formats and corrupt files alone, skips non-images in folders, and reports a head', async () => {
    const dir = join(work, 'mixed');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await copyFile('test/fixtures/images/shapes.png', join(dir, 'sub', 'good.png'));
    await writeFile(join(dir, 'anim.gif'), Buffer.from('GIF89a\x10\x00\x10\x00\x00\x00\x00;', 'latin1'));
    const jpeg = readFileSync('test/fixtures/images/gradient.jpg');
    jpeg.fill(0x00, 20, 600); // JFIF kept, the segments after it zeroed; the end marker is still there
    await writeFile(join(dir, 'corrupt.jpg'), jpeg);
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    await writeFile(join(dir, '.hidden.png'), 'ignored');

    const encoded = await encodeManifest({
      modelId: 'cli-head',
      scale: 0.25,
      embeddingDim: 16,
      batchNorm: 'separate',
      stateDict: randomStateDict(0.25, 16, 'separate', 7),
      head: {
        settings: { type: 'Linear', labels: ['0_degree', '180_degree'], softmax: true },
        weight: Float32Array.from({ length: 32 }, mulberry32(3)),
        bias: new Float32Array(2),
      },
      provenance: 'random weights for tests',
      license: 'CC0-1.0',
    });
    const headModel = dirname(await writeModelFiles(join(work, 'head-model'), encoded));
    const file = join(work, 'mixed.json');
    const { code, stdout, stderr } = await runEmbedCli(['--model', headModel, '--json', file, dir]);
    expect(code, stderr).toBe(0);
    const json = JSON.parse(await readFile(file, 'utf8')) as JsonOutput;
    expect(json.skipped).toEqual([join(dir, 'notes.txt')]);
    expect(stderr).toContain(`note: skipped 1 file(s) without an image extension: ${join(dir, 'notes.txt')}`);
    const [gif, corrupt, good] = json.results;
    expect(json.results).toHaveLength(3);
    expect(gif).toMatchObject({ name: join(dir, 'anim.gif'), ok: false, error: { code: 'image-format' } });
    expect(gif!.error!.message).toMatch(/a GIF image: the command line decodes only JPEG, PNG/);
    expect(corrupt).toMatchObject({ name: join(dir, 'corrupt.jpg'), ok: false, error: { code: 'image-decode' } });
    expect(good).toMatchObject({
      name: join(dir, 'sub', 'good.png'),
      ok: true,
      prediction: { label: expect.stringMatching(/^(0|180)_degree$/) },
    });
    expect(good!.prediction!.score).toBeGreaterThanOrEqual(0.5);
    expect(good!.embedding).toHaveLength(16);
    expect(stdout).toMatch(/good\.png +ok {2}16-d {2}norm 1\.000 {2}(0|180)_degree \d\.\d{3}$/m);
  });

  it('says what is wrong with the command: exit 1, usage on --help', async () => {
    const raw = join(work, 'raw-model', 'paddle');
    await mkdir(raw, { recursive: true });
    await writeFile(join(raw, 'inference.pdmodel'), '');
    await writeFile(join(raw, 'inference.pdiparams'), '');
    const convert = await runEmbedCli(['--model', raw, 'test/fixtures/photos']);
    expect(convert.code).toBe(1);
    expect(convert.stderr).toContain(
      `holds a Paddle / ONNX model (inference.pdiparams, inference.pdmodel), not a converted one`,
    );
    expect(convert.stderr).toContain(`npm run convert -- ${raw} --out models/raw-model`);

    expect((await runEmbedCli(['--model', join(work, 'nowhere'), 'x.png'])).stderr).toMatch(/no such file or folder/);
    const broken = join(work, 'broken-model');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'manifest.json'), '{"format": "something else"}');
    const failedLoad = await runEmbedCli([
      '--model',
      broken,
      '--json',
      join(work, 'never.json'),
      'test/fixtures/photos',
    ]);
    expect(failedLoad.code).toBe(1);
    expect(failedLoad.stderr).toMatch(/^embed: .*manifest/m);
    expect(existsSync(join(work, 'never.json'))).toBe(false);
    expect((await runEmbedCli(['--model', modelDir])).stderr).toMatch(/no images given/);
    expect((await runEmbedCli(['--model', modelDir, 'test/fixtures/missing.png'])).code).toBe(1);
    expect((await runEmbedCli(['--backend', 'webgpu', 'x.png'])).stderr).toMatch(
      /--backend must be one of auto, wasm, cpu/,
    );
    expect((await runEmbedCli(['--nope'])).code).toBe(1);
    expect(parseCliOptions(['a.png'])).toEqual({ ...DEFAULT_EMBED_CLI_OPTIONS, inputs: ['a.png'] });
    expect(DEFAULT_EMBED_CLI_OPTIONS.model).toMatch(/models[\\/]default[\\/]manifest\.json$/);
    const help = await runEmbedCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run embed --/);
  });

  it('runs as a command: node --import tsx scripts/embed.ts', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/embed.ts',
        '--model',
        modelDir,
        'test/fixtures/images/shapes.png',
        'test/fixtures/images/empty.jpg',
      ],
      { timeout: 60_000 },
    );
    expect(stdout).toMatch(
      /^test\/fixtures\/images\/shapes\.png +ok {2}512-d {2}norm 1\.000\ntest\/fixtures\/images\/empty\.jpg +failed {2}image-empty/,
    );
    expect(stderr).toMatch(/embedded 1 of 2 images \(1 failed\)/);
  });
});
