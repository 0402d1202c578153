/**
 * NumPy's .npy file (format 1.0 written; 1.0, 2.0 and 3.0 read) for a plain 2-D float32 array: what `np.load`
 * gives back as an (n, d) float32 matrix. The layout is NumPy's format.py: the magic "\x93NUMPY", a version,
 * the header's length, a Python dict literal ending in '\n' padded so the data starts on a multiple of 64, then
 * the values in C order.
 */
import { ByteReader, ByteWriter, byteCount } from './byte-io.ts';

export interface NpyMatrix {
  readonly rows: number;
  readonly cols: number;
  /** rows x cols values, row-major. */
  readonly data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** `np.save(f, a)` of an (rows, cols) float32 array `a` with these row-major values. */
export function writeNpyFloat32(data: Float32Array, rows: number, cols: number): Uint8Array {
  if (data.length !== rows * cols) throw new RangeError(`${data.length} values are not ${rows} rows of ${cols}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  // Magic (6) + version (2) + header length (2) + header, ending in '\n', is a multiple of 64.
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const w = new ByteWriter().bytes(Uint8Array.from(MAGIC)).u8(1).u8(0).u16(header.length).ascii(header);
  for (const v of data) w.f32(v);
  return w.finish();
}

/** A 2-D float .npy (float32 or float64, either byte order, C or Fortran order) as float32 rows. */
export function readNpyFloat32(bytes: Uint8Array, file = 'embeddings.npy'): NpyMatrix {
  const r: ByteReader = new ByteReader(bytes, file);
  if (!MAGIC.every((b, i) => bytes[i] === b)) r.fail('not a .npy file: it does not start with "\\x93NUMPY"', 0);
  r.pos = 6;
  const major = r.u8('version');
  r.u8('version');
  if (major < 1 || major > 3) r.fail(`.npy format version ${major} is not one this reader knows (1, 2 or 3)`, 6);
  const headerLength = major === 1 ? r.u16('header length') : r.u32('header length');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(r.raw(headerLength, 'header'));

  const field = (key: string, value: string): string | undefined =>
    new RegExp(`['"]${key}['"]\\s*:\\s*${value}`).exec(header)?.[1];
  const descr = field('descr', `['"]([^'"]*)['"]`);
  const fortran = field('fortran_order', '(True|False)');
  const shapeText = field('shape', '\\(([^)]*)\\)');
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    r.fail(`the header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`, 10);
  }
  const type = /^([<>|=]?)f([48])$/.exec(descr);
  if (!type) r.fail(`dtype "${descr}" is not float32 or float64: the embeddings must be floats`, 10);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.length !== 2 || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    r.fail(`shape (${shapeText}) is not 2-D (one row per image, one column per embedding value)`, 10);
  }
  const [rows, cols] = shape as [number, number];
  if (cols === 0) r.fail(`shape (${rows}, 0): the embeddings have no values`, 10);
  const size = Number(type[2]);
  const littleEndian = type[1] !== '>';
  const raw = r.raw(rows * cols * size, `${rows} x ${cols} values`);
  if (r.left !== 0) r.fail(`the file goes on for ${byteCount(r.left)} after the ${rows} x ${cols} values`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      // C order stores row i's values together; Fortran order stores column j's.
      const k = fortran === 'True' ? j * rows + i : i * cols + j;
      data[i * cols + j] = size === 4 ? view.getFloat32(k * 4, littleEndian) : view.getFloat64(k * 8, littleEndian);
    }
  }
  return { rows, cols, data };
}
