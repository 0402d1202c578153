/** The vector index's building blocks: the WebAssembly kernel against plain loops, quantisation bounds, top-k. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { createDotKernel } from '../../src/core/vector-index/dot-kernel.ts';
import { dotKernelWasm } from '../../src/core/vector-index/dot-kernel-wasm.ts';
import { Int8Slab } from '../../src/core/vector-index/int8-slab.ts';
import {
  dequantizeInt8,
  fromFloat16Bits,
  quantizeInt8,
  roundTripFloat16,
  toFloat16Bits,
} from '../../src/core/vector-index/quantize.ts';
import { TopK } from '../../src/core/vector-index/top-k.ts';

const randomVector = (dim: number, random: () => number) => {
  const v = Float32Array.from({ length: dim }, () => random() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

describe('dot kernel', () => {
  it('is a valid module, small enough for a synchronous compile on a page (4 KiB)', () => {
    expect(WebAssembly.validate(dotKernelWasm())).toBe(true);
    expect(dotKernelWasm().length).toBeLessThan(4096);
    expect(createDotKernel(1 << 16).kind).toBe('wasm-simd');
  });

  it('gives exactly the int32 dot products of plain loops, by range and by slots, for every row count', () => {
    const random = mulberry32(7);
    for (const kind of ['wasm-simd', 'js'] as const) {
      const stride = 48;
      const rows = 23;
      const k = createDotKernel(1 << 16, kind);
      const mem = k.buffer();
      const q = new Int16Array(mem, 0, stride);
      const codes = new Int8Array(mem, 1024, rows * stride);
      const slots = new Int32Array(mem, 8192, rows);
      const out = new Int32Array(mem, 16384, rows);
      for (let i = 0; i < stride; i++) q[i] = Math.round((random() * 2 - 1) * 32767);
      for (let i = 0; i < codes.length; i++) codes[i] = Math.round((random() * 2 - 1) * 127);
      for (let i = 0; i < rows; i++) slots[i] = (i * 5) % rows;
      const dot = (r: number) => {
        let s = 0;
        for (let i = 0; i < stride; i++) s += q[i]! * codes[r * stride + i]!;
        return s;
      };
      for (let count = 0; count <= rows; count++) {
        out.fill(-1);
        k.dotRange(0, 1024, stride, count, 16384);
        expect([...out.subarray(0, count)]).toEqual(Array.from({ length: count }, (_, r) => dot(r)));
        expect(out[count] ?? -1).toBe(-1); // nothing written past `count`
        k.dotSlots(0, 1024, stride, 8192, count, 16384);
        expect([...out.subarray(0, count)]).toEqual(Array.from({ length: count }, (_, r) => dot(slots[r]!)));
      }
    }
  });

  it('cannot overflow: the query range shrinks with the dimension', () => {
    const slab = new Int8Slab(4096);
    expect(slab.queryMax * 127 * slab.stride).toBeLessThan(2 ** 31);
    const v = new Float32Array(4096).fill(1);
    slab.add(v);
    slab.setQuery(v);
    const out = new Float32Array(1);
    slab.scoreRange(0, 1, out);
    expect(out[0]).toBeCloseTo(4096, 0);
  });
});

describe('quantisation', () => {
  it('int8: every value within max|v| / 254 of the original', () => {
    const random = mulberry32(3);
    for (let t = 0; t < 50; t++) {
      const v = randomVector(512, random);
      const { code, scale } = quantizeInt8(v);
      const back = dequantizeInt8(code, scale);
      const max = Math.max(...v.map(Math.abs));
      for (let i = 0; i < v.length; i++) expect(Math.abs(back[i]! - v[i]!)).toBeLessThanOrEqual(max / 254 + 1e-7);
    }
    expect(quantizeInt8(new Float32Array(8)).scale).toBe(0);
  });

  it('int8 scores: a cosine off by at most sum|q| * max|v| / 254', () => {
    const random = mulberry32(4);
    const slab = new Int8Slab(512);
    const vs = Array.from({ length: 200 }, () => randomVector(512, random));
    for (const v of vs) slab.add(v);
    const q = randomVector(512, random);
    slab.setQuery(q);
    const out = new Float32Array(200);
    slab.scoreRange(0, 200, out);
    const l1 = q.reduce((s, x) => s + Math.abs(x), 0);
    vs.forEach((v, r) => {
      const exact = v.reduce((s, x, i) => s + x * q[i]!, 0);
      const bound = (l1 * Math.max(...v.map(Math.abs))) / 254 + 1e-4;
      expect(Math.abs(out[r]! - exact)).toBeLessThanOrEqual(bound);
    });
  });

  it('fp16: known bit patterns, and a relative error of at most 2^-11 for normal values', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(1);
    expect(fromFloat16Bits(0x3555)).toBeCloseTo(0.33325, 5);
    const random = mulberry32(5);
    const v = randomVector(512, random);
    const back = roundTripFloat16(v);
    for (let i = 0; i < v.length; i++) {
      if (Math.abs(v[i]!) < 2 ** -14) continue;
      expect(Math.abs(back[i]! - v[i]!) / Math.abs(v[i]!)).toBeLessThanOrEqual(2 ** -11);
    }
  });
});

describe('TopK', () => {
  it('keeps the k best, best first, the earlier of equal scores ahead', () => {
    const top = new TopK(3);
    top.pushBlock(Float32Array.of(0.1, 0.5, 0.3, 0.5, 0.9, 0.2), 6, 10);
    expect([...top.slots]).toEqual([14, 11, 13]);
    expect([...top.scores].map((s) => Math.round(s * 10) / 10)).toEqual([0.9, 0.5, 0.5]);
    expect(() => new TopK(0)).toThrow('TopK: k must be a positive integer; got 0');
  });
});
