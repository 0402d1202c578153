/**
 * A minimal protobuf wire-format reader and writer.
 *
 * Both importers (ONNX's ModelProto and Paddle's ProgramDesc) and the tests' fixture writers need only the
 * wire format, not generated classes: a schema-less reader keeps the bundle small and lets us read exactly
 * the fields we map, failing loudly on anything malformed instead of guessing.
 */
import { ImportError } from '../../../core/errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

export type WireType = typeof WIRE_VARINT | typeof WIRE_FIXED64 | typeof WIRE_LENGTH_DELIMITED | typeof WIRE_FIXED32;

/** One field occurrence as it appears on the wire. */
export interface ProtoField {
  readonly field: number;
  readonly wire: WireType;
  /** Varint (as bigint, to keep int64 exact) or fixed value. */
  readonly int?: bigint;
  /** Raw bytes: the payload of a length-delimited field, or the 4/8 bytes of a fixed field. */
  readonly bytes?: Uint8Array;
}

const MAX_VARINT_BYTES = 10;

/** Reads every field of one message. Throws ImportError on truncation or an unknown wire type. */
export function readMessage(buffer: Uint8Array, what = 'protobuf message'): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= buffer.length) throw new ImportError(`${what}: truncated varint at byte ${pos}`);
      const b = buffer[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ImportError(`${what}: varint longer than ${MAX_VARINT_BYTES} bytes at byte ${pos}`);
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > buffer.length) {
      throw new ImportError(`${what}: field of ${n} bytes at byte ${pos} runs past the end (${buffer.length} bytes)`);
    }
    const out = buffer.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buffer.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ImportError(`${what}: field number 0 at byte ${pos} (not a protobuf message?)`);
    switch (wire) {
      case WIRE_VARINT:
        fields.push({ field, wire, int: varint() });
        break;
      case WIRE_FIXED64:
        fields.push({ field, wire, bytes: take(8) });
        break;
      case WIRE_LENGTH_DELIMITED: {
        const length = varint();
        if (length > BigInt(buffer.length)) {
          throw new ImportError(
            `${what}: field ${field} declares ${length} bytes but only ${buffer.length - pos} remain`,
          );
        }
        fields.push({ field, wire, bytes: take(Number(length)) });
        break;
      }
      case WIRE_FIXED32:
        fields.push({ field, wire, bytes: take(4) });
        break;
      default:
        throw new ImportError(`${what}: unsupported wire type ${wire} for field ${field} at byte ${pos}`);
    }
  }
  return fields;
}

/** Typed accessors over the fields of one message. */
export class ProtoReader {
  readonly fields: ProtoField[];
  constructor(
    buffer: Uint8Array,
    readonly what = 'protobuf message',
  ) {
    this.fields = readMessage(buffer, what);
  }

  all(field: number): ProtoField[] {
    return this.fields.filter((f) => f.field === field);
  }

  has(field: number): boolean {
    return this.fields.some((f) => f.field === field);
  }

  bytes(field: number): Uint8Array | undefined {
    const f = this.last(field);
    if (!f) return undefined;
    if (f.wire !== WIRE_LENGTH_DELIMITED) throw new ImportError(`${this.what}: field ${field} is not length-delimited`);
    return f.bytes;
  }

  string(field: number): string | undefined {
    const b = this.bytes(field);
    return b === undefined ? undefined : decodeUtf8(b);
  }

  strings(field: number): string[] {
    return this.all(field).map((f) => decodeUtf8(f.bytes ?? new Uint8Array()));
  }

  messages(field: number, what = `${this.what}.${field}`): ProtoReader[] {
    return this.all(field).map((f) => new ProtoReader(f.bytes ?? new Uint8Array(), what));
  }

  message(field: number, what = `${this.what}.${field}`): ProtoReader | undefined {
    const b = this.bytes(field);
    return b === undefined ? undefined : new ProtoReader(b, what);
  }

  /** A varint field as a number (int32/int64/enum/bool); throws if it does not fit exactly. */
  int(field: number): number | undefined {
    const f = this.last(field);
    if (!f) return undefined;
    if (f.wire !== WIRE_VARINT) throw new ImportError(`${this.what}: field ${field} is not a varint`);
    return toSafeNumber(signed64(f.int!), this.what);
  }

  /** Repeated int64/int32 fields, packed or not. */
  ints(field: number): number[] {
    const out: number[] = [];
    for (const f of this.all(field)) {
      if (f.wire === WIRE_VARINT) out.push(toSafeNumber(signed64(f.int!), this.what));
      else if (f.wire === WIRE_LENGTH_DELIMITED) out.push(...unpackVarints(f.bytes!, this.what));
      else throw new ImportError(`${this.what}: field ${field} has wire type ${f.wire}, expected varint`);
    }
    return out;
  }

  float(field: number): number | undefined {
    const f = this.last(field);
    if (!f) return undefined;
    if (f.wire !== WIRE_FIXED32) throw new ImportError(`${this.what}: field ${field} is not a float`);
    return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 4).getFloat32(0, true);
  }

  /** Repeated floats, packed or not. */
  floats(field: number): number[] {
    const out: number[] = [];
    for (const f of this.all(field)) {
      const b = f.bytes!;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (f.wire === WIRE_FIXED32) out.push(view.getFloat32(0, true));
      else if (f.wire === WIRE_LENGTH_DELIMITED) {
        if (b.byteLength % 4 !== 0) throw new ImportError(`${this.what}: packed floats of ${b.byteLength} bytes`);
        for (let i = 0; i < b.byteLength; i += 4) out.push(view.getFloat32(i, true));
      } else throw new ImportError(`${this.what}: field ${field} has wire type ${f.wire}, expected float`);
    }
    return out;
  }

  private last(field: number): ProtoField | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]!.field === field) return this.fields[i];
    return undefined;
  }
}

function signed64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

function toSafeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ImportError(`${what}: integer ${v} is too large`);
  }
  return Number(v);
}

function unpackVarints(bytes: Uint8Array, what: string): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (i >= MAX_VARINT_BYTES || pos >= bytes.length) throw new ImportError(`${what}: bad packed varint`);
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    out.push(toSafeNumber(signed64(result), what));
  }
  return out;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function decodeUtf8(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

/** Builds one message; nested messages are written by passing another writer's `finish()`. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): this {
    this.chunks.push(b);
    this.size += b.byteLength;
    return this;
  }

  private key(field: number, wire: WireType): this {
    return this.rawVarint(BigInt((field << 3) | wire));
  }

  private rawVarint(v: bigint): this {
    let x = BigInt.asUintN(64, v);
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      out.push(b);
    } while (x !== 0n);
    return this.push(Uint8Array.from(out));
  }

  varint(field: number, value: number | bigint | boolean): this {
    const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    return this.key(field, WIRE_VARINT).rawVarint(v);
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED).rawVarint(BigInt(value.byteLength));
    return this.push(value);
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8Encoder.encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.key(field, WIRE_FIXED32).push(b);
  }

  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(BigInt(v));
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.byteLength;
    }
    return out;
  }
}
