/**
 * The index's one hot loop as WebAssembly SIMD: dot products of an int16 query with int8 rows, exact in
 * int32 as long as |q| * 127 * values < 2^31 (int8-slab.ts picks the query's range from the dimension).
 * Four rows at a time share each load of the query. Two entry points:
 *   dot_range(q, codes, stride, count, out):        out[r] = q . codes[r]           for r < count
 *   dot_slots(q, codes, stride, slots, count, out): out[r] = q . codes[slots[r]]    (an IVF list's rows)
 * All arguments are byte offsets into the imported memory; rows are `stride` bytes, a multiple of 16.
 */
import { assembleModule, I32, op, V128, type FunctionDef, type ValueType } from '../wasm-assembler.ts';

const ROWS = 4;
/**
 * 16-byte chunks per inner iteration. 2 and 4 (fewer pointer increments) measured no faster: a scan of
 * 100k rows reads 51 MB, so memory bandwidth, not instructions, sets its pace.
 */
const CHUNKS = 1;
const i32GtU = [0x4b];
const i32LtU = [0x49];

interface Locals {
  readonly q: number;
  readonly stride: number;
  readonly out: number;
  readonly oend: number;
  readonly p: readonly number[];
  readonly qp: number;
  readonly end: number;
  readonly acc: readonly number[];
  readonly x: number;
  readonly qlo: number;
  readonly qhi: number;
  /** The types of the locals after the parameters, in index order. */
  readonly types: readonly ValueType[];
}

function localsAfter(params: number, q: number, stride: number, out: number): Locals {
  let next = params;
  const one = () => next++;
  const p = Array.from({ length: ROWS }, one);
  const [qp, end, oend] = [one(), one(), one()];
  const acc = Array.from({ length: ROWS }, one);
  const [x, qlo, qhi] = [one(), one(), one()];
  const types = [...new Array<ValueType>(ROWS + 3).fill(I32), ...new Array<ValueType>(ROWS + 3).fill(V128)];
  return { q, stride, out, oend, p, qp, end, acc, x, qlo, qhi, types };
}

/** The dot products of `rows` rows whose pointers are in L.p[0..rows); each pointer ends one row further. */
function rowsBody(L: Locals, rows: number): number[] {
  const b: number[] = [];
  for (let r = 0; r < rows; r++) b.push(...op.v128Zero, ...op.set(L.acc[r]!));
  b.push(...op.get(L.q), ...op.set(L.qp));
  b.push(...op.get(L.p[0]!), ...op.get(L.stride), ...op.i32Add, ...op.set(L.end));
  b.push(...op.loop);
  for (let c = 0; c < CHUNKS; c++) {
    b.push(...op.get(L.qp), ...op.v128Load(32 * c), ...op.set(L.qlo));
    b.push(...op.get(L.qp), ...op.v128Load(32 * c + 16), ...op.set(L.qhi));
    for (let r = 0; r < rows; r++) {
      const acc = L.acc[r]!;
      b.push(...op.get(L.p[r]!), ...op.v128Load(16 * c), ...op.tee(L.x));
      b.push(...op.i16x8ExtendLowI8x16S, ...op.get(L.qlo), ...op.i32x4DotI16x8S, ...op.get(acc), ...op.i32x4Add);
      b.push(...op.get(L.x), ...op.i16x8ExtendHighI8x16S, ...op.get(L.qhi), ...op.i32x4DotI16x8S, ...op.i32x4Add);
      b.push(...op.set(acc));
    }
  }
  for (let r = 0; r < rows; r++)
    b.push(...op.get(L.p[r]!), ...op.i32Const(16 * CHUNKS), ...op.i32Add, ...op.set(L.p[r]!));
  b.push(...op.get(L.qp), ...op.i32Const(32 * CHUNKS), ...op.i32Add, ...op.set(L.qp));
  b.push(...op.get(L.p[0]!), ...op.get(L.end), ...i32LtU, ...op.brIf(0));
  b.push(...op.end);
  for (let r = 0; r < rows; r++) {
    const acc = L.acc[r]!;
    b.push(...op.get(L.out));
    b.push(...op.get(acc), ...op.i32x4ExtractLane(0), ...op.get(acc), ...op.i32x4ExtractLane(1), ...op.i32Add);
    b.push(...op.get(acc), ...op.i32x4ExtractLane(2), ...op.i32Add, ...op.get(acc), ...op.i32x4ExtractLane(3));
    b.push(...op.i32Add, ...op.i32Store(4 * r));
  }
  return b;
}

/** Loops over blocks of `rows` rows while `out + 4 * rows <= oend`; `setPointers` points L.p at the block. */
function blockLoop(L: Locals, rows: number, setPointers: number[], advance: number[]): number[] {
  return [
    ...op.block,
    ...op.loop,
    ...op.get(L.out),
    ...op.i32Const(4 * rows),
    ...op.i32Add,
    ...op.get(L.oend),
    ...i32GtU,
    ...op.brIf(1),
    ...setPointers,
    ...rowsBody(L, rows),
    ...op.get(L.out),
    ...op.i32Const(4 * rows),
    ...op.i32Add,
    ...op.set(L.out),
    ...advance,
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

function dotRange(): FunctionDef {
  // q 0, codes 1, stride 2, count 3, out 4
  const L = localsAfter(5, 0, 2, 4);
  const oend = [...op.get(4), ...op.get(3), ...op.i32Const(4), ...op.i32Mul, ...op.i32Add, ...op.set(L.oend)];
  const start = [...op.get(1), ...op.set(L.p[0]!)];
  const four: number[] = [];
  for (let r = 1; r < ROWS; r++) four.push(...op.get(L.p[r - 1]!), ...op.get(2), ...op.i32Add, ...op.set(L.p[r]!));
  // After a block every pointer moved one row on: the last one is the next block's first row.
  const afterFour = [...op.get(L.p[ROWS - 1]!), ...op.set(L.p[0]!)];
  return {
    name: 'dot_range',
    params: 5,
    locals: L.types,
    body: [...oend, ...start, ...blockLoop(L, ROWS, four, afterFour), ...blockLoop(L, 1, [], [])],
  };
}

function dotSlots(): FunctionDef {
  // q 0, codes 1, stride 2, slots 3, count 4, out 5
  const L = localsAfter(6, 0, 2, 5);
  const oend = [...op.get(5), ...op.get(4), ...op.i32Const(4), ...op.i32Mul, ...op.i32Add, ...op.set(L.oend)];
  const pointers = (rows: number) => {
    const b: number[] = [];
    for (let r = 0; r < rows; r++) {
      b.push(...op.get(1), ...op.get(3), ...op.i32Load(4 * r), ...op.get(2), ...op.i32Mul, ...op.i32Add);
      b.push(...op.set(L.p[r]!));
    }
    return b;
  };
  const advance = (rows: number) => [...op.get(3), ...op.i32Const(4 * rows), ...op.i32Add, ...op.set(3)];
  return {
    name: 'dot_slots',
    params: 6,
    locals: L.types,
    body: [...oend, ...blockLoop(L, ROWS, pointers(ROWS), advance(ROWS)), ...blockLoop(L, 1, pointers(1), advance(1))],
  };
}

let bytes: Uint8Array<ArrayBuffer> | undefined;

/** The module's bytes (about 1 KiB: small enough for a synchronous compile on a page's main thread). */
export function dotKernelWasm(): Uint8Array<ArrayBuffer> {
  bytes ??= assembleModule([dotRange(), dotSlots()]);
  return bytes;
}
