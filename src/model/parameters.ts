/**
 * The parameter table: every tensor a PP-LCNet + linear-neck model has, with PaddleClas's state_dict names
 * (RecModel: `backbone.*`, `neck.fc.*`) and Paddle layouts (conv OIHW, Linear [in, out]).
 *
 * Two forms of each ConvBNLayer are accepted:
 * - `separate`: `<layer>.conv.weight` + `<layer>.bn.{weight,bias,_mean,_variance}`, as PaddleClas trains it;
 * - `folded`: `<layer>.conv.weight` + `<layer>.conv.bias`, BatchNorm already folded in (as some exports are).
 * The builder folds `separate` BatchNorm at load time, so both run the same graph.
 *
 * A network is a backbone of some geometry, then either a linear neck (PP-ShiTu's feature extractor: the
 * embedding is the neck's output) or none (a classifier's backbone: the embedding is the pooled feature that
 * feeds its fc). Heads (ArcMargin, a classifier's fc) are stored beside these tensors (src/core/manifest.ts).
 */
import { planPPLCNet, standardGeometry, STEM_KERNEL, type PPLCNetGeometry, type PPLCNetPlan } from './architecture.ts';

export type BatchNormForm = 'separate' | 'folded';

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Whether PaddleClas counts it as a trainable parameter (BatchNorm's running statistics are not). */
  readonly trainable: boolean;
}

export const BN_SUFFIXES = ['weight', 'bias', '_mean', '_variance'] as const;

/** The conv layers in forward order: state-dict prefix, OIHW shape. */
export interface ConvLayerSpec {
  readonly prefix: string;
  readonly shape: readonly [number, number, number, number];
}

export function convBnLayers(plan: PPLCNetPlan): ConvLayerSpec[] {
  const layers: ConvLayerSpec[] = [
    { prefix: 'backbone.conv1', shape: [plan.stemChannels, 3, STEM_KERNEL, STEM_KERNEL] },
  ];
  for (const b of plan.blocks) {
    layers.push({ prefix: `backbone.${b.name}.dw_conv`, shape: [b.inChannels, 1, b.kernel, b.kernel] });
    layers.push({ prefix: `backbone.${b.name}.pw_conv`, shape: [b.outChannels, b.inChannels, 1, 1] });
  }
  return layers;
}

function convBnSpecs(layer: ConvLayerSpec, form: BatchNormForm): ParameterSpec[] {
  const out = layer.shape[0];
  const specs: ParameterSpec[] = [{ name: `${layer.prefix}.conv.weight`, shape: layer.shape, trainable: true }];
  if (form === 'folded') {
    specs.push({ name: `${layer.prefix}.conv.bias`, shape: [out], trainable: true });
  } else {
    for (const s of BN_SUFFIXES) {
      specs.push({ name: `${layer.prefix}.bn.${s}`, shape: [out], trainable: s === 'weight' || s === 'bias' });
    }
  }
  return specs;
}

/** What decides a network's tensors. */
export interface NetworkSpec {
  readonly geometry: PPLCNetGeometry;
  readonly batchNorm: BatchNormForm;
  /** The linear neck's width; absent: no neck, the embedding is the backbone feature. */
  readonly neckDim?: number;
}

/** PP-ShiTu's form: PaddleClas's default geometry at `scale` and a linear neck to `embeddingDim`. */
export function standardNetwork(
  scale: number,
  embeddingDim: number,
  batchNorm: BatchNormForm = 'separate',
): NetworkSpec {
  return { geometry: standardGeometry(scale), batchNorm, neckDim: embeddingDim };
}

/** The embedding's width: the neck's, else the backbone feature's. */
export function embeddingDimOf(spec: NetworkSpec): number {
  return spec.neckDim ?? planPPLCNet(spec.geometry).featureDim;
}

/** Backbone parameters (up to and including last_conv, when the geometry has it), in forward order. */
export function backboneParameters(
  scaleOrGeometry: number | PPLCNetGeometry,
  form: BatchNormForm = 'separate',
): ParameterSpec[] {
  const plan = planPPLCNet(scaleOrGeometry);
  const byPrefix = new Map(convBnLayers(plan).map((l) => [l.prefix, l]));
  const specs: ParameterSpec[] = [...convBnSpecs(byPrefix.get('backbone.conv1')!, form)];
  for (const b of plan.blocks) {
    specs.push(...convBnSpecs(byPrefix.get(`backbone.${b.name}.dw_conv`)!, form));
    if (b.seChannels > 0) {
      const p = `backbone.${b.name}.se`;
      specs.push(
        { name: `${p}.conv1.weight`, shape: [b.seChannels, b.inChannels, 1, 1], trainable: true },
        { name: `${p}.conv1.bias`, shape: [b.seChannels], trainable: true },
        { name: `${p}.conv2.weight`, shape: [b.inChannels, b.seChannels, 1, 1], trainable: true },
        { name: `${p}.conv2.bias`, shape: [b.inChannels], trainable: true },
      );
    }
    specs.push(...convBnSpecs(byPrefix.get(`backbone.${b.name}.pw_conv`)!, form));
  }
  if (plan.geometry.useLastConv) {
    specs.push({ name: 'backbone.last_conv.weight', shape: [plan.featureDim, plan.lastConvIn, 1, 1], trainable: true });
  }
  return specs;
}

export function neckParameters(embeddingDim: number, featureDim: number): ParameterSpec[] {
  return [
    { name: 'neck.fc.weight', shape: [featureDim, embeddingDim], trainable: true },
    { name: 'neck.fc.bias', shape: [embeddingDim], trainable: true },
  ];
}

/** Every tensor of a network: backbone, then the neck when it has one. */
export function networkParameters(spec: NetworkSpec): ParameterSpec[] {
  const backbone = backboneParameters(spec.geometry, spec.batchNorm);
  if (spec.neckDim === undefined) return backbone;
  return [...backbone, ...neckParameters(spec.neckDim, planPPLCNet(spec.geometry).featureDim)];
}

/** Every tensor of a PP-LCNet + linear-neck feature extractor at PaddleClas's default geometry. */
export function modelParameters(
  scale: number,
  embeddingDim: number,
  form: BatchNormForm = 'separate',
): ParameterSpec[] {
  return networkParameters(standardNetwork(scale, embeddingDim, form));
}

export function countParameters(specs: readonly ParameterSpec[], trainableOnly = true): number {
  let n = 0;
  for (const s of specs) if (s.trainable || !trainableOnly) n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Checks a state dict against a parameter table: every name present with its exact shape and element count,
 * and nothing extra. Throws `makeError(message)` naming the first mismatch.
 */
export function assertMatchesParameters(
  stateDict: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>,
  specs: readonly ParameterSpec[],
  makeError: (message: string) => Error,
): void {
  for (const spec of specs) {
    const t = stateDict.get(spec.name);
    if (!t) throw makeError(`missing tensor "${spec.name}" (expected shape [${spec.shape.join(', ')}])`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw makeError(`tensor "${spec.name}" has shape [${t.shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    }
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) {
      throw makeError(`tensor "${spec.name}" has ${t.data.length} values, its shape needs ${count}`);
    }
  }
  const known = new Set(specs.map((s) => s.name));
  for (const name of stateDict.keys()) {
    if (!known.has(name)) throw makeError(`unexpected tensor "${name}" (not part of this architecture)`);
  }
}
