/**
 * Every pair of rows whose cosine reaches a threshold, over all N (N - 1) / 2 pairs: the near-duplicate
 * search's O(N² D) part. The rows, normalised, are scanned in float32 by a WebAssembly SIMD kernel
 * (./dot-block-wasm.ts) where the engine compiles it, else by the same blocked loop in JavaScript; each pair
 * that comes within a rounding margin of the threshold is then scored again exactly by cosineSimilarity
 * (float64), and that score decides. The result is therefore the exact set, whichever kernel ran.
 */
import { cosineSimilarity } from '../similarity.ts';
import { dotBlockWasm } from './dot-block-wasm.ts';

export type PairScanKernel = 'wasm-simd' | 'js';

export interface PairScanOptions {
  /** 'auto' (default): WebAssembly SIMD when it compiles (not under a CSP without 'wasm-unsafe-eval'), else JavaScript. */
  readonly kernel?: 'auto' | PairScanKernel;
}

export interface PairScanResult {
  /** Pair p is rows first[p] < second[p], in scan order (by first, then second). */
  readonly first: Int32Array;
  readonly second: Int32Array;
  /** cosineSimilarity of the pair, >= the threshold. */
  readonly scores: Float64Array;
  readonly kernel: PairScanKernel;
}

type DotBlock = (a: number, b: number, count: number, rowBytes: number, out: number) => void;

const PAGE = 65_536;
let compiled: WebAssembly.Module | null | undefined;

function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = dotBlockWasm();
      compiled =
        typeof WebAssembly === 'object' && WebAssembly.validate(bytes as BufferSource)
          ? new WebAssembly.Module(bytes as BufferSource)
          : null;
    } catch {
      compiled = null; // no SIMD, or compiling refused (Content-Security-Policy)
    }
  }
  return compiled;
}

/**
 * Rows must be of one length, finite and non-zero (the caller checks, naming the offending entry). The
 * rounding margin, 4 D 2^-24 (at least 1e-4), is above the float32 kernel's worst error on unit vectors: the
 * values rounded to float32, each product rounded, D / 4 terms summed per lane and four lanes added, each step
 * off by at most 2^-24 of a sum of |a_k b_k| <= 1.
 */
export function pairsAtLeast(
  rows: readonly ArrayLike<number>[],
  threshold: number,
  options: PairScanOptions = {},
): PairScanResult {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  const stride = Math.ceil(d / 4) * 4; // floats a row; 16-byte rows for v128 loads
  const padded = Math.ceil(n / 4) * 4; // rows, zero rows completing the last block of four
  const rowsBytes = padded * stride * 4;
  const outBytes = 4 * Math.max(n, 1) * 4;
  const margin = Math.max(1e-4, 4 * d * 2 ** -24);
  const cut = threshold - margin;

  const module = options.kernel === 'js' ? null : wasmModule();
  if (options.kernel === 'wasm-simd' && !module)
    throw new Error('pairsAtLeast: WebAssembly SIMD is not available here');
  let buffer: ArrayBuffer;
  let dotBlock: DotBlock;
  if (module) {
    const memory = new WebAssembly.Memory({ initial: Math.ceil((rowsBytes + outBytes) / PAGE) });
    dotBlock = (new WebAssembly.Instance(module, { env: { memory } }).exports as { dot_block: DotBlock }).dot_block;
    buffer = memory.buffer;
  } else {
    buffer = new ArrayBuffer(rowsBytes + outBytes);
    dotBlock = jsDotBlock(new Float32Array(buffer));
  }
  const packed = new Float32Array(buffer, 0, padded * stride);
  rows.forEach((r, i) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += r[k]! * r[k]!;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < d; k++) packed[i * stride + k] = r[k]! * inv;
  });
  const out = new Float32Array(buffer, rowsBytes, 4 * Math.max(n, 1));

  const first: number[] = [];
  const second: number[] = [];
  const scores: number[] = [];
  const rowBytes = stride * 4;
  for (let i = 0; i < n; i += 4) {
    // Rows i..i+3 against every row after i; pairs inside the block are read once, from the lower row.
    const count = n - i - 1;
    if (count <= 0) break;
    dotBlock(i * rowBytes, (i + 1) * rowBytes, count, rowBytes, rowsBytes);
    for (let r = 0; r < 4 && i + r < n; r++) {
      const a = i + r;
      for (let t = r; t < count; t++) {
        if (out[4 * t + r]! < cut) continue;
        const b = i + 1 + t;
        const score = cosineSimilarity(rows[a]!, rows[b]!);
        if (score < threshold) continue;
        first.push(a);
        second.push(b);
        scores.push(score);
      }
    }
  }
  return {
    first: Int32Array.from(first),
    second: Int32Array.from(second),
    scores: Float64Array.from(scores),
    kernel: module ? 'wasm-simd' : 'js',
  };
}

/** dot_block in JavaScript, over the same memory layout. */
function jsDotBlock(mem: Float32Array): DotBlock {
  return (a, b, count, rowBytes, out) => {
    const stride = rowBytes / 4;
    const a0 = a / 4;
    const a1 = a0 + stride;
    const a2 = a1 + stride;
    const a3 = a2 + stride;
    let o = out / 4;
    for (let j = 0, bj = b / 4; j < count; j++, bj += stride, o += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < stride; k++) {
        const x = mem[bj + k]!;
        s0 += mem[a0 + k]! * x;
        s1 += mem[a1 + k]! * x;
        s2 += mem[a2 + k]! * x;
        s3 += mem[a3 + k]! * x;
      }
      mem[o] = s0;
      mem[o + 1] = s1;
      mem[o + 2] = s2;
      mem[o + 3] = s3;
    }
  };
}
