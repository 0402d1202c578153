/**
 * The values the pickle machine builds, and the few Python callables it evaluates itself — by name, never by
 * import: numpy.dtype, numpy's scalar constructor (numpy.core.multiarray.scalar, numpy._core in numpy 2) and
 * _codecs.encode, which is how protocols 0 to 2 spell bytes.
 */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}
export class PyDict {
  readonly pairs: [PyValue, PyValue][] = [];
}
/** A global named by GLOBAL / STACK_GLOBAL: only ever compared by name, never looked up. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}
/** numpy.dtype(typestr), with the byte order its pickled state (BUILD) gives. */
export class NumpyDtype {
  byteOrder = '=';
  constructor(readonly typestr: string) {}
}
export type PyValue =
  null | boolean | number | bigint | string | Uint8Array | PyTuple | PyValue[] | PyDict | PyGlobal | NumpyDtype;

const NUMPY_SCALAR = new Set(['numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar']);

/** A Python int as a number when it is one exactly, else a bigint. */
export const pyInt = (v: bigint): number | bigint =>
  v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;

/** Two's complement, little-endian, as LONG1 / LONG4 and numpy's integer scalars store it. */
export function intFromBytes(b: Uint8Array, signed: boolean): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (signed && b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v;
}

export type CallResult = { ok: true; value: PyValue } | { ok: false; reason: string };

/** REDUCE: `callable(*args)` for the callables above; anything else is refused with the reason. */
export function callGlobal(callable: PyValue, args: PyValue): CallResult {
  const a = args instanceof PyTuple ? args.items : [];
  const name = callable instanceof PyGlobal ? String(callable) : 'an object that is not a global';
  if (name === 'numpy.dtype' && typeof a[0] === 'string') return { ok: true, value: new NumpyDtype(a[0]) };
  if (NUMPY_SCALAR.has(name)) {
    const [dtype, data] = a;
    if (dtype instanceof NumpyDtype && data instanceof Uint8Array) return numpyScalar(dtype, data);
  }
  if (name === '_codecs.encode' && typeof a[0] === 'string') {
    const chars = Array.from(a[0], (c) => c.codePointAt(0)!);
    if (chars.every((c) => c < 256)) return { ok: true, value: Uint8Array.from(chars) }; // latin-1
  }
  return {
    ok: false,
    reason:
      `the pickle calls ${name} with arguments this reader does not evaluate ` +
      '(it reads plain data and numpy scalars, as in PaddleClas id_map.pkl)',
  };
}

function numpyScalar(dtype: NumpyDtype, data: Uint8Array): CallResult {
  const m = /^[<>|=]?([iuU])(\d+)$/.exec(dtype.typestr);
  const bigEndian = dtype.byteOrder === '>' || dtype.typestr.startsWith('>');
  const size = m ? Number(m[2]) : 0;
  if (m && (m[1] === 'i' || m[1] === 'u') && [1, 2, 4, 8].includes(size) && data.length === size) {
    return { ok: true, value: pyInt(intFromBytes(bigEndian ? data.slice().reverse() : data, m[1] === 'i')) };
  }
  if (m && m[1] === 'U' && data.length === size * 4) {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const points = Array.from({ length: size }, (_, i) => view.getUint32(i * 4, !bigEndian)).filter((c) => c !== 0);
    return { ok: true, value: String.fromCodePoint(...points) };
  }
  return {
    ok: false,
    reason: `the pickle holds a numpy scalar of dtype "${dtype.typestr}" (integers and strings are read)`,
  };
}
