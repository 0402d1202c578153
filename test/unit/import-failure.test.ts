import { describe, expect, it } from 'vitest';
import { explainImportFailure } from '../../src/ui/import-failure.ts';

describe('explainImportFailure', () => {
  it('a missing weights file is a file-set problem, with the folder advice', () => {
    const f = explainImportFailure(
      'inference.pdmodel needs its weights file (inference.pdiparams): choose a model folder, or: one .onnx file',
      ['inference.pdmodel'],
    );
    expect(f.headline).toBe('inference.pdmodel is not a complete model.');
    expect(f.advice).toMatch(/whole model folder/);
  });

  it('a damaged file says so and keeps the exact message as details', () => {
    const msg = 'model.onnx: ModelProto at byte 1234: field 7 has wire type 3';
    const f = explainImportFailure(msg, ['model.onnx']);
    expect(f.headline).toBe(
      'A file could not be read: model.onnx may be damaged, or not the kind of file its name says.',
    );
    expect(f.details).toBe(msg);
  });

  it('a network mismatch is explained without the node names, which stay in the details', () => {
    const msg = 'backbone.blocks3.0: expected a Conv node, found MaxPool "pool_3".';
    const f = explainImportFailure(msg, ['a.onnx']);
    expect(f.headline).toBe("This model's network is not one ShiTu Web can run.");
    expect(f.headline + f.advice).not.toMatch(/backbone|Conv node|MaxPool/);
    expect(f.details).toBe(msg);
  });
});
