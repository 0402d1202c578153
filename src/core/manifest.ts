/**
 * The weight manifest: a versioned JSON file beside binary shards in models/<id>/. Plain data, so the page,
 * the worker, the converter and the tests share one definition. Tensor byte ranges are derived from shapes,
 * so a manifest cannot declare a size that disagrees with its own shapes.
 */
import { WeightsError } from './errors.ts';
import { DEFAULT_PREPROCESS, validatePreprocess, type PreprocessOptions } from './options.ts';

export const MANIFEST_FORMAT = 'shitu-web/weights';
export const MANIFEST_VERSION = 1;

export type WeightDtype = 'fp32' | 'fp16';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['fp32', 'fp16'];
export const BYTES_PER_ELEMENT: Record<WeightDtype, number> = { fp32: 4, fp16: 2 };

export interface ManifestArchitecture {
  readonly name: 'PPLCNet';
  readonly scale: number;
  /** 'separate': BatchNorm tensors stored as trained (folded at load); 'folded': conv weights + biases. */
  readonly batchNorm: 'separate' | 'folded';
  /** PaddleClas's `stride_list` as [h, w] pairs (conv1, then blocks3-6's first block). Absent: all [2, 2]. */
  readonly strideList?: readonly (readonly [number, number])[];
  /** PaddleClas's `use_last_conv`. Absent: true. */
  readonly useLastConv?: boolean;
  /** PaddleClas's `class_expand` (last_conv's width). Absent: 1280. */
  readonly classExpand?: number;
  /** PaddleClas's `dropout_prob` (the feature is scaled by 1 - p at inference). Absent: 0.2. */
  readonly dropoutProb?: number;
  /**
   * 'linear': PP-ShiTu's neck (`neck.fc.*`), whose output is the embedding. 'none': the embedding is the
   * backbone feature itself (an imported classifier keeps its fc as a head). Absent: 'linear'.
   */
  readonly neck?: 'linear' | 'none';
}

export interface ManifestShard {
  /** File name relative to the manifest. */
  readonly file: string;
  readonly byteLength: number;
  /** Lower-case hex SHA-256 of the shard's bytes. */
  readonly sha256: string;
}

export interface ManifestTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** Index into `shards`; tensors are stored back to back in the order listed. */
  readonly shard: number;
  readonly byteOffset: number;
}

/** A trained ArcMargin head (fine-tuning): its weight is the tensor HEAD_TENSOR, [embeddingDim, labels.length]. */
export interface ArcMarginHead {
  readonly type: 'ArcMargin';
  /** Class names, in the order of the weight's columns. */
  readonly labels: readonly string[];
  readonly scale: number;
  readonly margin: number;
  readonly easyMargin: boolean;
}

/**
 * An imported classifier's fc: logits = embedding (un-normalised) x HEAD_TENSOR [embeddingDim, labels.length]
 * + HEAD_BIAS_TENSOR [labels.length]; a prediction is the top label with its softmax probability.
 */
export interface ClassifierHead {
  readonly type: 'Linear';
  readonly labels: readonly string[];
  /** Whether the source file itself ended in a softmax (the prediction's score is a softmax either way). */
  readonly softmax: boolean;
}

export type ManifestHead = ArcMarginHead | ClassifierHead;

/**
 * A recognition threshold recommended for this model's embeddings: searchGallery() gives the best match's
 * label only when its cosine is at least `threshold`. Absent: PaddleClas's own 0.5 (gallery-search.ts).
 */
export interface ManifestRecognition {
  /** The cosine (inner product of L2-normalised embeddings) from which the top-1 gallery match is accepted; -1 to 1. */
  readonly threshold: number;
  /**
   * The share of unknown-class queries accepted at `threshold` on the calibration protocol (0 to 1). Absent when
   * the threshold was not calibrated here, e.g. one read from a PaddleClas config's IndexProcess.score_thres.
   */
  readonly falseAcceptRate?: number;
  /** On what data and by which protocol it was set, in a sentence or two (which split, which command). */
  readonly calibration: string;
}

export const HEAD_TENSOR = 'head.weight';
export const HEAD_BIAS_TENSOR = 'head.bias';

export interface WeightManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: typeof MANIFEST_VERSION;
  readonly modelId: string;
  readonly architecture: ManifestArchitecture;
  readonly embeddingDim: number;
  readonly preprocessing: PreprocessOptions;
  readonly dtype: WeightDtype;
  readonly shards: readonly ManifestShard[];
  readonly tensors: readonly ManifestTensor[];
  /** Where the weights came from (training recipe, source model, converter notes). */
  readonly provenance: string;
  /** Licence text of the weights and of the data they were made from. */
  readonly license: string;
  /** Present when the model was fine-tuned with a head (the embedding does not use it; predictions do). */
  readonly head?: ManifestHead;
  /**
   * The recommended recognition threshold. Only for the embeddings it was set on: a fine-tuned model (new neck)
   * carries none until it is calibrated again.
   */
  readonly recognition?: ManifestRecognition;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Checks a parsed manifest's structure and internal consistency; returns it typed. */
export function validateManifest(json: unknown, where = 'manifest'): WeightManifest {
  const fail = (m: string): never => {
    throw new WeightsError(`${where}: ${m}`);
  };
  if (!isObject(json)) return fail('is not a JSON object');
  if (json.format !== MANIFEST_FORMAT) fail(`format is ${JSON.stringify(json.format)}, expected "${MANIFEST_FORMAT}"`);
  if (json.formatVersion !== MANIFEST_VERSION) {
    fail(`formatVersion ${JSON.stringify(json.formatVersion)} is not supported (this build reads ${MANIFEST_VERSION})`);
  }
  if (typeof json.modelId !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(json.modelId)) {
    fail('modelId must be 1-100 characters of letters, digits, ".", "_" or "-"');
  }
  const arch = json.architecture;
  if (!isObject(arch) || arch.name !== 'PPLCNet') fail('architecture.name must be "PPLCNet"');
  const a = arch as Record<string, unknown>;
  if (typeof a.scale !== 'number' || !(a.scale > 0)) fail('architecture.scale must be a positive number');
  if (a.batchNorm !== 'separate' && a.batchNorm !== 'folded')
    fail('architecture.batchNorm must be "separate" or "folded"');
  if (a.strideList !== undefined) {
    const ok =
      Array.isArray(a.strideList) &&
      a.strideList.length === 5 &&
      a.strideList.every(
        (st) => Array.isArray(st) && st.length === 2 && st.every((v) => Number.isInteger(v) && v >= 1 && v <= 4),
      );
    if (!ok) fail('architecture.strideList must be 5 [h, w] pairs of integers from 1 to 4');
  }
  if (a.useLastConv !== undefined && typeof a.useLastConv !== 'boolean')
    fail('architecture.useLastConv must be true or false');
  if (a.classExpand !== undefined && (!isCount(a.classExpand) || a.classExpand < 1))
    fail('architecture.classExpand must be a positive integer');
  if (a.dropoutProb !== undefined && !(typeof a.dropoutProb === 'number' && a.dropoutProb >= 0 && a.dropoutProb < 1)) {
    fail('architecture.dropoutProb must be a number in [0, 1)');
  }
  if (a.neck !== undefined && a.neck !== 'linear' && a.neck !== 'none')
    fail('architecture.neck must be "linear" or "none"');
  if (!isCount(json.embeddingDim) || json.embeddingDim < 1) fail('embeddingDim must be a positive integer');
  if (!WEIGHT_DTYPES.includes(json.dtype as WeightDtype)) fail(`dtype must be one of ${WEIGHT_DTYPES.join(', ')}`);
  if (typeof json.provenance !== 'string') fail('provenance must be a string');
  if (typeof json.license !== 'string') fail('license must be a string');
  let preprocessing: PreprocessOptions = DEFAULT_PREPROCESS;
  try {
    preprocessing = validatePreprocess(
      isObject(json.preprocessing) ? (json.preprocessing as Partial<PreprocessOptions>) : {},
    );
  } catch (e) {
    fail(`preprocessing: ${(e as Error).message}`);
  }
  if (!Array.isArray(json.shards) || json.shards.length === 0) fail('shards must be a non-empty array');
  const shards = json.shards as unknown[];
  shards.forEach((s, i) => {
    if (!isObject(s)) return fail(`shards[${i}] is not an object`);
    if (typeof s.file !== 'string' || !/^[A-Za-z0-9._-]+$/.test(s.file) || s.file.startsWith('.')) {
      fail(`shards[${i}].file must be a plain file name in the manifest's folder`);
    }
    if (!isCount(s.byteLength)) fail(`shards[${i}].byteLength must be a non-negative integer`);
    if (typeof s.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sha256))
      fail(`shards[${i}].sha256 must be 64 hex digits`);
  });
  if (!Array.isArray(json.tensors) || json.tensors.length === 0) fail('tensors must be a non-empty array');
  const bytesPer = BYTES_PER_ELEMENT[json.dtype as WeightDtype];
  const nextOffset = new Array<number>(shards.length).fill(0);
  const names = new Set<string>();
  (json.tensors as unknown[]).forEach((t, i) => {
    if (!isObject(t)) return fail(`tensors[${i}] is not an object`);
    if (typeof t.name !== 'string' || t.name === '') fail(`tensors[${i}].name must be a non-empty string`);
    if (names.has(t.name as string)) fail(`tensor "${String(t.name)}" is listed twice`);
    names.add(t.name as string);
    if (!Array.isArray(t.shape) || !t.shape.every(isCount))
      fail(`tensor "${String(t.name)}": shape must be non-negative integers`);
    if (!isCount(t.shard) || t.shard >= shards.length)
      fail(`tensor "${String(t.name)}": shard ${String(t.shard)} does not exist`);
    const shard = t.shard as number;
    if (t.byteOffset !== nextOffset[shard]) {
      fail(
        `tensor "${String(t.name)}": byteOffset ${String(t.byteOffset)} should be ${nextOffset[shard]} (tensors are stored back to back)`,
      );
    }
    nextOffset[shard]! += (t.shape as number[]).reduce((x, y) => x * y, 1) * bytesPer;
  });
  shards.forEach((s, i) => {
    const declared = (s as { byteLength: number }).byteLength;
    if (nextOffset[i] !== declared) {
      fail(`shards[${i}] declares ${declared} bytes but its tensors' shapes need ${nextOffset[i]}`);
    }
  });
  if (json.head !== undefined) {
    const hd = json.head;
    if (!isObject(hd) || (hd.type !== 'ArcMargin' && hd.type !== 'Linear'))
      fail('head.type must be "ArcMargin" or "Linear"');
    const h = hd as Record<string, unknown>;
    if (!Array.isArray(h.labels) || h.labels.length < 2 || !h.labels.every((l) => typeof l === 'string'))
      fail('head.labels must be at least 2 strings');
    if (new Set(h.labels as string[]).size !== (h.labels as string[]).length) fail('head.labels must be distinct');
    if (
      h.type === 'ArcMargin' &&
      (typeof h.scale !== 'number' || typeof h.margin !== 'number' || typeof h.easyMargin !== 'boolean')
    ) {
      fail('an ArcMargin head needs scale, margin (numbers) and easyMargin (boolean)');
    }
    if (h.type === 'Linear' && typeof h.softmax !== 'boolean') fail('a Linear head needs softmax (boolean)');
    const tensorShape = (name: string) =>
      (json.tensors as { name: string; shape: number[] }[]).find((x) => x.name === name)?.shape;
    const classes = (h.labels as string[]).length;
    const want = [json.embeddingDim as number, classes];
    const t = tensorShape(HEAD_TENSOR);
    if (!t || t.length !== 2 || t[0] !== want[0] || t[1] !== want[1])
      fail(`a head needs the tensor "${HEAD_TENSOR}" of shape [${want.join(', ')}]`);
    const b = tensorShape(HEAD_BIAS_TENSOR);
    if (h.type === 'Linear' && (!b || b.length !== 1 || b[0] !== classes))
      fail(`a Linear head needs the tensor "${HEAD_BIAS_TENSOR}" of shape [${classes}]`);
  }
  if (json.recognition !== undefined) {
    try {
      validateRecognition(json.recognition);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  return { ...(json as unknown as WeightManifest), preprocessing };
}

/**
 * Checks a manifest's `recognition` field; throws a WeightsError naming the field that is wrong. Other keys are
 * ignored, as elsewhere in the manifest, so that older builds read newer files.
 */
export function validateRecognition(r: unknown): ManifestRecognition {
  const fail = (m: string): never => {
    throw new WeightsError(`recognition${m}`);
  };
  if (!isObject(r))
    return fail(` must be an object { threshold, falseAcceptRate?, calibration }; got ${JSON.stringify(r)}`);
  const { threshold, falseAcceptRate, calibration } = r;
  if (typeof threshold !== 'number' || !(threshold >= -1 && threshold <= 1)) {
    fail(`.threshold must be a cosine, a number from -1 to 1; got ${JSON.stringify(threshold)}`);
  }
  if (
    falseAcceptRate !== undefined &&
    !(typeof falseAcceptRate === 'number' && falseAcceptRate >= 0 && falseAcceptRate <= 1)
  ) {
    fail(`.falseAcceptRate must be a share from 0 to 1 (or absent); got ${JSON.stringify(falseAcceptRate)}`);
  }
  if (typeof calibration !== 'string' || calibration.trim() === '')
    fail('.calibration must say on what data the threshold was set (a non-empty string)');
  return r as unknown as ManifestRecognition;
}
