import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/core/errors.ts';
import { MAX_WORKERS, resolveWorkers, validateWorkers } from '../../src/core/options.ts';

describe('workers', () => {
  it('accepts "auto" and 1..MAX_WORKERS, and lists the valid values otherwise', () => {
    expect(validateWorkers('auto')).toBe('auto');
    expect(validateWorkers(3)).toBe(3);
    for (const bad of [0, 1.5, MAX_WORKERS + 1, '2', null]) {
      expect(() => validateWorkers(bad)).toThrow(OptionsError);
      expect(() => validateWorkers(bad)).toThrow(
        `workers must be "auto" or an integer from 1 to ${MAX_WORKERS}; got ${JSON.stringify(bad)}`,
      );
    }
  });

  it('auto: one per core on WASM / cpu, bounded by memory; one on a GPU backend; a number is kept', () => {
    expect(resolveWorkers('auto', 'wasm', { cores: 8, memoryGiB: 8 })).toBe(8);
    expect(resolveWorkers('auto', 'cpu', { cores: 2, memoryGiB: undefined })).toBe(2);
    // A quarter of 1 GiB holds one 160 MiB worker.
    expect(resolveWorkers('auto', 'wasm', { cores: 16, memoryGiB: 1 })).toBe(1);
    expect(resolveWorkers('auto', 'wasm', { cores: undefined, memoryGiB: 8 })).toBe(1);
    expect(resolveWorkers('auto', 'webgpu', { cores: 16, memoryGiB: 8 })).toBe(1);
    expect(resolveWorkers('auto', 'webgl', { cores: 16, memoryGiB: 8 })).toBe(1);
    expect(resolveWorkers(4, 'webgpu', { cores: 1, memoryGiB: 1 })).toBe(4);
  });
});
