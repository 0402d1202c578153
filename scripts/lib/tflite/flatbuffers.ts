/**
 * Just enough of a FlatBuffers reader for the TFLite schema: tables through their vtables, scalars with their
 * schema defaults, strings, vectors of scalars and of tables. No generated code and no dependency.
 *
 * The wire format (flatbuffers.dev/internals): little-endian; a buffer starts with a uoffset to the root table;
 * a table starts with an soffset back to its vtable ([vtable bytes u16, table bytes u16, one u16 per field, 0
 * when absent]); a field holding a table, vector or string holds a uoffset, relative to the field, to it; a
 * vector or string is a u32 count followed by the elements. Every read is bounds-checked, so a truncated or
 * corrupted file fails with a message instead of reading garbage.
 */
import { TfliteFormatError } from './errors.ts';

export class FlatBuffer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(
    bytes: Uint8Array,
    private readonly source = 'flatbuffer',
  ) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The 4-character file identifier after the root offset ("TFL3" for TFLite), or '' if too short. */
  identifier(): string {
    if (this.bytes.length < 8) return '';
    return String.fromCharCode(...this.bytes.subarray(4, 8));
  }

  root(): Table {
    return this.tableAt(this.deref(0));
  }

  fail(what: string): never {
    throw new TfliteFormatError(`${this.source}: ${what} (the file is truncated or not a TFLite flatbuffer)`);
  }

  check(offset: number, size: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.bytes.length) {
      this.fail(`${size} bytes at offset ${offset} lie outside the ${this.bytes.length}-byte buffer`);
    }
  }

  u8(o: number): number {
    this.check(o, 1);
    return this.view.getUint8(o);
  }
  i8(o: number): number {
    this.check(o, 1);
    return this.view.getInt8(o);
  }
  u16(o: number): number {
    this.check(o, 2);
    return this.view.getUint16(o, true);
  }
  i32(o: number): number {
    this.check(o, 4);
    return this.view.getInt32(o, true);
  }
  u32(o: number): number {
    this.check(o, 4);
    return this.view.getUint32(o, true);
  }
  f32(o: number): number {
    this.check(o, 4);
    return this.view.getFloat32(o, true);
  }
  /** An int64 as a JavaScript number (exact up to 2^53; TFLite's zero points and sizes are far smaller). */
  i64(o: number): number {
    this.check(o, 8);
    return Number(this.view.getBigInt64(o, true));
  }

  /** Follows the uoffset stored at `o`. */
  deref(o: number): number {
    return o + this.u32(o);
  }

  tableAt(o: number): Table {
    const vtable = o - this.i32(o);
    const vtableBytes = this.u16(vtable);
    if (vtableBytes < 4 || vtableBytes % 2) this.fail(`a vtable at ${vtable} claims ${vtableBytes} bytes`);
    this.check(vtable, vtableBytes);
    return new Table(this, o, vtable, (vtableBytes - 4) / 2);
  }

  /** A vector's [first element offset, count], after checking that count x elementSize bytes are there. */
  vectorAt(o: number, elementSize: number): [number, number] {
    const count = this.u32(o);
    this.check(o + 4, count * elementSize);
    return [o + 4, count];
  }
}

/** One table: field `i` is the i-th field of its schema declaration (ids in declaration order). */
export class Table {
  constructor(
    readonly fb: FlatBuffer,
    readonly offset: number,
    private readonly vtable: number,
    private readonly fieldCount: number,
  ) {}

  /** The absolute offset of field `i`, or undefined when the field is absent (its default applies). */
  field(i: number): number | undefined {
    if (i >= this.fieldCount) return undefined;
    const rel = this.fb.u16(this.vtable + 4 + 2 * i);
    return rel ? this.offset + rel : undefined;
  }

  has(i: number): boolean {
    return this.field(i) !== undefined;
  }

  int8(i: number, fallback = 0): number {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.i8(p);
  }
  uint8(i: number, fallback = 0): number {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.u8(p);
  }
  bool(i: number, fallback = false): boolean {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.u8(p) !== 0;
  }
  int32(i: number, fallback = 0): number {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.i32(p);
  }
  uint32(i: number, fallback = 0): number {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.u32(p);
  }
  float32(i: number, fallback = 0): number {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.f32(p);
  }
  int64(i: number, fallback = 0): number {
    const p = this.field(i);
    return p === undefined ? fallback : this.fb.i64(p);
  }

  string(i: number): string | undefined {
    const p = this.field(i);
    if (p === undefined) return undefined;
    const [start, count] = this.fb.vectorAt(this.fb.deref(p), 1);
    return new TextDecoder().decode(this.fb.bytes.subarray(start, start + count));
  }

  table(i: number): Table | undefined {
    const p = this.field(i);
    return p === undefined ? undefined : this.fb.tableAt(this.fb.deref(p));
  }

  tables(i: number): Table[] {
    const p = this.field(i);
    if (p === undefined) return [];
    const [start, count] = this.fb.vectorAt(this.fb.deref(p), 4);
    return Array.from({ length: count }, (_, k) => this.fb.tableAt(this.fb.deref(start + 4 * k)));
  }

  /** A [ubyte] vector as a view into the buffer (no copy), or undefined when absent. */
  bytes(i: number): Uint8Array | undefined {
    const p = this.field(i);
    if (p === undefined) return undefined;
    const [start, count] = this.fb.vectorAt(this.fb.deref(p), 1);
    return this.fb.bytes.subarray(start, start + count);
  }

  int32s(i: number): number[] {
    return this.scalars(i, 4, (o) => this.fb.i32(o));
  }
  float32s(i: number): number[] {
    return this.scalars(i, 4, (o) => this.fb.f32(o));
  }
  int64s(i: number): number[] {
    return this.scalars(i, 8, (o) => this.fb.i64(o));
  }

  private scalars(i: number, size: number, read: (o: number) => number): number[] {
    const p = this.field(i);
    if (p === undefined) return [];
    const [start, count] = this.fb.vectorAt(this.fb.deref(p), size);
    return Array.from({ length: count }, (_, k) => read(start + size * k));
  }
}
