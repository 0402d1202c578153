import { describe, expect, it } from 'vitest';
import {
  makeDivisible,
  planPPLCNet,
  PPLCNET_SCALES,
  standardGeometry,
  type PPLCNetGeometry,
} from '../../src/model/architecture.ts';
import { backboneParameters, countParameters, modelParameters, networkParameters } from '../../src/model/parameters.ts';

describe('makeDivisible', () => {
  it('matches PaddleClas for the values PP-LCNet uses', () => {
    // Computed by hand from the Python definition.
    expect(makeDivisible(16 * 0.25)).toBe(8);
    expect(makeDivisible(512 * 0.35)).toBe(176);
    expect(makeDivisible(32 * 0.35)).toBe(16); // int(11.2 + 4) // 8 * 8 = 8 is under 0.9 * 11.2, so + 8
    expect(makeDivisible(64 * 0.75)).toBe(48);
    expect(makeDivisible(16 * 2.5)).toBe(40);
    expect(makeDivisible(100)).toBe(104);
    expect(makeDivisible(3)).toBe(8); // min_value defaults to the divisor
    expect(makeDivisible(91, 8)).toBe(88); // 88 >= 0.9 * 91
    expect(makeDivisible(20, 8, 4)).toBe(24);
  });
});

describe('the stage table', () => {
  it('gives the reference channel counts at x2.5', () => {
    const plan = planPPLCNet(2.5);
    expect(plan.stemChannels).toBe(40);
    expect(plan.blocks.map((b) => b.outChannels)).toEqual([
      80, 160, 160, 320, 320, 640, 640, 640, 640, 640, 640, 1280, 1280,
    ]);
    expect(plan.lastConvIn).toBe(1280);
    expect(plan.featureDim).toBe(1280);
  });

  it('has 13 blocks with strides, kernels and SE as NET_CONFIG', () => {
    const plan = planPPLCNet(1.0);
    expect(plan.blocks.map((b) => b.name)).toEqual([
      'blocks2.0',
      'blocks3.0',
      'blocks3.1',
      'blocks4.0',
      'blocks4.1',
      'blocks5.0',
      'blocks5.1',
      'blocks5.2',
      'blocks5.3',
      'blocks5.4',
      'blocks5.5',
      'blocks6.0',
      'blocks6.1',
    ]);
    expect(plan.blocks.map((b) => b.stride[0])).toEqual([1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]);
    expect(plan.blocks.every((b) => b.stride[0] === b.stride[1])).toBe(true);
    expect(plan.blocks.map((b) => b.kernel)).toEqual([3, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5]);
    expect(plan.blocks.map((b) => b.seChannels)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 128]);
    // Each block's input is the previous block's output.
    plan.blocks.forEach((b, i) =>
      expect(b.inChannels).toBe(i === 0 ? plan.stemChannels : plan.blocks[i - 1]!.outChannels),
    );
  });

  it('rejects a nonsensical scale', () => {
    expect(() => planPPLCNet(0)).toThrow('PP-LCNet scale must be a positive number, got 0');
    expect(() => planPPLCNet(Number.NaN)).toThrow(/positive number/);
  });
});

describe('parameter counts', () => {
  // PaddleClas docs/en/models/PP-LCNet_en.md, "Params(M)": with the 1000-class ImageNet fc.
  const PUBLISHED: Record<number, number> = {
    0.25: 1.5,
    0.35: 1.6,
    0.5: 1.9,
    0.75: 2.4,
    1.0: 3.0,
    1.5: 4.5,
    2.0: 6.5,
    2.5: 9.0,
  };
  const IMAGENET_FC = 1280 * 1000 + 1000;

  it.each(PPLCNET_SCALES.map((s) => [s]))('x%s matches PaddleClas to its rounding', (scale) => {
    const backbone = countParameters(backboneParameters(scale));
    const total = backbone + IMAGENET_FC;
    const withNeck = countParameters(modelParameters(scale, 512));
    console.log(
      `PP-LCNet x${scale}: backbone ${(backbone / 1e6).toFixed(3)} M, + ImageNet fc ${(total / 1e6).toFixed(3)} M ` +
        `(published ${PUBLISHED[scale]} M), + 512-d neck ${(withNeck / 1e6).toFixed(3)} M`,
    );
    expect(Math.round(total / 1e5) / 10).toBe(PUBLISHED[scale]);
  });

  it('folded BatchNorm has one bias per conv instead of four BN tensors', () => {
    const separate = backboneParameters(1.0, 'separate');
    const folded = backboneParameters(1.0, 'folded');
    expect(folded.filter((p) => p.name.endsWith('.conv.bias')).length).toBe(
      separate.filter((p) => p.name.endsWith('.bn._mean')).length,
    );
    expect(folded.some((p) => p.name.includes('.bn.'))).toBe(false);
  });
});

describe("the geometry PaddleClas's constructor takes", () => {
  const textLine: PPLCNetGeometry = {
    ...standardGeometry(0.25),
    strideList: [
      [1, 2],
      [2, 1],
      [2, 1],
      [2, 1],
      [2, 1],
    ],
    useLastConv: false,
  };

  it('puts stride_list on conv1 and the first block of blocks3-6 only', () => {
    const plan = planPPLCNet(textLine);
    expect(plan.stemStride).toEqual([1, 2]);
    expect(
      plan.blocks.filter((b) => b.stride[0] !== 1 || b.stride[1] !== 1).map((b) => `${b.name} ${b.stride.join('x')}`),
    ).toEqual(['blocks3.0 2x1', 'blocks4.0 2x1', 'blocks5.0 2x1', 'blocks6.0 2x1']);
  });

  it('without last_conv the feature is the last stage, and there is no last_conv tensor', () => {
    expect(planPPLCNet(textLine).featureDim).toBe(128);
    const names = networkParameters({ geometry: textLine, batchNorm: 'separate' }).map((p) => p.name);
    expect(names).not.toContain('backbone.last_conv.weight');
    expect(names.some((n) => n.startsWith('neck.'))).toBe(false);
  });

  it("class_expand sets last_conv and the neck's input", () => {
    const g = { ...standardGeometry(0.5), classExpand: 640 };
    const specs = networkParameters({ geometry: g, batchNorm: 'folded', neckDim: 32 });
    expect(specs.find((p) => p.name === 'backbone.last_conv.weight')!.shape).toEqual([640, 256, 1, 1]);
    expect(specs.find((p) => p.name === 'neck.fc.weight')!.shape).toEqual([640, 32]);
  });

  it('refuses what PaddleClas cannot build, naming the field', () => {
    expect(() => planPPLCNet({ ...textLine, strideList: [[2, 2]] })).toThrow('stride_list must have 5 entries');
    expect(() =>
      planPPLCNet({
        ...textLine,
        strideList: [
          [0, 2],
          [2, 2],
          [2, 2],
          [2, 2],
          [2, 2],
        ],
      }),
    ).toThrow('stride_list entries');
    expect(() => planPPLCNet({ ...textLine, dropoutProb: 1 })).toThrow('dropout_prob must be in [0, 1)');
  });
});
