/**
 * npm run convert -- <input...> --out models/<id> [--id <id>] [--dtype fp16|fp32] [--license <text>] [--provenance <text>]
 *
 * Inputs: a PP-LCNet(+neck) ONNX model (`model.onnx`, as paddle2onnx writes it), or a Paddle inference model
 * (`inference.pdmodel` + `inference.pdiparams`, or the folder holding them). Writes a weight manifest and
 * its shards into --out.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbedderError } from '../src/core/errors.ts';
import { WEIGHT_DTYPES, type WeightDtype } from '../src/core/manifest.ts';
import type { ImportedModel } from '../src/model/convert/imported-model.ts';
import { encodeManifest } from '../src/model/weights/manifest-codec.ts';
import { importOnnx } from '../src/model/convert/onnx/onnx-import.ts';
import { importPaddleInference } from '../src/model/convert/paddle/paddle-import.ts';
import { countParameters, modelParameters } from '../src/model/parameters.ts';
import { writeModelFiles } from './lib/model-files.ts';

const USAGE = `usage: npm run convert -- <model.onnx | inference.pdmodel inference.pdiparams | folder> --out models/<id>
  --id <id>            model id (default: the --out folder's name)
  --dtype fp16|fp32    weight precision in the shards (default fp16)
  --license <text>     licence of the weights (default: "unknown: set --license")
  --provenance <text>  where the weights came from (default: the input file names)`;

async function resolveInputs(inputs: string[]): Promise<{ kind: 'onnx'; onnx: string } | { kind: 'paddle'; pdmodel: string; pdiparams: string }> {
  if (inputs.length === 1 && (await stat(inputs[0]!)).isDirectory()) {
    const dir = inputs[0]!;
    return { kind: 'paddle', pdmodel: join(dir, 'inference.pdmodel'), pdiparams: join(dir, 'inference.pdiparams') };
  }
  if (inputs.length === 1 && inputs[0]!.endsWith('.onnx')) return { kind: 'onnx', onnx: inputs[0]! };
  const pdmodel = inputs.find((f) => f.endsWith('.pdmodel'));
  const pdiparams = inputs.find((f) => f.endsWith('.pdiparams'));
  if (inputs.length === 2 && pdmodel && pdiparams) return { kind: 'paddle', pdmodel, pdiparams };
  throw new EmbedderError(`cannot tell the input format of: ${inputs.join(' ')}\n${USAGE}`);
}

export async function convert(inputs: string[], out: string, options: { id?: string; dtype?: WeightDtype; license?: string; provenance?: string }) {
  const source = await resolveInputs(inputs);
  let imported: ImportedModel;
  if (source.kind === 'onnx') {
    imported = importOnnx(new Uint8Array(await readFile(source.onnx)));
  } else {
    imported = importPaddleInference(new Uint8Array(await readFile(source.pdmodel)), new Uint8Array(await readFile(source.pdiparams)));
  }
  const inputNames = source.kind === 'onnx' ? basename(source.onnx) : `${basename(source.pdmodel)} + ${basename(source.pdiparams)}`;
  const encoded = await encodeManifest({
    modelId: options.id ?? basename(out),
    scale: imported.scale,
    embeddingDim: imported.embeddingDim,
    batchNorm: imported.batchNorm,
    stateDict: imported.stateDict,
    dtype: options.dtype ?? 'fp16',
    provenance: [options.provenance ?? `converted from ${inputNames} by npm run convert`, ...imported.notes].join('\n'),
    license: options.license ?? 'unknown: set --license when converting',
  });
  const manifestPath = await writeModelFiles(out, encoded);
  return { imported, encoded, manifestPath };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      id: { type: 'string' },
      dtype: { type: 'string' },
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
  const { imported, encoded, manifestPath } = await convert(positionals, values.out, {
    ...(values.id ? { id: values.id } : {}),
    ...(values.dtype ? { dtype: values.dtype as WeightDtype } : {}),
    ...(values.license ? { license: values.license } : {}),
    ...(values.provenance ? { provenance: values.provenance } : {}),
  });
  const bytes = encoded.shards.reduce((n, s) => n + s.bytes.byteLength, 0);
  const params = countParameters(modelParameters(imported.scale, imported.embeddingDim, imported.batchNorm), false);
  console.log(
    `PP-LCNet x${imported.scale} + neck -> ${imported.embeddingDim}-d, BatchNorm ${imported.batchNorm}, ` +
      `${(params / 1e6).toFixed(3)} M values, ${encoded.manifest.dtype}, ${encoded.shards.length} shard(s), ${(bytes / 1048576).toFixed(2)} MiB`,
  );
  for (const note of imported.notes) console.log(`  note: ${note}`);
  console.log(`wrote ${manifestPath}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'ENOENT') console.error(`convert: no such file: ${err.path}`);
    else console.error(e instanceof EmbedderError ? `convert: ${e.message}` : e);
    process.exit(1);
  });
}
