import { describe, expect, it } from 'vitest';
import { embeddingsToCsv, embeddingsToJson, embeddingsToNpy } from '../../src/core/export-formats.ts';

const rows = [
  { name: 'cat.jpg', embedding: Float32Array.from([0.1, -0.25, 1 / 3]) },
  { name: 'a, "quoted" é.png', embedding: Float32Array.from([0, 1, -1e-8]) },
];

describe('embedding exports', () => {
  it('JSON keeps names, width and values', () => {
    const j = JSON.parse(embeddingsToJson(rows, 'default'));
    expect(j.model).toBe('default');
    expect(j.dim).toBe(3);
    expect(j.embeddings[1].name).toBe('a, "quoted" é.png');
    expect(Float32Array.from(j.embeddings[0].embedding)).toEqual(rows[0]!.embedding);
  });

  it('CSV quotes names that need it and reads back to the same float32 values', () => {
    const csv = embeddingsToCsv(rows);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('name,e0,e1,e2');
    expect(lines[2]!.startsWith('"a, ""quoted"" é.png",')).toBe(true);
    const values = lines[1]!.split(',').slice(1).map(Number);
    expect(Float32Array.from(values)).toEqual(rows[0]!.embedding);
  });

  it('.npy is a version 1.0 structured array with 64-byte aligned header', () => {
    const npy = embeddingsToNpy(rows);
    expect(Array.from(npy.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = new DataView(npy.buffer).getUint16(8, true);
    expect((10 + headerLen) % 64).toBe(0);
    const header = new TextDecoder().decode(npy.subarray(10, 10 + headerLen));
    expect(header).toMatch(
      /^\{'descr': \[\('name', '<U17'\), \('embedding', '<f4', \(3,\)\)\], 'fortran_order': False, 'shape': \(2,\), \} *\n$/,
    );
    const view = new DataView(npy.buffer, 10 + headerLen);
    const record = 17 * 4 + 3 * 4;
    expect(npy.byteLength).toBe(10 + headerLen + 2 * record);
    expect(String.fromCodePoint(...Array.from({ length: 3 }, (_, k) => view.getUint32(k * 4, true)))).toBe('cat');
    expect(view.getFloat32(17 * 4 + 4, true)).toBe(rows[0]!.embedding[1]);
    expect(view.getUint32(record + 12 * 4, true)).toBe('é'.codePointAt(0));
  });

  it('refuses rows of different widths, naming the row', () => {
    expect(() => embeddingsToCsv([...rows, { name: 'short', embedding: [1] }])).toThrow(
      'embedding 2 ("short") has 1 values, the first has 3',
    );
  });
});
