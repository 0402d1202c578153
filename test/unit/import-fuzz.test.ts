/**
 * Fuzzing the readers: every file a user gives the importer is untrusted. Each reader gets valid fixtures with
 * random damage (bit flips, overwritten bytes, cuts, inserted bytes; for text, edited characters and tokens)
 * and must either read the file or throw ImportError: never another error, never a hang.
 */
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/core/errors.ts';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { importModelFiles, type ModelFile } from '../../src/model/convert/import-files.ts';
import { readInferenceConfig } from '../../src/model/convert/inference-config.ts';
import { importOnnx } from '../../src/model/convert/onnx/onnx-import.ts';
import { importPaddleInference, importPaddleProgram } from '../../src/model/convert/paddle/paddle-import.ts';
import { readPaddleParams } from '../../src/model/convert/paddle/paddle-params.ts';
import { parsePaddleProgram, savedVarNames } from '../../src/model/convert/paddle/paddle-program.ts';
import { parsePirProgram } from '../../src/model/convert/paddle/pir-program.ts';
import { writePPLCNetOnnx } from '../../src/model/export/onnx-export.ts';
import { writePaddleInference } from '../../src/model/export/paddle-export.ts';
import { writePirProgram } from '../support/pir-program-writer.ts';
import { randomStateDict } from '../support/random-weights.ts';

const model = {
  scale: 0.25,
  embeddingDim: 16,
  batchNorm: 'separate' as const,
  stateDict: randomStateDict(0.25, 16, 'separate', 9),
};
const onnx = writePPLCNetOnnx(model);
const paddle = writePaddleInference(model);
const program = parsePaddleProgram(paddle.pdmodel);
const pirJson = writePirProgram(program);
const YML = `Global:
  model_name: PP-LCNet_x0_25_textline_ori
PreProcess:
  transform_ops:
  - ResizeImage:
      size: [160, 80]
  - NormalizeImage:
      mean: [0.485, 0.456, 0.406]
      std: [0.229, 0.224, 0.225]
      scale: 0.00392156862745098
      order: ''
  - ToCHWImage: null
PostProcess:
  Topk:
    topk: 1
    label_list: &id001
    - 0_degree
    - 180_degree
`;

/** One random change to the bytes. */
function damage(bytes: Uint8Array, rand: () => number): Uint8Array {
  const at = Math.floor(rand() * bytes.length);
  const out = bytes.slice();
  switch (Math.floor(rand() * 5)) {
    case 0:
      out[at] = out[at]! ^ (1 << Math.floor(rand() * 8));
      return out;
    case 1:
      for (let i = 0; i < 8 && at + i < out.length; i++) out[at + i] = Math.floor(rand() * 256);
      return out;
    case 2:
      return out.subarray(0, at);
    case 3:
      return new Uint8Array([
        ...out.subarray(0, at),
        ...Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256)),
        ...out.subarray(at),
      ]);
    default: {
      // A length or count blown up: the readers must check sizes before allocating.
      out[at] = 0xff;
      if (at + 1 < out.length) out[at + 1] = 0xff;
      return out;
    }
  }
}

/** Text damage that keeps it text: characters, digits and JSON / YAML punctuation. */
function damageText(text: string, rand: () => number): string {
  const at = Math.floor(rand() * text.length);
  const pieces = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '-',
    ' ',
    '\n',
    '0',
    '9',
    '-1',
    '1e308',
    'null',
    'true',
    '&a',
    '*a',
    '!!python/object:x',
  ];
  const piece = pieces[Math.floor(rand() * pieces.length)]!;
  switch (Math.floor(rand() * 3)) {
    case 0:
      return text.slice(0, at) + piece + text.slice(at);
    case 1:
      return text.slice(0, at) + piece + text.slice(at + 1 + Math.floor(rand() * 8));
    default:
      return text.slice(0, at);
  }
}

/** Runs `read` on `cases` damaged inputs: each must succeed or throw ImportError, within the time bound. */
function fuzz<T>(seed: number, cases: number, make: (rand: () => number) => T, read: (input: T) => unknown): void {
  const rand = mulberry32(seed);
  for (let i = 0; i < cases; i++) {
    const input = make(rand);
    const start = performance.now();
    try {
      read(input);
    } catch (e) {
      if (!(e instanceof ImportError))
        throw new Error(`case ${i} (seed ${seed}) threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    expect(performance.now() - start, `case ${i} took too long`).toBeLessThan(2000);
  }
}

describe('the importers on damaged files', () => {
  it('ONNX', () =>
    fuzz(
      1,
      200,
      (r) => damage(onnx, r),
      (b) => importOnnx(b),
    ));
  it('Paddle ProgramDesc', () =>
    fuzz(
      2,
      300,
      (r) => damage(paddle.pdmodel, r),
      (b) => importPaddleInference(b, paddle.pdiparams),
    ));
  it('Paddle .pdiparams', () => {
    const names = savedVarNames(program);
    fuzz(
      3,
      150,
      (r) => damage(paddle.pdiparams, r),
      (b) => readPaddleParams(b, { names }),
    );
  });
  it('Paddle 3 PIR inference.json (bytes and text)', () => {
    const bytes = new TextEncoder().encode(pirJson);
    const read = (json: string | Uint8Array) =>
      importPaddleProgram(parsePirProgram(json), paddle.pdiparams, { file: 'inference.json' });
    fuzz(4, 200, (r) => damage(bytes, r), read);
    fuzz(5, 300, (r) => damageText(pirJson, r), read);
  });
  it('inference.yml', () =>
    fuzz(
      6,
      400,
      (r) => damageText(YML, r),
      (t) => readInferenceConfig(t),
    ));

  it("a whole folder through the page's import path", async () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 40; i++) {
      const files: ModelFile[] = [
        { name: 'm/inference.json', bytes: new TextEncoder().encode(damageText(pirJson, rand)) },
        { name: 'm/inference.pdiparams', bytes: i % 2 ? damage(paddle.pdiparams, rand) : paddle.pdiparams },
        { name: 'm/inference.yml', bytes: new TextEncoder().encode(i % 3 ? YML : damageText(YML, rand)) },
      ];
      await importModelFiles(files).catch((e: unknown) => {
        if (!(e instanceof ImportError)) throw e;
      });
    }
  });
});
