/**
 * Little-endian byte reading and writing for the exchange formats. The reader checks every length against the
 * file, so a truncated or foreign file fails with the file's name and the offset instead of a RangeError.
 */
import { GalleryFormatError } from '../errors.ts';

/** "1 byte", "8 bytes". */
export const byteCount = (n: number): string => (n === 1 ? '1 byte' : `${n} bytes`);

export class ByteReader {
  private readonly view: DataView;
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** The file's name as the user knows it ("vector.index"), for messages. */
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get left(): number {
    return this.bytes.length - this.pos;
  }

  fail(reason: string, at = this.pos): never {
    throw new GalleryFormatError(`${this.file}: ${reason} (at byte ${at})`);
  }

  /** Moves past `n` bytes and returns where they start. */
  private take(n: number, what: string): number {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.left) {
      this.fail(`truncated: ${what} needs ${byteCount(n)}, ${this.left} ${this.left === 1 ? 'is' : 'are'} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  f32(what: string): number {
    return this.view.getFloat32(this.take(4, what), true);
  }

  /** An int64 that must fit a JavaScript number exactly (ids, counts). */
  i64(what: string): number {
    const at = this.take(8, what);
    const v = this.view.getBigInt64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`${what} is ${v}, beyond the integers this reader handles exactly`, at);
    }
    return Number(v);
  }

  /** A uint64 size or count (C's size_t on the 64-bit machines faiss runs on). */
  u64(what: string): number {
    const at = this.take(8, what);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, more than any file can hold`, at);
    return Number(v);
  }

  /** `n` bytes, as a view into the file (not a copy). */
  raw(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.bytes.subarray(at, at + n);
  }

  /** `n` little-endian float32 values, copied. */
  f32s(n: number, what: string): Float32Array {
    const at = this.take(n * 4, what);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getFloat32(at + i * 4, true);
    return out;
  }

  /** `n` little-endian int64 values that each fit a number exactly. */
  i64s(n: number, what: string): number[] {
    if (!Number.isSafeInteger(n) || n < 0 || n * 8 > this.left) {
      this.fail(`truncated: ${what} needs ${byteCount(n * 8)}, ${this.left} ${this.left === 1 ? 'is' : 'are'} left`);
    }
    return Array.from({ length: n }, () => this.i64(what));
  }

  /** Four bytes as text when they are printable ASCII (a faiss fourcc), else null. */
  fourcc(what: string): { code: number; text: string | null } {
    const at = this.take(4, what);
    const b = this.bytes.subarray(at, at + 4);
    const printable = Array.from(b).every((c) => c >= 0x20 && c < 0x7f);
    return { code: this.view.getUint32(at, true), text: printable ? String.fromCharCode(...b) : null };
  }
}

/** A growable little-endian buffer. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private length = 0;

  /** Reserves `n` bytes and returns their offset. Call it before reading `this.view` or `this.buf`: it may replace them. */
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.view.setUint8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
    return this;
  }
  i32(v: number): this {
    const at = this.room(4);
    this.view.setInt32(at, v, true);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
    return this;
  }
  i64(v: number): this {
    const at = this.room(8);
    this.view.setBigInt64(at, BigInt(v), true);
    return this;
  }
  u64(v: number): this {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt(v), true);
    return this;
  }
  f32(v: number): this {
    const at = this.room(4);
    this.view.setFloat32(at, v, true);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }
  ascii(s: string): this {
    const at = this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[at + i] = s.charCodeAt(i);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
