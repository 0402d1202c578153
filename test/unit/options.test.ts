/** Every default beside its validator (src/core/options.ts): defaults filled, and messages naming the valid values. */
import { describe, expect, it } from 'vitest';
import {
  BACKEND_CHOICES,
  DEFAULT_ARC_MARGIN,
  DEFAULT_FINE_TUNE_OPTIONS,
  DEFAULT_LEARNING_RATE,
  DEFAULT_LOAD_OPTIONS,
  DEFAULT_MODEL_IMPORT_OPTIONS,
  DEFAULT_MODEL_PATH,
  FINE_TUNE_LIMITS,
  MAX_BATCH_SIZE,
  validateEmbedOptions,
  validateFineTuneOptions,
  validateLoadOptions,
  validateModelImportOptions,
} from '../../src/core/options.ts';
import { OptionsError } from '../../src/core/errors.ts';
import { MAX_PIXELS_DEFAULT } from '../../src/core/image-sniff.ts';

describe('load options', () => {
  it('fill the defaults: auto, batches of 8, normalised, 50 MP', () => {
    expect(DEFAULT_LOAD_OPTIONS).toEqual({
      backend: 'auto',
      batchSize: 8,
      normalize: true,
      maxPixels: MAX_PIXELS_DEFAULT,
    });
    expect(validateLoadOptions()).toEqual(DEFAULT_LOAD_OPTIONS);
    expect(validateLoadOptions({ backend: 'wasm', batchSize: 3, normalize: false, maxPixels: 10 })).toEqual({
      backend: 'wasm',
      batchSize: 3,
      normalize: false,
      maxPixels: 10,
    });
    expect(Object.isFrozen(DEFAULT_LOAD_OPTIONS)).toBe(true);
    expect(DEFAULT_MODEL_PATH).toBe('models/default/manifest.json');
  });

  it('refuse a bad value, listing the valid ones', () => {
    const bad = (o: object) => () => validateLoadOptions(o);
    expect(bad({ backend: 'metal' })).toThrow(OptionsError);
    expect(bad({ backend: 'metal' })).toThrow(`backend must be one of ${BACKEND_CHOICES.join(', ')}; got "metal"`);
    expect(bad({ backend: 'metal' })).toThrow('backend must be one of auto, webgpu, webgl, wasm, cpu; got "metal"');
    expect(bad({ batchSize: 0 })).toThrow(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}; got 0`);
    expect(bad({ batchSize: 2.5 })).toThrow('batchSize must be an integer from 1 to 256; got 2.5');
    expect(bad({ normalize: 'yes' })).toThrow('normalize must be true or false; got "yes"');
    expect(bad({ maxPixels: -1 })).toThrow('maxPixels must be a positive integer; got -1');
  });

  it("embed() options default to the loaded model's", () => {
    expect(validateEmbedOptions({}, { batchSize: 4, normalize: false })).toEqual({ batchSize: 4, normalize: false });
    expect(validateEmbedOptions({ batchSize: 2 }, { batchSize: 4, normalize: false })).toEqual({
      batchSize: 2,
      normalize: false,
    });
    expect(() => validateEmbedOptions({ batchSize: 1000 }, { batchSize: 4, normalize: true })).toThrow(
      'batchSize must be an integer from 1 to 256; got 1000',
    );
  });

  it("importModel()'s role defaults to auto and lists the roles", () => {
    expect(DEFAULT_MODEL_IMPORT_OPTIONS).toEqual({ role: 'auto' });
    expect(validateModelImportOptions()).toEqual({ role: 'auto' });
    expect(validateModelImportOptions({ role: 'classifier' })).toEqual({ role: 'classifier' });
    expect(() => validateModelImportOptions({ role: 'head' as never })).toThrow(
      'role must be one of auto, embedder, classifier; got "head"',
    );
  });
});

describe('fine-tuning options', () => {
  it("fill PP-ShiTu v1's head and the documented defaults", () => {
    const o = validateFineTuneOptions();
    expect(o).toEqual({ ...DEFAULT_FINE_TUNE_OPTIONS, learningRate: DEFAULT_LEARNING_RATE.adam });
    expect(o).toMatchObject({
      epochs: 40,
      batchSize: 32,
      optimizer: 'adam',
      learningRate: 0.001,
      warmupEpochs: 2,
      validationFraction: 0.2,
      tripletWeight: 1,
    });
    expect(DEFAULT_ARC_MARGIN).toEqual({ scale: 30, margin: 0.2, easyMargin: false });
    expect(validateFineTuneOptions({ optimizer: 'momentum' }).learningRate).toBe(0.05);
    expect(validateFineTuneOptions({ arcMargin: { margin: 0.3 } }).arcMargin).toEqual({
      scale: 16,
      margin: 0.3,
      easyMargin: false,
    });
  });

  it('refuse a bad value, naming the valid ones', () => {
    const bad = (o: object) => () => validateFineTuneOptions(o);
    expect(bad({ optimizer: 'sgd' })).toThrow('optimizer must be one of adam, momentum; got "sgd"');
    expect(bad({ epochs: 1.5 })).toThrow(`epochs must be an integer from 1 to ${FINE_TUNE_LIMITS.epochs.max}; got 1.5`);
    expect(bad({ learningRate: Number.NaN })).toThrow('learningRate must be a number from 1e-7 to 10; got null');
    expect(bad({ epochs: 3, warmupEpochs: 4 })).toThrow('warmupEpochs must be a number from 0 to 3; got 4');
    expect(bad({ seed: -1 })).toThrow('seed must be an integer from 0 to 2147483647; got -1');
    expect(bad({ arcMargin: { margin: 2 } })).toThrow(/^arcMargin\.margin must be a number from 0 to 1\.57/);
    expect(bad({ trainNeck: 'no' })).toThrow('trainNeck must be true or false; got "no"');
    expect(bad({ arcMargin: { easyMargin: 1 } })).toThrow('arcMargin.easyMargin must be true or false; got 1');
  });

  it('every default lies inside its own limits', () => {
    for (const [key, limit] of Object.entries(FINE_TUNE_LIMITS)) {
      const [head, tail] = key.split('.') as [string, string | undefined];
      const value = tail
        ? (DEFAULT_FINE_TUNE_OPTIONS as unknown as Record<string, Record<string, number>>)[head]![tail]!
        : key === 'learningRate'
          ? DEFAULT_LEARNING_RATE.adam
          : (DEFAULT_FINE_TUNE_OPTIONS as unknown as Record<string, number>)[key]!;
      expect(value, key).toBeGreaterThanOrEqual(limit.min);
      expect(value, key).toBeLessThanOrEqual(limit.max);
    }
  });
});
