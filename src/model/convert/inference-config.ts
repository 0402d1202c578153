/**
 * Reads the config that PaddleX and PaddleClas write beside an inference model: PaddleX's `inference.yml`
 * (`PreProcess.transform_ops`, `PostProcess.Topk.label_list`, `Global.model_name`) and PaddleClas's deploy
 * configs (`inference_cls.yaml`, `inference_rec.yaml`: `PreProcess` or `RecPreProcess`, `PostProcess` with a
 * `class_id_map_file`; `inference_general.yaml`: `IndexProcess.score_thres`, PP-ShiTu's recognition
 * threshold). The ops mean what PaddleClas's deploy/python/preprocess.py and PaddleX's classification
 * predictor make of them:
 * - ResizeImage: `resize_short` (> 0) wins over `size`; `size` is an int or [width, height]; OpenCV
 *   INTER_LINEAR unless `interpolation` or `backend: pil` says otherwise.
 * - CropImage: a centre crop of `size`, an int or [width, height] (224 when absent, as PaddleX).
 * - NormalizeImage: (x * scale - mean) / std; scale a number or Python's text for one (`1.0/255.0`), default
 *   1 / 255; `order` only says whether the image is already CHW, which does not change a value.
 * What this project cannot reproduce (another interpolation, an unknown op, a label file it cannot open) is
 * recorded in `notes`, never an error: the model still runs, and the page can say how it may differ.
 */
import { load, YAML11_SCHEMA, YAMLException } from 'js-yaml';
import { ImportError, OptionsError } from '../../core/errors.ts';
import { IMAGENET_MEAN, IMAGENET_STD, validatePreprocess, type PreprocessOptions } from '../../core/options.ts';

export interface InferenceConfig {
  /** Only what the config sets: merge it over the manifest's or the defaults. */
  readonly preprocessing: Partial<PreprocessOptions>;
  /** Class names, index by index, when the config lists them. */
  readonly labels?: readonly string[];
  /** `Global.model_name` (PaddleX), e.g. `PP-LCNet_x0_25_textline_ori`. */
  readonly modelName?: string;
  /**
   * PP-ShiTu's recognition threshold: `IndexProcess.score_thres` of a PaddleClas deploy config
   * (inference_general.yaml), the inner-product score from which predict_system.py gives the top match's label.
   * Only when `dist_type` is IP (its default): with L2 or hamming the number is not a cosine.
   */
  readonly scoreThreshold?: number;
  /** What the config asks for that is not followed, one sentence each. */
  readonly notes: readonly string[];
}

type Dict = Readonly<Record<string, unknown>>;
type Size = { readonly width: number; readonly height: number };
/** ResizeImage: a direct resize, or the short side's length. */
type Resize = { readonly size: Size } | { readonly short: number };
type Normalize = Pick<PreprocessOptions, 'scale' | 'mean' | 'std'>;

/** Sections holding the classifier's or the feature extractor's preprocessing, in order of preference. */
const SECTIONS = ['PreProcess', 'RecPreProcess'] as const;
const LINEAR = new Set(['bilinear', 'linear', 'inter_linear']);
const CV2_INTER_LINEAR = 1;
const NUMBER = String.raw`(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?`;
const FRACTION = new RegExp(String.raw`^\s*(${NUMBER})\s*(?:/\s*(${NUMBER})\s*)?$`, 'i');

const RAW_PIXELS: Normalize = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSide = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const show = (v: unknown): string => (v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v)).slice(0, 80));

/** Reads `inference.yml` / `inference_*.yaml` text; bad YAML or a malformed value throws ImportError. */
export function readInferenceConfig(text: string, file = 'inference.yml'): InferenceConfig {
  const root = parseYaml(text, file);
  if (!isDict(root)) {
    throw new ImportError(
      `${file} is not a PaddleX / PaddleClas inference config: expected a mapping with PreProcess, got ${show(root)}`,
    );
  }
  const reader = new ConfigReader(file);
  const preprocessing = reader.preprocessing(root);
  const labels = reader.labels(root);
  const name = isDict(root.Global) ? root.Global.model_name : undefined;
  const scoreThreshold = reader.scoreThreshold(root);
  return {
    preprocessing,
    ...(labels ? { labels } : {}),
    ...(scoreThreshold !== undefined ? { scoreThreshold } : {}),
    ...(typeof name === 'string' && name ? { modelName: name } : {}),
    notes: reader.notes,
  };
}

function parseYaml(text: string, file: string): unknown {
  // No line but blanks and comments: PyYAML reads None, js-yaml throws; "not a config" says more.
  if (!/^[ \t]*[^\s#]/m.test(text)) return undefined;
  try {
    // Read as PyYAML, which writes and reads these files for PaddleX and PaddleClas, does: YAML 1.1 scalars
    // (`yes` is true, `1e-3` a string) and a repeated key keeping its last value (json: true).
    return load(text, { filename: file, schema: YAML11_SCHEMA, json: true });
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw new ImportError(
      `${file} is not valid YAML (${e.reason}${where}): export the model again, or fix the file there`,
    );
  }
}

class ConfigReader {
  readonly notes: string[] = [];
  constructor(private readonly file: string) {}

  private fail(path: string, what: string, got: unknown): never {
    throw new ImportError(`${this.file}: ${path} must be ${what}; got ${show(got)}`);
  }

  preprocessing(root: Dict): Partial<PreprocessOptions> {
    const found = SECTIONS.filter((k) => isDict(root[k]));
    const key = found[0];
    if (!key) {
      this.notes.push(
        isDict(root.DetPreProcess)
          ? "Only a detector's preprocessing (DetPreProcess) is given: the input size and normalisation are not set by this config."
          : 'No PreProcess.transform_ops: the input size and normalisation are not set by this config.',
      );
      return {};
    }
    if (found.length > 1) this.notes.push(`Both ${found.join(' and ')} are given; ${key} was read.`);
    const ops = (root[key] as Dict).transform_ops;
    if (!Array.isArray(ops)) this.fail(`${key}.transform_ops`, 'a list of transform ops', ops);

    let resize: Resize | undefined;
    let crop: Size | undefined;
    let normalize: Normalize | undefined;
    ops.forEach((entry: unknown, i) => {
      const [op, args] = this.opOf(entry, `${key}.transform_ops[${i}]`);
      const at = `${key}.transform_ops[${i}].${op}`;
      switch (op) {
        case 'ResizeImage':
          if (resize) this.notes.push(`${at}: a second ResizeImage; only the last one is followed.`);
          if (crop) this.notes.push(`${at}: a ResizeImage after CropImage is not supported; read as if it came first.`);
          resize = this.resizeOf(args, at);
          break;
        case 'CropImage':
          crop = this.sizeOf(args.size ?? 224, `${at}.size`);
          this.unknownKeys(args, ['size'], at);
          break;
        case 'NormalizeImage':
          normalize = this.normalizeOf(args, at);
          break;
        case 'ToCHWImage':
          break; // Our tensors are NHWC; the builder transposes the filters instead.
        case 'DecodeImage':
          if (args.to_rgb === false)
            this.notes.push(`${at}: to_rgb is false (the model expects BGR); images are given as RGB.`);
          break;
        default:
          this.notes.push(`${at}: transform op "${op}" is not supported and was skipped.`);
      }
    });

    if (!normalize) this.notes.push('No NormalizeImage: the network reads raw 0-255 values.');
    // Without NormalizeImage, PaddleClas feeds the resized 0-255 values as they are.
    const out: Partial<PreprocessOptions> = { ...(normalize ?? RAW_PIXELS), ...this.geometry(resize, crop) };
    try {
      validatePreprocess(out);
    } catch (e) {
      if (e instanceof OptionsError)
        throw new ImportError(`${this.file}: its preprocessing cannot be used: ${e.message}`);
      throw e;
    }
    return out;
  }

  private geometry(resize: Resize | undefined, crop: Size | undefined): Partial<PreprocessOptions> {
    if (resize && 'short' in resize) {
      if (!crop)
        this.notes.push(
          `ResizeImage resize_short without a CropImage gives inputs of any size; centre-cropped to ${resize.short} x ${resize.short} instead.`,
        );
      return {
        mode: 'resize-short-crop',
        resizeShort: resize.short,
        ...(crop ?? { width: resize.short, height: resize.short }),
      };
    }
    if (crop) {
      const from = resize
        ? `after a direct resize to ${resize.size.width} x ${resize.size.height}`
        : 'of the unresized image';
      this.notes.push(
        `CropImage ${from} is not supported: images are resized directly to the crop size, ${crop.width} x ${crop.height}.`,
      );
      return { mode: 'resize', ...crop };
    }
    if (resize) return { mode: 'resize', ...resize.size };
    this.notes.push('No ResizeImage: the input size is not set by this config.');
    return {};
  }

  /** `- Name: {args}`, `- Name:` (null args) or `- Name`. */
  private opOf(entry: unknown, at: string): [string, Dict] {
    if (typeof entry === 'string') return [entry, {}];
    if (!isDict(entry) || Object.keys(entry).length !== 1)
      this.fail(at, 'one transform op (a mapping with one key)', entry);
    const [op, args] = Object.entries(entry)[0]!;
    if (args !== null && !isDict(args)) this.fail(`${at}.${op}`, 'a mapping of parameters or empty', args);
    return [op, args ?? {}];
  }

  private resizeOf(args: Dict, at: string): Resize {
    const { resize_short: short, size, interpolation, backend } = args;
    this.unknownKeys(args, ['resize_short', 'size', 'interpolation', 'backend', 'return_numpy'], at);
    const linear =
      interpolation === undefined ||
      interpolation === null ||
      interpolation === CV2_INTER_LINEAR ||
      (typeof interpolation === 'string' && LINEAR.has(interpolation.toLowerCase()));
    if (!linear)
      this.notes.push(
        `${at}: interpolation ${show(interpolation)} is not supported; resized bilinearly (OpenCV INTER_LINEAR) instead.`,
      );
    if (typeof backend === 'string' && backend.toLowerCase() === 'pil') {
      this.notes.push(
        `${at}: backend "pil" is not reproduced (PIL's resize filters differently when shrinking); resized as OpenCV does.`,
      );
    } else if (
      backend !== undefined &&
      backend !== null &&
      !(typeof backend === 'string' && ['cv2', 'opencv'].includes(backend.toLowerCase()))
    ) {
      this.notes.push(
        `${at}: backend ${show(backend)} is unknown; resized as OpenCV does (PaddleClas's fallback too).`,
      );
    }
    // PaddleClas: resize_short when it is set and > 0, else size.
    if (short !== undefined && short !== null && !(typeof short === 'number' && short <= 0)) {
      if (!isSide(short)) this.fail(`${at}.resize_short`, 'a positive integer', short);
      return { short };
    }
    if (size === undefined || size === null) this.fail(at, 'given size or resize_short', args);
    return { size: this.sizeOf(size, `${at}.size`) };
  }

  /** An int (square) or [width, height], as both ResizeImage and CropImage read it. */
  private sizeOf(v: unknown, at: string): Size {
    if (isSide(v)) return { width: v, height: v };
    if (Array.isArray(v) && v.length === 2 && isSide(v[0]) && isSide(v[1])) return { width: v[0], height: v[1] };
    return this.fail(at, 'a positive integer or [width, height]', v);
  }

  private normalizeOf(args: Dict, at: string): Normalize {
    this.unknownKeys(args, ['scale', 'mean', 'std', 'order', 'channel_num', 'output_fp16'], at);
    const { order, channel_num: channels } = args;
    if (!(
      order === undefined ||
      order === null ||
      (typeof order === 'string' && ['', 'hwc', 'chw'].includes(order.toLowerCase()))
    )) {
      this.notes.push(`${at}: order ${show(order)} is unknown; read as '' (HWC).`);
    }
    if (!(channels === undefined || channels === null || channels === 3)) {
      this.notes.push(`${at}: channel_num ${show(channels)} is not supported; the network gets 3 channels (RGB).`);
    }
    if (args.output_fp16 === true) this.notes.push(`${at}: output_fp16 is ignored; the input is float32.`);
    return {
      scale: this.scaleOf(args.scale, `${at}.scale`),
      mean: this.triple(args.mean ?? IMAGENET_MEAN, `${at}.mean`),
      std: this.triple(args.std ?? IMAGENET_STD, `${at}.std`),
    };
  }

  /** A number, or the text PaddleClas hands to Python's eval(): `1.0/255.0`, `1./255.`, `0.00392157`. */
  private scaleOf(v: unknown, at: string): number {
    if (v === undefined || v === null) return 1 / 255;
    if (typeof v === 'number') return v;
    const m = typeof v === 'string' ? FRACTION.exec(v) : null;
    if (!m) this.fail(at, 'a number or a fraction such as 1.0/255.0', v);
    return Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2]));
  }

  private triple(v: unknown, at: string): readonly [number, number, number] {
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      this.fail(at, 'three numbers (R, G, B)', v);
    }
    return [v[0], v[1], v[2]];
  }

  private unknownKeys(args: Dict, known: readonly string[], at: string): void {
    for (const k of Object.keys(args))
      if (!known.includes(k)) this.notes.push(`${at}: parameter "${k}" is not supported and was ignored.`);
  }

  /** IndexProcess.score_thres when it is a cosine (dist_type IP, PaddleClas's default); else a note. */
  scoreThreshold(root: Dict): number | undefined {
    const index = root.IndexProcess;
    if (!isDict(index) || index.score_thres === undefined || index.score_thres === null) return undefined;
    const { score_thres: t, dist_type: dist } = index;
    if (!(dist === undefined || dist === null || (typeof dist === 'string' && dist.toUpperCase() === 'IP'))) {
      this.notes.push(
        `IndexProcess.score_thres ${show(t)} is for dist_type ${show(dist)}, not a cosine (dist_type IP); not used.`,
      );
      return undefined;
    }
    if (typeof t !== 'number' || !(t >= -1 && t <= 1)) {
      this.notes.push(`IndexProcess.score_thres must be a cosine from -1 to 1; got ${show(t)}; not used.`);
      return undefined;
    }
    return t;
  }

  /** PaddleX: PostProcess.Topk.label_list; also a label_list directly in PostProcess, in another of its ops, or in Global. */
  labels(root: Dict): readonly string[] | undefined {
    const post = isDict(root.PostProcess) ? root.PostProcess : {};
    const places: [string, Dict][] = [
      ['PostProcess.Topk', isDict(post.Topk) ? post.Topk : {}],
      ['PostProcess', post],
      ...Object.entries(post)
        .filter((e): e is [string, Dict] => isDict(e[1]))
        .map(([k, d]): [string, Dict] => [`PostProcess.${k}`, d]),
      ['Global', isDict(root.Global) ? root.Global : {}],
    ];
    const hit = places.find(([, d]) => d.label_list !== undefined && d.label_list !== null);
    if (hit) {
      const [at, { label_list: list }] = hit;
      if (
        Array.isArray(list) &&
        list.length > 0 &&
        list.every((l) => ['string', 'number', 'boolean'].includes(typeof l))
      ) {
        return list.map((l) => (typeof l === 'boolean' ? (l ? 'True' : 'False') : String(l))); // Python's str()
      }
      this.notes.push(`${at}.label_list is not a list of class names (${show(list)}); labels were not read.`);
      return undefined;
    }
    const map = places.find(([, d]) => typeof d.class_id_map_file === 'string');
    if (map) {
      this.notes.push(
        `${map[0]}.class_id_map_file "${String(map[1].class_id_map_file)}" is not read from the config; give the labels separately.`,
      );
    }
    return undefined;
  }
}
