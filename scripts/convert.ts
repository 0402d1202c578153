/**
 * npm run convert -- <model folder | files...> --out models/<id> [--id <id>] [--dtype fp16|fp32] [--as auto|embedder|classifier]
 *                    [--license <text>] [--provenance <text>]
 *
 * Inputs: a PP-LCNet ONNX file (as paddle2onnx writes it), or a Paddle inference model: `inference.pdmodel`
 * (ProgramDesc, Paddle 2.x / 3.0) or `inference.json` (Paddle 3 PIR) with `inference.pdiparams`, and the
 * `inference.yml` beside them (preprocessing, labels). A folder is read whole. The same code as the page's
 * import (src/model/convert/import-files.ts). Writes a weight manifest and its shards into --out.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbedderError } from '../src/core/errors.ts';
import { WEIGHT_DTYPES, type WeightDtype } from '../src/core/manifest.ts';
import type { ImportRole } from '../src/model/convert/imported-model.ts';
import { importModelFiles, type ModelFile } from '../src/model/convert/import-files.ts';
import { countParameters, networkParameters } from '../src/model/parameters.ts';
import { describeStride, isStandardGeometry } from '../src/model/architecture.ts';
import { writeModelFiles } from './lib/model-files.ts';
import { isMain } from './lib/run-main.ts';

const USAGE = `usage: npm run convert -- <model folder | model.onnx | inference.pdmodel|inference.json inference.pdiparams [inference.yml]> --out models/<id>
  --id <id>            model id (default: the --out folder's name)
  --dtype fp16|fp32    weight precision in the shards (default fp16, kept fp32 when fp16 costs more than cosine 0.9999)
  --as auto|embedder|classifier
                       how to read the last linear layer (default auto: a classifier when the file ends in a softmax
                       or its inference.yml lists labels, else a PP-ShiTu neck)
  --license <text>     licence of the weights (default: "unknown: set --license")
  --provenance <text>  where the weights came from (default: the input file names)`;

const ROLES: readonly ImportRole[] = ['auto', 'embedder', 'classifier'];

/** The files of a folder (not recursive), or the files named. */
export async function readModelInputs(inputs: readonly string[]): Promise<ModelFile[]> {
  const paths: string[] = [];
  for (const input of inputs) {
    if ((await stat(input)).isDirectory()) {
      for (const entry of (await readdir(input, { withFileTypes: true }))
        .filter((e) => e.isFile())
        .sort((a, b) => a.name.localeCompare(b.name))) {
        paths.push(join(input, entry.name));
      }
    } else {
      paths.push(input);
    }
  }
  return Promise.all(paths.map(async (path) => ({ name: path, bytes: new Uint8Array(await readFile(path)) })));
}

export async function convert(
  inputs: string[],
  out: string,
  options: { id?: string; dtype?: WeightDtype; role?: ImportRole; license?: string; provenance?: string },
) {
  const files = await readModelInputs(inputs);
  await tf.setBackend('cpu'); // for the fp16 check
  const result = await importModelFiles(files, {
    dtype: options.dtype ?? 'fp16',
    modelId: options.id ?? out.split(/[\\/]/).filter(Boolean).pop()!,
    ...(options.role ? { role: options.role } : {}),
    license: options.license ?? 'unknown: set --license when converting',
    ...(options.provenance ? { provenance: options.provenance } : { provenance: 'converted by npm run convert' }),
  });
  const manifestPath = await writeModelFiles(out, result.encoded);
  return { ...result, manifestPath };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      id: { type: 'string' },
      dtype: { type: 'string' },
      as: { type: 'string' },
      license: { type: 'string' },
      provenance: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0 || !values.out) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  if (values.dtype && !WEIGHT_DTYPES.includes(values.dtype as WeightDtype)) {
    throw new EmbedderError(`--dtype must be one of ${WEIGHT_DTYPES.join(', ')}; got "${values.dtype}"`);
  }
  if (values.as && !ROLES.includes(values.as as ImportRole))
    throw new EmbedderError(`--as must be one of ${ROLES.join(', ')}; got "${values.as}"`);
  const { imported, encoded, manifestPath, notes } = await convert(positionals, values.out, {
    ...(values.id ? { id: values.id } : {}),
    ...(values.dtype ? { dtype: values.dtype as WeightDtype } : {}),
    ...(values.as ? { role: values.as as ImportRole } : {}),
    ...(values.license ? { license: values.license } : {}),
    ...(values.provenance ? { provenance: values.provenance } : {}),
  });
  const bytes = encoded.shards.reduce((n, s) => n + s.bytes.byteLength, 0);
  const params =
    countParameters(networkParameters(imported.network), false) +
    (imported.classifier?.weight.length ?? 0) +
    (imported.classifier?.bias.length ?? 0);
  const g = imported.network.geometry;
  const geometry = isStandardGeometry(g)
    ? ''
    : ` (strides ${g.strideList.map(describeStride).join(', ')}${g.useLastConv ? `, last_conv ${g.classExpand}` : ', no last_conv'})`;
  const what = imported.classifier
    ? `classifier, ${imported.classifier.classes} classes (${encoded.manifest.head?.labels.slice(0, 4).join(', ')}${imported.classifier.classes > 4 ? ', ...' : ''}); embedding: the ${imported.embeddingDim}-d feature`
    : `neck -> ${imported.embeddingDim}-d`;
  const p = encoded.manifest.preprocessing;
  console.log(
    `PP-LCNet x${imported.scale}${geometry} + ${what}, input ${p.width} x ${p.height} (${p.mode}), BatchNorm ${encoded.manifest.architecture.batchNorm}, ` +
      `${(params / 1e6).toFixed(3)} M values, ${encoded.manifest.dtype}, ${encoded.shards.length} shard(s), ${(bytes / 1048576).toFixed(2)} MiB`,
  );
  for (const note of notes) console.log(`  note: ${note}`);
  console.log(`wrote ${manifestPath}`);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'ENOENT') console.error(`convert: no such file: ${err.path}`);
    else console.error(e instanceof EmbedderError ? `convert: ${e.message}` : e);
    process.exit(1);
  });
}
