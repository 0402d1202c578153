/** save_combine bytes handed over as a Node Buffer (a view into Node's shared pool) read the same as a Uint8Array. */
import { describe, expect, it } from 'vitest';
import { readPaddleParams } from '../../src/model/convert/paddle/paddle-params.ts';
import { writePaddleParams } from '../../src/model/export/paddle-params-writer.ts';

describe('readPaddleParams on a Node Buffer', () => {
  it('reads fp32 records from a pooled Buffer (byteOffset != 0) exactly', () => {
    const tensors = [
      { dims: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { dims: [3], data: [-0.5, 0.25, 7] },
    ];
    const bytes = writePaddleParams(tensors);
    // Buffer.from(...) of a small array lands in Node's shared pool: its byteOffset is usually not 0.
    const pooled = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(bytes)]).subarray(3);
    expect(pooled.byteOffset).not.toBe(0);
    const read = readPaddleParams(pooled);
    expect(read.map((t) => [...t.data])).toEqual(tensors.map((t) => t.data));
  });
});
