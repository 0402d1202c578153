import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/core/errors.ts';
import { IMAGENET_MEAN, IMAGENET_STD, validatePreprocess } from '../../src/core/options.ts';
import { readInferenceConfig } from '../../src/model/convert/inference-config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REAL_MODEL = path.resolve(root, '../shared/models/real/pp-lcnet-x0_25-textline-ori');
const REAL = ['paddle', 'paddle-pir'].map((dir) => path.join(REAL_MODEL, dir, 'inference.yml'));

/** The error readInferenceConfig throws for `text`. */
function errorOf(text: string, file?: string): ImportError {
  try {
    readInferenceConfig(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ImportError);
    return e as ImportError;
  }
  throw new Error('expected an ImportError');
}

// ../shared (the real exports, never committed) is beside the checkout on developers' machines and in CI.
describe.skipIf(!existsSync(REAL_MODEL))('readInferenceConfig: real PaddleX exports', () => {
  it.each(REAL)('reads %s: 160 x 80 direct resize, x / 255, ImageNet mean / std, two labels', (file) => {
    const config = readInferenceConfig(readFileSync(file, 'utf8'));
    expect(config).toEqual({
      preprocessing: {
        mode: 'resize',
        width: 160,
        height: 80,
        scale: 0.00392156862745098,
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
      },
      labels: ['0_degree', '180_degree'],
      modelName: 'PP-LCNet_x0_25_textline_ori',
      notes: [],
    });
    const options = validatePreprocess(config.preprocessing);
    expect([options.width, options.height, options.size]).toEqual([160, 80, undefined]);
  });
});

describe('readInferenceConfig: the forms PaddleX and PaddleClas write', () => {
  it('PaddleX classification: resize_short then CropImage, anchors and aliases, label_list', () => {
    const text = `Global:
  model_name: PP-LCNet_x1_0
Hpi:
  backend_configs:
    paddle_infer:
      trt_dynamic_shapes: &id001
        x:
        - [1, 3, 224, 224]
        - [8, 3, 224, 224]
    tensorrt:
      dynamic_shapes: *id001
PreProcess:
  transform_ops:
  - ResizeImage:
      resize_short: 256
  - CropImage:
      size: 224
  - NormalizeImage:
      channel_num: 3
      mean: [0.485, 0.456, 0.406]
      order: ''
      scale: 0.00392156862745098
      std: [0.229, 0.224, 0.225]
  - ToCHWImage: null
PostProcess:
  Topk:
    topk: 5
    label_list:
    - tench
    - goldfish
    - 'yes'
    - 42
`;
    const config = readInferenceConfig(text);
    expect(config.preprocessing).toEqual({
      mode: 'resize-short-crop',
      resizeShort: 256,
      width: 224,
      height: 224,
      scale: 0.00392156862745098,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    });
    expect(config.labels).toEqual(['tench', 'goldfish', 'yes', '42']);
    expect(config.modelName).toBe('PP-LCNet_x1_0');
    expect(config.notes).toEqual([]);
  });

  it('PaddleClas inference_cls.yaml: flow lists, bare ToCHWImage, labels in a class_id_map_file (a note)', () => {
    const text = `Global:
  infer_imgs: "./images/ILSVRC2012_val_00000010.jpeg"
  inference_model_dir: "./models"
  batch_size: 1
PreProcess:
  transform_ops:
    - ResizeImage:
        resize_short: 256
    - CropImage:
        size: 224
    - NormalizeImage:
        scale: 0.00392157
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
        order: ''
    - ToCHWImage:
PostProcess:
  name: Topk
  topk: 5
  class_id_map_file: "../ppcls/utils/imagenet1k_label_list.txt"
`;
    const config = readInferenceConfig(text, 'inference_cls.yaml');
    expect(config.preprocessing).toMatchObject({
      mode: 'resize-short-crop',
      resizeShort: 256,
      width: 224,
      height: 224,
      scale: 0.00392157,
    });
    expect(config.labels).toBeUndefined();
    expect(config.modelName).toBeUndefined();
    expect(config.notes).toEqual([
      'PostProcess.class_id_map_file "../ppcls/utils/imagenet1k_label_list.txt" is not read from the config; give the labels separately.',
    ]);
  });

  it('PaddleClas inference_rec.yaml: RecPreProcess, size [224, 224], interpolation bilinear, backend cv2, order hwc', () => {
    const text = `Global:
  rec_inference_model_dir: "./models/general_PPLCNetV2_base_pretrained_v1.0_infer"
RecPreProcess:
  transform_ops:
    - ResizeImage:
        size: [224, 224]
        return_numpy: False
        interpolation: bilinear
        backend: cv2
    - NormalizeImage:
        scale: 0.00392157
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
        order: hwc
    - ToCHWImage:

RecPostProcess: null
`;
    const config = readInferenceConfig(text, 'inference_rec.yaml');
    expect(config.preprocessing).toEqual({
      mode: 'resize',
      width: 224,
      height: 224,
      scale: 0.00392157,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    });
    expect(config.notes).toEqual([]);
  });

  it('PaddleClas general config: DetPreProcess beside RecPreProcess, the latter read', () => {
    const text = `DetPreProcess:
  transform_ops:
    - DetResize: {interp: 2, keep_ratio: false, target_size: [640, 640]}
RecPreProcess:
  transform_ops:
    - ResizeImage: {size: 224}
`;
    const config = readInferenceConfig(text, 'inference_general.yaml');
    expect(config.preprocessing).toMatchObject({ mode: 'resize', width: 224, height: 224 });
    // No NormalizeImage: PaddleClas feeds the 0-255 values as they are.
    expect(config.preprocessing).toMatchObject({ scale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(config.notes).toEqual(['No NormalizeImage: the network reads raw 0-255 values.']);
  });

  it.each([
    ['1.0/255.0', 1 / 255],
    ['1./255.', 1 / 255],
    ['1/255', 1 / 255],
    [' 2.0 / 255 ', 2 / 255],
    ['0.00392157', 0.00392157],
    ['1e-3', 0.001], // PyYAML reads 1e-3 (no dot) as a string; Python's eval() makes it a number
    ['.5', 0.5],
  ])('NormalizeImage scale as text: %s', (scale, want) => {
    const text = `PreProcess:\n  transform_ops:\n    - ResizeImage: {size: 224}\n    - NormalizeImage: {scale: ${scale.includes(' ') ? `'${scale}'` : scale}}\n`;
    const { preprocessing } = readInferenceConfig(text);
    expect(preprocessing.scale).toBeCloseTo(want, 15);
    // The defaults of NormalizeImage: ImageNet mean and std.
    expect(preprocessing.mean).toEqual(IMAGENET_MEAN);
    expect(preprocessing.std).toEqual(IMAGENET_STD);
  });

  it('NormalizeImage without scale: 1 / 255, as PaddleClas and PaddleX default', () => {
    const { preprocessing } = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - NormalizeImage: {mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}\n',
    );
    expect(preprocessing).toEqual({ scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  });

  it('[width, height] sizes for ResizeImage and CropImage; order chw accepted', () => {
    const resize = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {size: [192, 48]}\n    - NormalizeImage: {order: chw}\n',
    );
    expect(resize.preprocessing).toMatchObject({ mode: 'resize', width: 192, height: 48 });
    expect(resize.notes).toEqual([]);
    const crop = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {resize_short: 256}\n    - CropImage: {size: [224, 160]}\n    - NormalizeImage:\n',
    );
    expect(crop.preprocessing).toMatchObject({ mode: 'resize-short-crop', resizeShort: 256, width: 224, height: 160 });
    // PaddleClas takes resize_short over size when both are there and resize_short > 0; resize_short 0 means size.
    const both = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {size: 300, resize_short: 256}\n    - CropImage: {size: 224}\n',
    );
    expect(both.preprocessing).toMatchObject({ mode: 'resize-short-crop', resizeShort: 256 });
    const zero = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {size: 300, resize_short: 0}\n',
    );
    expect(zero.preprocessing).toMatchObject({ mode: 'resize', width: 300, height: 300 });
  });

  it('labels: label_list directly in PostProcess or in Global; Python str() of YAML 1.1 booleans', () => {
    expect(readInferenceConfig('PostProcess:\n  label_list: [cat, dog]\n').labels).toEqual(['cat', 'dog']);
    expect(readInferenceConfig('Global:\n  label_list: [cat, dog]\n').labels).toEqual(['cat', 'dog']);
    expect(readInferenceConfig('PostProcess:\n  Topk:\n    label_list: [yes, no, "on"]\n').labels).toEqual([
      'True',
      'False',
      'on',
    ]);
    const bad = readInferenceConfig('PostProcess:\n  Topk:\n    label_list: labels.txt\n');
    expect(bad.labels).toBeUndefined();
    expect(bad.notes).toContain(
      'PostProcess.Topk.label_list is not a list of class names ("labels.txt"); labels were not read.',
    );
  });
});

describe('readInferenceConfig: what it cannot follow goes to notes', () => {
  it('unknown ops and parameters, another interpolation or backend, channel_num 4, BGR input', () => {
    const text = `PreProcess:
  transform_ops:
    - DecodeImage: {to_rgb: False}
    - ResizeImage: {size: [160, 80], interpolation: bicubic, backend: pil, keep_ratio: true}
    - RandFlipImage: {flip_code: 1}
    - NormalizeImage: {channel_num: 4, order: nchw, output_fp16: true}
    - ToCHWImage:
`;
    const config = readInferenceConfig(text);
    expect(config.preprocessing).toMatchObject({ mode: 'resize', width: 160, height: 80, scale: 1 / 255 });
    expect(config.notes).toEqual([
      'PreProcess.transform_ops[0].DecodeImage: to_rgb is false (the model expects BGR); images are given as RGB.',
      'PreProcess.transform_ops[1].ResizeImage: parameter "keep_ratio" is not supported and was ignored.',
      'PreProcess.transform_ops[1].ResizeImage: interpolation "bicubic" is not supported; resized bilinearly (OpenCV INTER_LINEAR) instead.',
      'PreProcess.transform_ops[1].ResizeImage: backend "pil" is not reproduced (PIL\'s resize filters differently when shrinking); resized as OpenCV does.',
      'PreProcess.transform_ops[2].RandFlipImage: transform op "RandFlipImage" is not supported and was skipped.',
      'PreProcess.transform_ops[3].NormalizeImage: order "nchw" is unknown; read as \'\' (HWC).',
      'PreProcess.transform_ops[3].NormalizeImage: channel_num 4 is not supported; the network gets 3 channels (RGB).',
      'PreProcess.transform_ops[3].NormalizeImage: output_fp16 is ignored; the input is float32.',
    ]);
  });

  it('the linear interpolations in any spelling are no note: bilinear, LINEAR (PaddleX), cv2 INTER_LINEAR = 1', () => {
    for (const interpolation of ['bilinear', 'LINEAR', 'Linear', '1', 'null']) {
      const text = `PreProcess:\n  transform_ops:\n    - ResizeImage: {size: 224, interpolation: ${interpolation}}\n    - NormalizeImage:\n`;
      expect(readInferenceConfig(text).notes).toEqual([]);
    }
  });

  it('geometry it approximates: resize_short without a crop, a crop after a direct resize, no resize at all', () => {
    const short = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {resize_short: 256}\n    - NormalizeImage:\n',
    );
    expect(short.preprocessing).toMatchObject({ mode: 'resize-short-crop', resizeShort: 256, width: 256, height: 256 });
    expect(short.notes).toEqual([
      'ResizeImage resize_short without a CropImage gives inputs of any size; centre-cropped to 256 x 256 instead.',
    ]);
    const direct = readInferenceConfig(
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {size: 256}\n    - CropImage: {size: 224}\n    - NormalizeImage:\n',
    );
    expect(direct.preprocessing).toMatchObject({ mode: 'resize', width: 224, height: 224 });
    expect(direct.notes).toEqual([
      'CropImage after a direct resize to 256 x 256 is not supported: images are resized directly to the crop size, 224 x 224.',
    ]);
    const none = readInferenceConfig('PreProcess:\n  transform_ops:\n    - NormalizeImage:\n    - ToCHWImage:\n');
    expect(none.preprocessing).toEqual({ scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    expect(none.notes).toEqual(['No ResizeImage: the input size is not set by this config.']);
    const nothing = readInferenceConfig('Global:\n  model_name: PP-LCNet_x1_0\n');
    expect(nothing).toEqual({
      preprocessing: {},
      modelName: 'PP-LCNet_x1_0',
      notes: ['No PreProcess.transform_ops: the input size and normalisation are not set by this config.'],
    });
  });
});

describe('readInferenceConfig: errors', () => {
  it('malformed YAML: ImportError naming the file and the line', () => {
    const text = 'PreProcess:\n  transform_ops:\n    - ResizeImage: {size: [160, 80]\n    - ToCHWImage:\n';
    const e = errorOf(text, 'models/x/inference.yml');
    expect(e.message).toMatch(
      /^models\/x\/inference\.yml is not valid YAML \(.+ at line \d+, column \d+\): export the model again, or fix the file there$/,
    );
    expect(errorOf('Global:\n  model_name: a\n bad: 1\n').message).toContain(
      'inference.yml is not valid YAML (bad indentation of a mapping entry at line 3, column 2)',
    );
    expect(errorOf('a: *nowhere\n').message).toContain('unidentified alias "nowhere" at line 1');
  });

  it('not a config: a list, a scalar, an empty file', () => {
    expect(errorOf('- a\n- b\n').message).toBe(
      'inference.yml is not a PaddleX / PaddleClas inference config: expected a mapping with PreProcess, got ["a","b"]',
    );
    expect(errorOf('').message).toBe(
      'inference.yml is not a PaddleX / PaddleClas inference config: expected a mapping with PreProcess, got nothing',
    );
    expect(errorOf('# only a comment\n\n').message).toMatch(/got nothing$/);
    expect(errorOf('just text').message).toMatch(/got "just text"$/);
  });

  it('malformed values of the ops it reads, by path', () => {
    const op = (yaml: string) =>
      errorOf(`PreProcess:\n  transform_ops:\n    - ${yaml}\n`, 'inference_cls.yaml').message;
    expect(op('ResizeImage: {size: [160]}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].ResizeImage.size must be a positive integer or [width, height]; got [160]',
    );
    expect(op('ResizeImage: {size: 224.5}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].ResizeImage.size must be a positive integer or [width, height]; got 224.5',
    );
    expect(op('ResizeImage: {resize_short: big}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].ResizeImage.resize_short must be a positive integer; got "big"',
    );
    expect(op('ResizeImage: {interpolation: bilinear}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].ResizeImage must be given size or resize_short; got {"interpolation":"bilinear"}',
    );
    expect(op('CropImage: {size: [0, 10]}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].CropImage.size must be a positive integer or [width, height]; got [0,10]',
    );
    expect(op("NormalizeImage: {scale: 'x/255'}")).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].NormalizeImage.scale must be a number or a fraction such as 1.0/255.0; got "x/255"',
    );
    expect(op('NormalizeImage: {mean: [0.5, 0.5]}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].NormalizeImage.mean must be three numbers (R, G, B); got [0.5,0.5]',
    );
    expect(op('NormalizeImage: [1, 2]')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0].NormalizeImage must be a mapping of parameters or empty; got [1,2]',
    );
    expect(op('{ResizeImage: {size: 1}, CropImage: {size: 1}}')).toBe(
      'inference_cls.yaml: PreProcess.transform_ops[0] must be one transform op (a mapping with one key); got {"ResizeImage":{"size":1},"CropImage":{"size":1}}',
    );
    expect(errorOf('PreProcess:\n  transform_ops: ResizeImage\n').message).toBe(
      'inference.yml: PreProcess.transform_ops must be a list of transform ops; got "ResizeImage"',
    );
  });

  it("preprocessing the options cannot take: the options' own message, as an ImportError", () => {
    const crop =
      'PreProcess:\n  transform_ops:\n    - ResizeImage: {resize_short: 200}\n    - CropImage: {size: 224}\n';
    expect(errorOf(crop).message).toBe(
      "inference.yml: its preprocessing cannot be used: preprocess.resizeShort (200) must be at least the crop's width and height (224 x 224)",
    );
    const std = 'PreProcess:\n  transform_ops:\n    - NormalizeImage: {std: [0.2, 0, 0.2]}\n';
    expect(errorOf(std).message).toBe(
      'inference.yml: its preprocessing cannot be used: preprocess.std must not contain 0',
    );
    const scale = "PreProcess:\n  transform_ops:\n    - NormalizeImage: {scale: '1/0'}\n";
    expect(errorOf(scale).message).toBe(
      'inference.yml: its preprocessing cannot be used: preprocess.scale must be a positive finite number; got Infinity',
    );
  });
});
