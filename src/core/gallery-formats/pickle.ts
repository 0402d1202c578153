/**
 * PaddleClas's id_map.pkl: a pickled dict from each faiss id to its gallery list line ("path<TAB>label").
 * build_gallery.py keys it by numpy int64 scalars; this writer keys it by plain ints, which Python looks up the same
 * way (np.int64(3) and 3 hash and compare equal, so predict_system's `id_map[docs[0][0]]` finds them).
 */
import { ByteReader, ByteWriter } from './byte-io.ts';
import { unpickle } from './pickle-machine.ts';
import { PyDict } from './pickle-values.ts';

/** Entries per SETITEMS, as CPython batches them. */
const BATCH = 1000;
const utf8 = new TextEncoder();

/** Python's `pickle.dumps(dict(idMap), protocol=2)` for int keys and str values (protocol 2: Python 2.3 and later). */
export function writeIdMapPickle(idMap: ReadonlyMap<number, string>): Uint8Array {
  const w = new ByteWriter();
  w.u8(0x80).u8(2); // PROTO 2
  w.ascii('}'); // EMPTY_DICT
  const pairs = [...idMap];
  for (let start = 0; start < pairs.length; start += BATCH) {
    w.ascii('('); // MARK
    for (const [key, value] of pairs.slice(start, start + BATCH)) {
      writeInt(w, key);
      const bytes = utf8.encode(value);
      w.ascii('X').u32(bytes.length).bytes(bytes); // BINUNICODE
    }
    w.ascii('u'); // SETITEMS
  }
  w.ascii('.'); // STOP
  return w.finish();
}

function writeInt(w: ByteWriter, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`id ${v} is not an integer`);
  if (v >= 0 && v < 0x100) w.ascii('K').u8(v);
  else if (v >= 0 && v < 0x10000) w.ascii('M').u16(v);
  else if (v >= -0x80000000 && v < 0x80000000) w.ascii('J').i32(v);
  else {
    // LONG1: the shortest two's complement, little-endian; 8 bytes always hold a safe integer.
    const bytes: number[] = [];
    let big = BigInt(v);
    for (let i = 0; i < 8; i++, big >>= 8n) bytes.push(Number(big & 0xffn));
    while (
      bytes.length > 1 &&
      bytes[bytes.length - 1] === (v < 0 ? 0xff : 0) &&
      (bytes[bytes.length - 2]! & 0x80) === (v < 0 ? 0x80 : 0)
    ) {
      bytes.pop();
    }
    w.u8(0x8a).u8(bytes.length).bytes(Uint8Array.from(bytes));
  }
}

/**
 * The id -> line dict of an id_map.pkl, whatever pickle protocol wrote it, with int or numpy integer keys;
 * throws GalleryFormatError when it holds anything else.
 */
export function readIdMapPickle(bytes: Uint8Array, file = 'id_map.pkl'): Map<number, string> {
  const value = unpickle(bytes, file);
  const fail: (reason: string) => never = (reason) => new ByteReader(bytes, file).fail(reason, 0);
  if (!(value instanceof PyDict)) fail('the pickle holds no dict (PaddleClas id_map.pkl is a dict id -> line)');
  const out = new Map<number, string>();
  for (const [key, line] of value.pairs) {
    if (typeof key !== 'number' || !Number.isInteger(key)) {
      fail(`the dict has a key ${describe(key)}; an id map's keys are integers`);
    }
    if (typeof line !== 'string') fail(`the dict maps id ${key} to ${describe(line)}, not to a string`);
    out.set(key, line);
  }
  return out;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'bigint') return `${v} (beyond the integers this reader handles exactly)`;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return `of type ${(v as object).constructor.name}`;
}
