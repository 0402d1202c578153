/** Typed errors across the worker boundary: rebuilt from comlink's { name, message }, else 'internal'. */
import { describe, expect, it } from 'vitest';
import {
  asEmbedderError,
  DisposedError,
  EmbedderError,
  errorCodeOf,
  InternalError,
  OptionsError,
  restoreError,
  WeightsError,
} from '../../src/core/errors.ts';

describe('restoreError', () => {
  it('rebuilds the typed class from a plain { name, message }, code included', () => {
    const e = restoreError({ name: 'WeightsError', message: 'shard 2: checksum mismatch' });
    expect(e).toBeInstanceOf(WeightsError);
    expect(e).toMatchObject({ code: 'weights', message: 'shard 2: checksum mismatch', name: 'WeightsError' });
    expect(restoreError(Object.assign(new Error('gone'), { name: 'DisposedError' }))).toBeInstanceOf(DisposedError);
    expect(restoreError({ name: 'InternalError', message: 'x' }).code).toBe('internal');
  });

  it('restores anything else as an InternalError (code "internal") keeping the original as its cause', () => {
    const original = new TypeError("Cannot read properties of undefined (reading 'data')");
    const e = restoreError(original);
    expect(e).toBeInstanceOf(InternalError);
    expect(e).toBeInstanceOf(EmbedderError);
    expect(e.code).toBe('internal');
    expect(e.message).toBe(original.message);
    expect((e as Error & { cause?: unknown }).cause).toBe(original);
    expect(restoreError('worker crashed')).toMatchObject({ code: 'internal', message: 'worker crashed' });
    // A name that merely looks like a class on Object.prototype is not one.
    expect(restoreError({ name: 'toString', message: 'm' }).code).toBe('internal');
  });

  it('passes typed errors through unchanged', () => {
    const e = new OptionsError('batchSize must be …');
    expect(restoreError(e)).toBe(e);
  });
});

describe('errorCodeOf / asEmbedderError', () => {
  it("is the error's own code when it is a known one, else 'internal'", () => {
    expect(errorCodeOf(new DisposedError('x'))).toBe('disposed');
    expect(errorCodeOf({ code: 'image-decode' })).toBe('image-decode');
    expect(errorCodeOf({ code: 'ENOENT' })).toBe('internal');
    expect(errorCodeOf(new Error('x'))).toBe('internal');
    expect(errorCodeOf(undefined)).toBe('internal');
    expect(asEmbedderError(new RangeError('r'))).toMatchObject({ code: 'internal', message: 'r' });
  });
});
