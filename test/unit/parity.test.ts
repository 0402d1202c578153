import { describe, expect, it } from 'vitest';
import { meetsBar, runParity } from '../../scripts/parity.ts';

// The `npm run parity` pipeline, small: a paddle2onnx-style ONNX file run by ONNX Runtime, against the same
// file converted by this project and embedded by the Node engine. The full run adds scales and browsers.
describe('parity with ONNX Runtime (Node cpu)', () => {
  it('x0.25: fp32 within 1e-4, fp16 cosine at least 0.9999', async () => {
    const rows = await runParity({ scales: [0.25], backends: ['cpu'], images: 2, log: () => undefined });
    expect(rows.map((r) => r.dtype)).toEqual(['fp32', 'fp16']);
    for (const r of rows) expect(meetsBar(r), JSON.stringify(r)).toBe(true);
    expect(rows[0]!.maxAbsDiff).toBeLessThan(1e-5);
  });
});
