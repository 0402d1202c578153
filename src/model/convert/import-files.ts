/**
 * Turns the files a person picked (a Paddle inference model's two files, or one .onnx) into a weight
 * manifest and its shards: the same path as `npm run convert`, minus the file system.
 */
import { ImportError } from '../../core/errors.ts';
import type { ImportedModel } from './imported-model.ts';
import { encodeManifest, type EncodedModel } from '../weights/manifest-codec.ts';
import { importOnnx } from './onnx/onnx-import.ts';
import { importPaddleInference } from './paddle/paddle-import.ts';
import { sha256Hex } from '../weights/sha256.ts';

export interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ImportFilesResult {
  readonly imported: ImportedModel;
  readonly encoded: EncodedModel;
}

const HELP = 'choose either one .onnx file, or inference.pdmodel together with inference.pdiparams';

function pick(files: readonly ModelFile[]): { kind: 'onnx'; onnx: ModelFile } | { kind: 'paddle'; pdmodel: ModelFile; pdiparams: ModelFile } {
  const byExt = (ext: string) => files.filter((f) => f.name.toLowerCase().endsWith(ext));
  const onnx = byExt('.onnx');
  const pdmodel = byExt('.pdmodel');
  const pdiparams = byExt('.pdiparams');
  if (onnx.length === 1 && files.length === 1) return { kind: 'onnx', onnx: onnx[0]! };
  if (pdmodel.length === 1 && pdiparams.length === 1 && files.length === 2) {
    return { kind: 'paddle', pdmodel: pdmodel[0]!, pdiparams: pdiparams[0]! };
  }
  if (pdmodel.length === 1 && pdiparams.length === 0) throw new ImportError(`${pdmodel[0]!.name} needs its weights file (.pdiparams): ${HELP}`);
  if (pdiparams.length === 1 && pdmodel.length === 0) throw new ImportError(`${pdiparams[0]!.name} needs its program file (.pdmodel): ${HELP}`);
  const names = files.map((f) => f.name).join(', ') || 'no files';
  throw new ImportError(`cannot tell what model these files are (${names}): ${HELP}`);
}

/** Model ids become URL path segments and cache keys: keep them to a safe alphabet. */
export function modelIdFrom(name: string, hash: string): string {
  const stem = name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 48) || 'model';
  return `${stem}-${hash.slice(0, 8)}`;
}

export async function importModelFiles(files: readonly ModelFile[]): Promise<ImportFilesResult> {
  const source = pick(files);
  const imported =
    source.kind === 'onnx'
      ? importOnnx(source.onnx.bytes)
      : importPaddleInference(source.pdmodel.bytes, source.pdiparams.bytes);
  const main = source.kind === 'onnx' ? source.onnx : source.pdiparams;
  const described = source.kind === 'onnx' ? source.onnx.name : `${source.pdmodel.name} + ${source.pdiparams.name}`;
  const encoded = await encodeManifest({
    modelId: modelIdFrom(source.kind === 'onnx' ? source.onnx.name : source.pdmodel.name, await sha256Hex(main.bytes)),
    scale: imported.scale,
    embeddingDim: imported.embeddingDim,
    batchNorm: imported.batchNorm,
    stateDict: imported.stateDict,
    dtype: 'fp32',
    provenance: [`imported in the browser from ${described}`, ...imported.notes].join('\n'),
    license: 'as the imported files: set by whoever trained them',
  });
  return { imported, encoded };
}
