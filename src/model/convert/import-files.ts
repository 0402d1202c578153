/**
 * Turns the files a person has (a folder or a pick of files: an ONNX file, or a Paddle inference model as
 * ProgramDesc `inference.pdmodel` or PIR `inference.json` with `inference.pdiparams`, each optionally with its
 * `inference.yml`) into a weight manifest and its shards: the one path for the page's import and for
 * `npm run convert`.
 */
import { ImportError } from '../../core/errors.ts';
import type { ClassifierHead, WeightDtype } from '../../core/manifest.ts';
import { validatePreprocess, type PreprocessOptions } from '../../core/options.ts';
import type { ImportedModel, ImportRole } from './imported-model.ts';
import { encodeManifest, type EncodedModel } from '../weights/manifest-codec.ts';
import { importOnnx } from './onnx/onnx-import.ts';
import { importPaddleInference, importPaddleProgram } from './paddle/paddle-import.ts';
import { parsePirProgram } from './paddle/pir-program.ts';
import { readInferenceConfig, type InferenceConfig } from './inference-config.ts';
import { checkFp16 } from './fp16-check.ts';
import { sha256Hex } from '../weights/sha256.ts';

export interface ModelFile {
  /** The file's name; a path inside a dropped folder ("model/inference.pdmodel") is fine. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ImportFilesOptions {
  /** `fp16` is used only when the embeddings stay within cosine 0.9999 of fp32's (checked); default fp32. */
  readonly dtype?: WeightDtype;
  /** How to read the last linear layer (imported-model.ts). Default: a classifier when the file ends in a
   * Softmax or its config lists labels, else a PP-ShiTu neck. */
  readonly role?: ImportRole;
  readonly modelId?: string;
  readonly provenance?: string;
  readonly license?: string;
}

export interface ImportFilesResult {
  readonly imported: ImportedModel;
  readonly encoded: EncodedModel;
  /** Everything the import had to interpret or chose, also written into the manifest's provenance. */
  readonly notes: readonly string[];
}

const HELP =
  'choose a model folder, or: one .onnx file; or inference.pdmodel (Paddle 2.x / 3.0) or inference.json (Paddle 3 PIR) ' +
  'together with inference.pdiparams; the inference.yml beside them is read too';

type Source =
  | { kind: 'onnx'; onnx: ModelFile; config?: ModelFile; ignored: string[] }
  | {
      kind: 'paddle';
      program: ModelFile;
      format: 'pdmodel' | 'pir';
      pdiparams: ModelFile;
      config?: ModelFile;
      ignored: string[];
    };

const baseName = (name: string): string => name.split(/[\\/]/).pop() ?? name;
const ext = (f: ModelFile): string =>
  baseName(f.name)
    .toLowerCase()
    .replace(/^.*?(\.[^.]*)?$/, '$1');

function isPirJson(f: ModelFile): boolean {
  // PIR programs start {"base_code":{"magic":"pir"...; other JSON beside a model (configs) does not.
  const head = new TextDecoder().decode(f.bytes.subarray(0, 256));
  return /"magic"\s*:\s*"pir"/.test(head) || /^\s*\{\s*"(base_code|program)"/.test(head);
}

function pick(files: readonly ModelFile[]): Source {
  const by = (e: string) => files.filter((f) => ext(f) === e);
  const onnx = by('.onnx');
  const pdmodel = by('.pdmodel');
  const pdiparams = by('.pdiparams');
  const pir = by('.json').filter(isPirJson);
  const configs = [...by('.yml'), ...by('.yaml')];
  // PaddleX writes inference.yml; PaddleClas's deploy configs are inference_*.yaml: prefer the former.
  const config =
    configs.find((f) => /^inference\.ya?ml$/i.test(baseName(f.name))) ??
    (configs.length === 1 ? configs[0] : undefined);
  const programs = onnx.length + pdmodel.length + pir.length;
  const chosen = new Set<ModelFile>([...onnx, ...pdmodel, ...pir, ...pdiparams, ...(config ? [config] : [])]);
  const ignored = files.filter((f) => !chosen.has(f)).map((f) => baseName(f.name));
  if (onnx.length === 1 && pdmodel.length + pir.length === 0)
    return { kind: 'onnx', onnx: onnx[0]!, ...(config ? { config } : {}), ignored };
  if (programs > 1 && !(pdmodel.length === 1 && pir.length === 1 && onnx.length === 0)) {
    throw new ImportError(
      `these files hold ${programs} models (${[...onnx, ...pdmodel, ...pir].map((f) => baseName(f.name)).join(', ')}): ${HELP}`,
    );
  }
  if (pdiparams.length > 1) throw new ImportError(`${pdiparams.length} weight files (.pdiparams) were given: ${HELP}`);
  // Both forms of one Paddle model (PaddleX can write both): the ProgramDesc is read, the PIR program ignored.
  const program = pdmodel[0] ?? pir[0];
  if (program && pdiparams.length === 1) {
    if (pdmodel[0] && pir[0]) ignored.push(baseName(pir[0].name));
    return {
      kind: 'paddle',
      program,
      format: pdmodel[0] ? 'pdmodel' : 'pir',
      pdiparams: pdiparams[0]!,
      ...(config ? { config } : {}),
      ignored,
    };
  }
  if (program) throw new ImportError(`${baseName(program.name)} needs its weights file (inference.pdiparams): ${HELP}`);
  if (pdiparams.length === 1)
    throw new ImportError(
      `${baseName(pdiparams[0]!.name)} needs its program (inference.pdmodel or inference.json): ${HELP}`,
    );
  const names = files.map((f) => baseName(f.name)).join(', ') || 'no files';
  throw new ImportError(`cannot tell what model these files are (${names}): ${HELP}`);
}

/** Model ids become URL path segments and cache keys: keep them to a safe alphabet. */
export function modelIdFrom(name: string, hash: string): string {
  const stem =
    baseName(name)
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 48) || 'model';
  return `${stem}-${hash.slice(0, 8)}`;
}

export async function importModelFiles(
  files: readonly ModelFile[],
  options: ImportFilesOptions = {},
): Promise<ImportFilesResult> {
  const source = pick(files);
  const config: InferenceConfig | undefined = source.config
    ? readInferenceConfig(new TextDecoder().decode(source.config.bytes), baseName(source.config.name))
    : undefined;
  const role = options.role ?? (config?.labels ? 'classifier' : 'auto');
  let imported: ImportedModel;
  if (source.kind === 'onnx') {
    imported = importOnnx(source.onnx.bytes, { role });
  } else if (source.format === 'pdmodel') {
    imported = importPaddleInference(source.program.bytes, source.pdiparams.bytes, {
      role,
      file: baseName(source.program.name),
    });
  } else {
    const pir = parsePirProgram(source.program.bytes, baseName(source.program.name));
    imported = importPaddleProgram(pir, source.pdiparams.bytes, { role, file: baseName(source.program.name) });
    imported = { ...imported, notes: [...pir.notes, ...imported.notes] };
  }
  const described =
    source.kind === 'onnx'
      ? baseName(source.onnx.name)
      : `${baseName(source.program.name)} + ${baseName(source.pdiparams.name)}`;
  const notes: string[] = [...imported.notes];
  if (source.ignored.length > 0) notes.push(`not read: ${source.ignored.join(', ')}`);
  if (config)
    notes.push(
      `preprocessing${config.labels ? ' and labels' : ''} from ${baseName(source.config!.name)}`,
      ...config.notes,
    );

  const preprocessing = preprocessingFor(imported, config, notes);
  const head = classifierHead(imported, config, notes);
  // PP-ShiTu's own threshold for these weights, when its config gives one; else readers use PaddleClas's 0.5.
  const recognition =
    config?.scoreThreshold !== undefined
      ? {
          threshold: config.scoreThreshold,
          calibration: `IndexProcess.score_thres of ${baseName(source.config!.name)} (the PaddleClas config given with the model)`,
        }
      : undefined;
  if (recognition)
    notes.push(
      `recognition threshold ${recognition.threshold} from ${baseName(source.config!.name)} (IndexProcess.score_thres)`,
    );

  let network = imported.network;
  let stateDict = imported.stateDict;
  let dtype: WeightDtype = 'fp32';
  if (options.dtype === 'fp16') {
    const check = checkFp16(network, stateDict, [preprocessing.height, preprocessing.width]);
    network = check.network;
    stateDict = check.stateDict;
    dtype = check.ok ? 'fp16' : 'fp32';
    notes.push(
      check.ok
        ? `fp16: BatchNorm folded in fp32, then rounded; min cosine to fp32 ${check.minCosine.toFixed(7)} over the check images (bar 0.9999)`
        : `kept in fp32: fp16 gave a min cosine of ${check.minCosine.toFixed(7)} to fp32 over the check images, under the bar 0.9999`,
    );
  }
  const mainFile = source.kind === 'onnx' ? source.onnx : source.pdiparams;
  // The same files read another way are another model: its id (its URL and cache key) must differ too.
  const baseId = source.kind === 'onnx' ? source.onnx.name : (config?.modelName ?? source.program.name);
  const idName =
    options.role && options.role !== 'auto' ? `${baseName(baseId).replace(/\.[^.]*$/, '')}-${options.role}` : baseId;
  const encoded = await encodeManifest({
    modelId: options.modelId ?? modelIdFrom(idName, await sha256Hex(mainFile.bytes)),
    scale: imported.scale,
    embeddingDim: imported.embeddingDim,
    batchNorm: network.batchNorm,
    network,
    stateDict,
    dtype,
    preprocessing,
    provenance: [options.provenance ?? `imported from ${described}`, ...notes].join('\n'),
    license: options.license ?? 'as the imported files: set by whoever trained them',
    ...(head ? { head } : {}),
    ...(recognition ? { recognition } : {}),
  });
  return { imported, encoded, notes };
}

/** The config's preprocessing, else a direct resize to the file's own input size, else the defaults. */
function preprocessingFor(
  imported: ImportedModel,
  config: InferenceConfig | undefined,
  notes: string[],
): PreprocessOptions {
  const fromFile = imported.inputSize ? { width: imported.inputSize[1], height: imported.inputSize[0] } : {};
  const p = validatePreprocess({ ...fromFile, ...(config?.preprocessing ?? {}) });
  if (imported.inputSize && (p.height !== imported.inputSize[0] || p.width !== imported.inputSize[1])) {
    notes.push(
      `the config's input ${p.width} x ${p.height} (w x h) differs from the file's fixed ${imported.inputSize[1]} x ${imported.inputSize[0]}; the config's is used`,
    );
  }
  if (!config && !imported.inputSize)
    notes.push(
      `no inference.yml and no fixed input size in the file: ${p.width} x ${p.height} direct resize, ImageNet mean / std`,
    );
  else if (!config)
    notes.push(`no inference.yml: direct resize to the file's input ${p.width} x ${p.height}, ImageNet mean / std`);
  return p;
}

function classifierHead(imported: ImportedModel, config: InferenceConfig | undefined, notes: string[]) {
  const c = imported.classifier;
  if (!c) return undefined;
  let labels = config?.labels;
  if (labels && labels.length !== c.classes) {
    notes.push(`the config lists ${labels.length} labels for ${c.classes} classes: class_0 ... used instead`);
    labels = undefined;
  }
  if (labels && new Set(labels).size !== labels.length) {
    notes.push("the config's labels repeat: class_0 ... used instead");
    labels = undefined;
  }
  if (!labels) {
    if (!config?.labels) notes.push(`no label list: the ${c.classes} classes are named class_0 ...`);
    labels = Array.from({ length: c.classes }, (_, i) => `class_${i}`);
  }
  if (c.classes < 2) throw new ImportError(`the classifier has ${c.classes} output; a head needs at least 2 classes`);
  const settings: ClassifierHead = { type: 'Linear', labels: [...labels], softmax: c.softmax };
  return { settings, weight: c.weight, bias: c.bias };
}
