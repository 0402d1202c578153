/**
 * Weight manifest <-> state dict. Encoding splits the tensors into shards (4 MiB by default, so static hosts
 * and caches handle them well); decoding checks every size and checksum, then every name and shape against
 * the architecture, naming the first mismatch.
 */
import { WeightsError } from '../../core/errors.ts';
import {
  HEAD_BIAS_TENSOR,
  HEAD_TENSOR,
  type ManifestArchitecture,
  type ManifestHead,
  type ManifestRecognition,
  BYTES_PER_ELEMENT,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  validateManifest,
  type ManifestShard,
  type ManifestTensor,
  type WeightDtype,
  type WeightManifest,
} from '../../core/manifest.ts';
import { DEFAULT_PREPROCESS, type PreprocessOptions } from '../../core/options.ts';
import { elementCount, type StateDict } from '../../core/state-dict.ts';
import { DEFAULT_STRIDE_LIST, isStandardGeometry, standardGeometry, type PPLCNetGeometry } from '../architecture.ts';
import {
  assertMatchesParameters,
  embeddingDimOf,
  networkParameters,
  standardNetwork,
  type BatchNormForm,
  type NetworkSpec,
} from '../parameters.ts';
import { decodeFloat16, encodeFloat16 } from '../convert/wire/float16.ts';
import { sha256Hex } from './sha256.ts';
import { concatBytes } from '../convert/wire/bytes.ts';

export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface EncodeManifestOptions {
  readonly modelId: string;
  readonly scale: number;
  readonly embeddingDim: number;
  readonly batchNorm: BatchNormForm;
  /** Any other network (geometry, no neck); when given, it decides and scale / embeddingDim / batchNorm must agree. */
  readonly network?: NetworkSpec;
  readonly stateDict: StateDict;
  readonly dtype?: WeightDtype;
  readonly preprocessing?: PreprocessOptions;
  readonly provenance: string;
  readonly license: string;
  readonly shardBytes?: number;
  /** A head, stored after the model's tensors: a fine-tuned ArcMargin head, or an imported classifier's fc (+ bias). */
  readonly head?: { readonly settings: ManifestHead; readonly weight: Float32Array; readonly bias?: Float32Array };
  /**
   * A recommended recognition threshold for these weights (calibrated, or read from the source's config).
   * Leave it out when the embeddings changed since it was set (fine-tuning): readers then use PaddleClas's 0.5.
   */
  readonly recognition?: ManifestRecognition;
}

/** The network a manifest describes; absent fields take PaddleClas's defaults. */
export function networkOf(manifest: Pick<WeightManifest, 'architecture' | 'embeddingDim'>): NetworkSpec {
  const a = manifest.architecture;
  const base = standardGeometry(a.scale);
  const geometry: PPLCNetGeometry = {
    scale: a.scale,
    strideList: a.strideList ? a.strideList.map((st) => [st[0], st[1]] as const) : DEFAULT_STRIDE_LIST,
    useLastConv: a.useLastConv ?? base.useLastConv,
    classExpand: a.classExpand ?? base.classExpand,
    dropoutProb: a.dropoutProb ?? base.dropoutProb,
  };
  return { geometry, batchNorm: a.batchNorm, ...(a.neck === 'none' ? {} : { neckDim: manifest.embeddingDim }) };
}

/** The manifest's architecture for a network: PaddleClas's defaults are left out, so old readers see old files. */
export function architectureOf(network: NetworkSpec): ManifestArchitecture {
  const g = network.geometry;
  return {
    name: 'PPLCNet',
    scale: g.scale,
    batchNorm: network.batchNorm,
    ...(isStandardGeometry(g)
      ? {}
      : {
          strideList: g.strideList.map((st) => [st[0], st[1]] as const),
          useLastConv: g.useLastConv,
          classExpand: g.classExpand,
          dropoutProb: g.dropoutProb,
        }),
    ...(network.neckDim === undefined ? { neck: 'none' as const } : {}),
  };
}

export interface EncodedModel {
  readonly manifest: WeightManifest;
  readonly shards: readonly { readonly file: string; readonly bytes: Uint8Array }[];
}

function tensorBytes(data: Float32Array, dtype: WeightDtype): Uint8Array {
  if (dtype === 'fp32') return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const half = encodeFloat16(data);
  return new Uint8Array(half.buffer);
}

export async function encodeManifest(options: EncodeManifestOptions): Promise<EncodedModel> {
  const dtype = options.dtype ?? 'fp16';
  const network = options.network ?? standardNetwork(options.scale, options.embeddingDim, options.batchNorm);
  const embeddingDim = embeddingDimOf(network);
  if (
    network.geometry.scale !== options.scale ||
    embeddingDim !== options.embeddingDim ||
    network.batchNorm !== options.batchNorm
  ) {
    throw new WeightsError(
      `cannot encode: scale, embeddingDim and batchNorm (${options.scale}, ${options.embeddingDim}, ${options.batchNorm}) disagree with the network`,
    );
  }
  const modelSpecs = networkParameters(network);
  assertMatchesParameters(options.stateDict, modelSpecs, (m) => new WeightsError(`cannot encode: ${m}`));
  const head = options.head;
  const classes = head?.settings.labels.length ?? 0;
  const headShape = [embeddingDim, classes];
  if (head && head.weight.length !== embeddingDim * classes) {
    throw new WeightsError(
      `cannot encode: the head has ${head.weight.length} values, [${headShape.join(', ')}] needs ${embeddingDim * classes}`,
    );
  }
  if (head && (head.settings.type === 'Linear') !== (head.bias !== undefined))
    throw new WeightsError('cannot encode: a Linear head has a bias, an ArcMargin head none');
  if (head?.bias && head.bias.length !== classes)
    throw new WeightsError(`cannot encode: the head's bias has ${head.bias.length} values for ${classes} labels`);
  const headSpecs = head
    ? [{ name: HEAD_TENSOR, shape: headShape }, ...(head.bias ? [{ name: HEAD_BIAS_TENSOR, shape: [classes] }] : [])]
    : [];
  const specs = [...modelSpecs, ...headSpecs];
  const dataOf = (name: string) =>
    name === HEAD_TENSOR && head
      ? head.weight
      : name === HEAD_BIAS_TENSOR && head?.bias
        ? head.bias
        : options.stateDict.get(name)!.data;
  const limit = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  const tensors: ManifestTensor[] = [];
  const shardChunks: Uint8Array[][] = [[]];
  let offset = 0;
  for (const spec of specs) {
    const bytes = tensorBytes(dataOf(spec.name), dtype);
    if (offset > 0 && offset + bytes.byteLength > limit) {
      shardChunks.push([]);
      offset = 0;
    }
    tensors.push({ name: spec.name, shape: [...spec.shape], shard: shardChunks.length - 1, byteOffset: offset });
    shardChunks[shardChunks.length - 1]!.push(bytes);
    offset += bytes.byteLength;
  }
  const shards: { file: string; bytes: Uint8Array }[] = shardChunks.map((chunks, i) => ({
    file: `weights-${String(i + 1).padStart(3, '0')}-of-${String(shardChunks.length).padStart(3, '0')}.bin`,
    bytes: concatBytes(chunks),
  }));
  const manifestShards: ManifestShard[] = await Promise.all(
    shards.map(async (s) => ({ file: s.file, byteLength: s.bytes.byteLength, sha256: await sha256Hex(s.bytes) })),
  );
  const manifest: WeightManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    modelId: options.modelId,
    architecture: architectureOf(network),
    embeddingDim: options.embeddingDim,
    preprocessing: options.preprocessing ?? DEFAULT_PREPROCESS,
    dtype,
    shards: manifestShards,
    tensors,
    provenance: options.provenance,
    license: options.license,
    ...(head ? { head: head.settings } : {}),
    ...(options.recognition ? { recognition: options.recognition } : {}),
  };
  return { manifest: validateManifest(manifest), shards };
}

/** Throws if a shard's length differs from the manifest's; call before reading or allocating anything. */
export function checkShardLength(manifest: WeightManifest, index: number, byteLength: number): void {
  const s = manifest.shards[index]!;
  if (byteLength !== s.byteLength) {
    throw new WeightsError(
      `${manifest.modelId}: shard "${s.file}" is ${byteLength} bytes, the manifest declares ${s.byteLength} (truncated or wrong file?)`,
    );
  }
}

/** Whether a shard has the SHA-256 the manifest declares. */
export async function shardHashMatches(manifest: WeightManifest, index: number, bytes: Uint8Array): Promise<boolean> {
  return (await sha256Hex(bytes)) === manifest.shards[index]!.sha256;
}

/** Throws if a shard's SHA-256 differs from the manifest's. */
export async function checkShardHash(manifest: WeightManifest, index: number, bytes: Uint8Array): Promise<void> {
  const actual = await sha256Hex(bytes);
  const s = manifest.shards[index]!;
  if (actual !== s.sha256) {
    throw new WeightsError(
      `${manifest.modelId}: shard "${s.file}" has SHA-256 ${actual}, the manifest declares ${s.sha256} (corrupted download?)`,
    );
  }
}

/**
 * Shards (in manifest order) -> state dict, after checking sizes, checksums (unless the caller already checked
 * each one: `checksumsVerified`), names and shapes.
 */
export async function decodeManifest(
  manifest: WeightManifest,
  shards: readonly Uint8Array[],
  options: { readonly checksumsVerified?: boolean } = {},
): Promise<StateDict> {
  if (shards.length !== manifest.shards.length) {
    throw new WeightsError(
      `${manifest.modelId}: got ${shards.length} shards, the manifest lists ${manifest.shards.length}`,
    );
  }
  shards.forEach((bytes, i) => checkShardLength(manifest, i, bytes.byteLength));
  if (!options.checksumsVerified) for (let i = 0; i < shards.length; i++) await checkShardHash(manifest, i, shards[i]!);
  const stateDict: StateDict = new Map();
  const bytesPer = BYTES_PER_ELEMENT[manifest.dtype];
  for (const t of manifest.tensors) {
    const count = elementCount(t.shape);
    const shard = shards[t.shard]!;
    // Copy out so the tensor is aligned whatever its offset.
    const raw = shard.slice(t.byteOffset, t.byteOffset + count * bytesPer);
    const data = manifest.dtype === 'fp32' ? new Float32Array(raw.buffer) : decodeFloat16(new Uint16Array(raw.buffer));
    stateDict.set(t.name, { shape: t.shape, data });
  }
  const { scale } = manifest.architecture;
  // The head (if any) is checked by validateManifest; the model's own tensors must be exactly the table's.
  const headNames = new Set(manifest.head ? [HEAD_TENSOR, HEAD_BIAS_TENSOR] : []);
  const modelOnly: StateDict = new Map([...stateDict].filter(([name]) => !headNames.has(name)));
  let network: NetworkSpec;
  try {
    network = networkOf(manifest);
    if (embeddingDimOf(network) !== manifest.embeddingDim) {
      throw new RangeError(
        `embeddingDim ${manifest.embeddingDim} is not the feature width ${embeddingDimOf(network)} of a network without a neck`,
      );
    }
  } catch (e) {
    throw new WeightsError(`${manifest.modelId}: ${(e as Error).message}`);
  }
  assertMatchesParameters(
    modelOnly,
    networkParameters(network),
    (m) => new WeightsError(`${manifest.modelId} (PP-LCNet x${scale}, ${manifest.embeddingDim}-d): ${m}`),
  );
  return stateDict;
}
