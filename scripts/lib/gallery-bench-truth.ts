/**
 * The benchmark's ground truth: the exact fp32 top-k of each query over every gallery vector, as the
 * vectors stream past in chunks (a million 512-d fp32 vectors would be 2 GB at once). The dot products run
 * in a small WebAssembly SIMD kernel (fp32, four queries per pass over a row, the row read once from memory
 * for all queries), so 100 queries over 1M vectors take seconds, not the minute plain loops would.
 */
import { assembleModule, I32, op, uleb, V128 } from '../../src/core/wasm-assembler.ts';

const f32x4Add = [0xfd, 0xe4, 0x01];
const f32x4Mul = [0xfd, 0xe6, 0x01];
const f32x4ExtractLane = (lane: number) => [0xfd, 0x1f, lane];
const f32Add = [0x92];
const f32Store = (offset: number) => [0x38, 2, ...uleb(offset)];
const i32LtU = [0x49];

/**
 * cross(q, nq, rows, nrows, bytes, out): out[r * nq + j] = q_j . row_r for nq queries (a multiple of 4) and
 * nrows rows, every vector `bytes` long (a multiple of 16). Four queries per pass share each load of a row.
 */
function crossBody(): number[] {
  // params: q 0, nq 1, rows 2, nrows 3, bytes 4, out 5
  // locals: p 6 (row pointer), end 7, r 8, j 9, q0..q3 10..13, acc 14..17 (v128), x 18 (v128)
  const b: number[] = [];
  const loopWhileLess = (a: number, limit: number) => [...op.get(a), ...op.get(limit), ...i32LtU, ...op.brIf(0)];
  b.push(...op.i32Const(0), ...op.set(8));
  b.push(...op.loop); // rows
  b.push(...op.i32Const(0), ...op.set(9));
  b.push(...op.loop); // groups of 4 queries
  for (let j = 0; j < 4; j++) {
    b.push(...op.get(0), ...op.get(9), ...op.i32Const(j), ...op.i32Add, ...op.get(4), ...op.i32Mul, ...op.i32Add);
    b.push(...op.set(10 + j), ...op.v128Zero, ...op.set(14 + j));
  }
  b.push(...op.get(2), ...op.get(8), ...op.get(4), ...op.i32Mul, ...op.i32Add, ...op.tee(6));
  b.push(...op.get(4), ...op.i32Add, ...op.set(7));
  b.push(...op.loop); // 4 values at a time
  b.push(...op.get(6), ...op.v128Load(0), ...op.set(18));
  for (let j = 0; j < 4; j++) {
    b.push(...op.get(10 + j), ...op.v128Load(0), ...op.get(18), ...f32x4Mul, ...op.get(14 + j), ...f32x4Add);
    b.push(...op.set(14 + j), ...op.get(10 + j), ...op.i32Const(16), ...op.i32Add, ...op.set(10 + j));
  }
  b.push(...op.get(6), ...op.i32Const(16), ...op.i32Add, ...op.set(6), ...loopWhileLess(6, 7));
  b.push(...op.end);
  for (let j = 0; j < 4; j++) {
    // out + 4 * (r * nq + j0 + j)
    b.push(...op.get(5), ...op.get(8), ...op.get(1), ...op.i32Mul, ...op.get(9), ...op.i32Add, ...op.i32Const(4));
    b.push(...op.i32Mul, ...op.i32Add);
    b.push(...op.get(14 + j), ...f32x4ExtractLane(0), ...op.get(14 + j), ...f32x4ExtractLane(1), ...f32Add);
    b.push(...op.get(14 + j), ...f32x4ExtractLane(2), ...f32Add, ...op.get(14 + j), ...f32x4ExtractLane(3), ...f32Add);
    b.push(...f32Store(4 * j));
  }
  b.push(...op.get(9), ...op.i32Const(4), ...op.i32Add, ...op.set(9), ...loopWhileLess(9, 1));
  b.push(...op.end);
  b.push(...op.get(8), ...op.i32Const(1), ...op.i32Add, ...op.set(8), ...loopWhileLess(8, 3));
  b.push(...op.end);
  return b;
}

export class ExactTruth {
  private readonly memory: WebAssembly.Memory;
  private readonly cross: (q: number, nq: number, rows: number, nrows: number, bytes: number, out: number) => void;
  private readonly queryCount: number;
  private readonly best: { id: Int32Array; score: Float64Array }[];
  private seen = 0;

  constructor(
    queries: Float32Array,
    readonly dim: number,
    readonly k: number,
    readonly chunkRows: number,
  ) {
    if (dim % 4 !== 0) throw new Error('ExactTruth: the dimension must be a multiple of 4');
    this.queryCount = queries.length / dim;
    const padded = Math.ceil(this.queryCount / 4) * 4;
    const bytes = 4 * (padded * dim + chunkRows * dim + chunkRows * padded) + 64;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const module = new WebAssembly.Module(
      assembleModule([
        {
          name: 'cross',
          params: 6,
          locals: [...new Array(8).fill(I32), ...new Array(5).fill(V128)],
          body: crossBody(),
        },
      ]),
    );
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.cross = instance.exports.cross as typeof this.cross;
    new Float32Array(this.memory.buffer, 0, queries.length).set(queries);
    this.best = Array.from({ length: this.queryCount }, () => ({
      id: new Int32Array(k).fill(-1),
      score: new Float64Array(k).fill(Number.NEGATIVE_INFINITY),
    }));
  }

  /** The next chunk of gallery vectors (ids continue from the previous chunk's). */
  add(chunk: Float32Array): void {
    const { dim, k } = this;
    const rows = chunk.length / dim;
    if (rows > this.chunkRows) throw new Error('ExactTruth: chunk larger than chunkRows');
    const padded = Math.ceil(this.queryCount / 4) * 4;
    const rowsAt = 4 * padded * dim;
    const outAt = rowsAt + 4 * this.chunkRows * dim;
    new Float32Array(this.memory.buffer, rowsAt, chunk.length).set(chunk);
    if (rows === 0) return;
    this.cross(0, padded, rowsAt, rows, 4 * dim, outAt);
    const out = new Float32Array(this.memory.buffer, outAt, rows * padded);
    for (let q = 0; q < this.queryCount; q++) {
      const b = this.best[q]!;
      let floor = b.score[k - 1]!;
      for (let r = 0; r < rows; r++) {
        const s = out[r * padded + q]!;
        if (s <= floor) continue;
        let i = k - 1;
        while (i > 0 && s > b.score[i - 1]!) {
          b.score[i] = b.score[i - 1]!;
          b.id[i] = b.id[i - 1]!;
          i--;
        }
        b.score[i] = s;
        b.id[i] = this.seen + r;
        floor = b.score[k - 1]!;
      }
    }
    this.seen += rows;
  }

  /** Query q's exact top-k vector numbers (0-based, in the order added), best first. */
  topK(q: number): Int32Array {
    return this.best[q]!.id;
  }
}
