/**
 * Vectors stored compactly: one int8 row per vector (padded to 16 bytes) in a kernel's memory, and its
 * scale in a Float32Array, addressed by slot 0..size-1 with no holes: removing a row moves the last row
 * into its place, so a full scan is one pass over contiguous memory. Scores are cosines when the vectors
 * and the query are L2-normalised: q . v ~ (int16 q . int8 v) * qScale * scale[v].
 */
import { createDotKernel, type DotKernel } from './dot-kernel.ts';
import { INT16_MAX, INT8_MAX, quantizeInto } from './quantize.ts';

/** Rows per kernel call; the scratch buffers hold this many scores and slots. */
export const BLOCK = 4096;
/** The longest vector the scratch area holds. */
export const MAX_DIM = 8192;

const QUERY = 0;
const OUT = QUERY + MAX_DIM * 2;
const SLOTS = OUT + BLOCK * 4;
const CODES = SLOTS + BLOCK * 4;

export class Int8Slab {
  /** Bytes per row: the dimension rounded up to the kernel's 16-byte chunks. */
  readonly stride: number;
  /** The query's int16 range: large enough to be exact, small enough that no int32 sum overflows. */
  readonly queryMax: number;
  private rows = 0;
  private capacity = 0;
  private scales = new Float32Array(0);
  private queryScale = 0;
  private readonly kernel: DotKernel;
  private views: { buffer: ArrayBuffer; codes: Int8Array; query: Int16Array; out: Int32Array; slots: Int32Array };

  constructor(
    readonly dim: number,
    kernel: 'wasm-simd' | 'js' = 'wasm-simd',
    initialCapacity = 1024,
  ) {
    if (!Number.isInteger(dim) || dim < 1 || dim > MAX_DIM)
      throw new RangeError(`Int8Slab: the dimension must be an integer from 1 to ${MAX_DIM}; got ${dim}`);
    this.stride = Math.ceil(dim / 16) * 16;
    this.queryMax = Math.min(INT16_MAX, Math.floor((2 ** 31 - 1) / (INT8_MAX * this.stride)));
    this.kernel = createDotKernel(CODES + initialCapacity * this.stride, kernel);
    this.views = this.makeViews();
    this.reserve(initialCapacity);
  }

  get size(): number {
    return this.rows;
  }

  get kernelKind(): DotKernel['kind'] {
    return this.kernel.kind;
  }

  /** Bytes of the stored vectors: the rows reserved and their scales. */
  get bytes(): number {
    return this.capacity * (this.stride + 4);
  }

  private makeViews() {
    const buffer = this.kernel.buffer();
    return {
      buffer,
      codes: new Int8Array(buffer, CODES),
      query: new Int16Array(buffer, QUERY, MAX_DIM),
      out: new Int32Array(buffer, OUT, BLOCK),
      slots: new Int32Array(buffer, SLOTS, BLOCK),
    };
  }

  /** Views on the kernel's memory, made again after it grew. */
  private get v() {
    if (this.views.buffer !== this.kernel.buffer() || this.views.buffer.byteLength === 0) this.views = this.makeViews();
    return this.views;
  }

  /** Room for `rows` rows; grows by half again at least, so appends cost amortised O(1). */
  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = Math.max(rows, Math.ceil(this.capacity * 1.5), 1024);
    this.kernel.ensure(CODES + capacity * this.stride);
    const scales = new Float32Array(capacity);
    scales.set(this.scales.subarray(0, this.rows));
    this.scales = scales;
    this.capacity = capacity;
  }

  /** Forgets every row (the memory stays reserved). */
  clear(): void {
    this.rows = 0;
  }

  /** Appends a vector (quantised here) and returns its slot. */
  add(vector: ArrayLike<number>): number {
    this.checkLength(vector.length);
    this.reserve(this.rows + 1);
    const slot = this.rows++;
    this.write(slot, vector);
    return slot;
  }

  /** Appends a row already quantised (read back from storage). */
  addCode(code: ArrayLike<number>, scale: number): number {
    this.checkLength(code.length);
    this.reserve(this.rows + 1);
    const slot = this.rows++;
    const at = slot * this.stride;
    const codes = this.v.codes;
    for (let i = 0; i < code.length; i++) codes[at + i] = code[i]!;
    codes.fill(0, at + code.length, at + this.stride);
    this.scales[slot] = scale;
    return slot;
  }

  /** Overwrites a row in place. */
  write(slot: number, vector: ArrayLike<number>): void {
    this.checkLength(vector.length);
    const at = slot * this.stride;
    const codes = this.v.codes;
    this.scales[slot] = quantizeInto(vector, codes, at, INT8_MAX);
    codes.fill(0, at + vector.length, at + this.stride);
  }

  /** Removes a row: the last row moves into its place. Returns the slot that moved, or -1 (it was last). */
  removeSwap(slot: number): number {
    const last = --this.rows;
    if (slot === last) return -1;
    const codes = this.v.codes;
    codes.copyWithin(slot * this.stride, last * this.stride, (last + 1) * this.stride);
    this.scales[slot] = this.scales[last]!;
    return last;
  }

  scale(slot: number): number {
    return this.scales[slot]!;
  }

  /** A copy of the row's codes (the dimension's length, without padding). */
  code(slot: number): Int8Array {
    const at = slot * this.stride;
    return this.v.codes.slice(at, at + this.dim);
  }

  /** The stored vector as floats: the original up to max|v| / 254 per value. */
  decode(slot: number, out = new Float32Array(this.dim)): Float32Array {
    const at = slot * this.stride;
    const codes = this.v.codes;
    const s = this.scales[slot]!;
    for (let i = 0; i < this.dim; i++) out[i] = codes[at + i]! * s;
    return out;
  }

  /** Sets the query of the next scores (quantised to int16). */
  setQuery(query: ArrayLike<number>): void {
    this.checkLength(query.length);
    const q = this.v.query;
    this.queryScale = quantizeInto(query, q, 0, this.queryMax);
    q.fill(0, query.length, this.stride);
  }

  /** Sets the query to row `slot` of `source` (same dimension), without a round trip through floats. */
  setQueryFromRow(source: Int8Slab, slot: number): void {
    this.checkLength(source.dim);
    const q = this.v.query;
    const codes = source.v.codes;
    const at = slot * source.stride;
    const factor = Math.floor(this.queryMax / INT8_MAX);
    for (let i = 0; i < this.dim; i++) q[i] = codes[at + i]! * factor;
    q.fill(0, this.dim, this.stride);
    this.queryScale = source.scales[slot]! / factor;
  }

  /** Scores of rows first..first+count-1 (count <= BLOCK) against the query, into out[0..count). */
  scoreRange(first: number, count: number, out: Float32Array): void {
    const v = this.v;
    this.kernel.dotRange(QUERY, CODES + first * this.stride, this.stride, count, OUT);
    const qs = this.queryScale;
    const dots = v.out;
    const scales = this.scales;
    for (let r = 0; r < count; r++) out[r] = dots[r]! * qs * scales[first + r]!;
  }

  /** Scores of the rows slots[from..from+count) (count <= BLOCK) against the query, into out[0..count). */
  scoreSlots(slots: Int32Array, from: number, count: number, out: Float32Array): void {
    const v = this.v;
    v.slots.set(slots.subarray(from, from + count));
    this.kernel.dotSlots(QUERY, CODES, this.stride, SLOTS, count, OUT);
    const qs = this.queryScale;
    const dots = v.out;
    const scales = this.scales;
    for (let r = 0; r < count; r++) out[r] = dots[r]! * qs * scales[slots[from + r]!]!;
  }

  private checkLength(n: number): void {
    if (n !== this.dim) throw new RangeError(`vector index: a vector has ${n} values, the index ${this.dim}`);
  }
}
