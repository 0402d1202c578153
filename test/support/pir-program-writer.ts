/**
 * Writes a PaddleProgram (ProgramDesc-shaped, as the readers return it) as Paddle 3's PIR `inference.json`,
 * for test fixtures: the inverse of src/model/convert/paddle/pir-program.ts, in the format Paddle's
 * ProgramWriter (paddle/fluid/pir/serialize_deserialize/src/ir_serialize.cc) writes and the real file in
 * ../shared/models/real/pp-lcnet-x0_25-textline-ori/paddle-pir shows:
 * - every parameter first, as a compressed `p` op, newest first unless `paramOrder` says otherwise;
 * - value ids from 1 in program order; op names with their dialect compressed (`1.conv2d`);
 * - IntArray / Scalar operands (pool2d's ksize, reshape2's shape, scale's scale, dropout's p) as a
 *   `1.full_int_array` / `1.full` op right before their consumer;
 * - elementwise ops with a ProgramDesc `axis` broadcast (a conv bias of shape [C]) as reshape + add, which is
 *   how Paddle 3 itself writes a conv bias ([1, -1, 1, 1] in the real file);
 * - every result an op's signature has (batch_norm_'s reserve_space too), none for the XShape Paddle 3 dropped;
 * - keys in nlohmann::json's sorted order. One difference: a float with no fraction prints as `6`, not `6.0`.
 * Not shipped.
 */
import {
  ATTR_TYPE,
  NOT_SAVED_VAR_TYPES,
  VAR_TYPE_CODE,
  type AttrTypeCode,
} from '../../src/model/convert/paddle/paddle-proto.ts';
import type { PaddleAttr, PaddleOp, PaddleProgram, PaddleVar } from '../../src/model/convert/paddle/paddle-program.ts';
import { PIR_OPS, type AttrOperand, type PirOpSpec } from '../../src/model/convert/paddle/pir-ops.ts';
import {
  ARRAY_OF,
  DIALECT_IDS,
  DTYPE_NAMES,
  ELEMENT_TYPE_NAMES,
  SCALAR_OF,
  type Json,
  type PirType,
} from '../../src/model/convert/paddle/pir-types.ts';

/** `reverse`: last declared first, as Paddle writes them; `declared`: as the program lists them; or explicit names. */
export type PirParamOrder = 'reverse' | 'declared' | readonly string[];

/** ProgramDesc bookkeeping attributes that no PIR op carries. */
const PROGRAM_DESC_ONLY = new Set([
  'op_role',
  'op_role_var',
  'op_namescope',
  'op_callstack',
  'op_device',
  'with_quant_attr',
  'use_cudnn',
  'use_mkldnn',
  'mkldnn_data_type',
  'use_quantizer',
]);
const CPU_PLACE = { '#': '1.a_place', D: [1, 0, ''] };
const UNDEFINED_PLACE = { '#': '1.a_place', D: [0, 0, ''] };

/** ProgramDesc type -> [PIR name, spec]: the first PIR op listed for a type wins (pd_op.batch_norm_ for batch_norm). */
const BY_TYPE = new Map<string, [string, PirOpSpec]>();
for (const [name, spec] of PIR_OPS) if (!BY_TYPE.has(spec.type)) BY_TYPE.set(spec.type, [name, spec]);

const compress = (name: string): string => {
  const dot = name.indexOf('.');
  const id = Object.entries(DIALECT_IDS).find(([, d]) => d === name.slice(0, dot))?.[0];
  return id === undefined ? name : `${id}${name.slice(dot)}`;
};
const named = (name: string, at: Json): Json => ({ AT: at, N: name });
const bools = (...v: boolean[]): Json => ({ '#': '0.a_array', D: v.map((b) => ({ '#': '0.a_bool', D: b })) });
const dtype = (code: number): Json => ({ '#': '1.a_dtype', D: DTYPE_NAMES.get(code) ?? 'float32' });

class Writer {
  readonly ops: Json[] = [];
  private next = 1;
  private readonly ids = new Map<string, number>();
  constructor(private readonly vars: ReadonlyMap<string, PaddleVar>) {}

  id(name: string | undefined, what: string): number {
    if (name === undefined) return 0;
    const id = this.ids.get(name);
    if (id === undefined)
      throw new RangeError(`writePirProgram: ${what} reads ${name}, which nothing before it defines`);
    return id;
  }
  /** A fresh value; the first definition of a name is the one later readers see (ProgramDesc's in-place MeanOut). */
  value(name: string | undefined): Json {
    if (name === undefined) return { '%': 0, TT: { '#': 'NULL' } };
    if (!this.ids.has(name)) this.ids.set(name, this.next);
    const v = this.vars.get(name);
    return this.anonymous({ dataType: v?.dataType ?? VAR_TYPE_CODE.FP32, dims: v?.dims ?? [] });
  }
  /** A fresh value no ProgramDesc name refers to (constants, the reshape of a broadcast operand). */
  anonymous(type: { dataType?: number; dims?: readonly number[] }): Json {
    return { '%': this.next++, TT: encodeType(type) };
  }
  op(name: string, inputs: readonly number[], results: readonly Json[], attrs: readonly Json[], oa?: Json[]): number {
    const stop = results.map(() => false);
    this.ops.push({
      '#': compress(name),
      A: attrs,
      I: inputs.map((id) => ({ '%': id })),
      O: results,
      OA: oa ?? [named('stop_gradient', bools(...stop))],
    });
    return (results[0] as { '%': number } | undefined)?.['%'] ?? 0;
  }
  /** pd_op.full_int_array / pd_op.full for an IntArray / Scalar operand; returns its value id. */
  constant(kind: AttrOperand['kind'], value: PaddleAttr['value']): number {
    const out = (code: number, dims: number[]): Json[] => [this.anonymous({ dataType: code, dims })];
    const stop = [named('stop_gradient', bools(true))];
    if (kind === 'ints') {
      const v = value as readonly number[];
      const A = [
        named('value', { '#': '0.a_array', D: v.map((x) => ({ '#': '0.a_i64', D: x })) }),
        named('dtype', dtype(VAR_TYPE_CODE.INT64)),
        named('place', CPU_PLACE),
      ];
      return this.op('pd_op.full_int_array', [], out(VAR_TYPE_CODE.INT64, [v.length]), A, stop);
    }
    const [code, scalar] =
      kind === 'float'
        ? [VAR_TYPE_CODE.FP32, '0.a_f32']
        : kind === 'int'
          ? [VAR_TYPE_CODE.INT32, '0.a_i32']
          : [VAR_TYPE_CODE.INT64, '0.a_i64'];
    const A = [
      named('shape', { '#': '1.a_intarray', D: [1] }),
      named('value', { '#': scalar, D: value }),
      named('dtype', dtype(code)),
      named('place', CPU_PLACE),
    ];
    return this.op('pd_op.full', [], out(code, [1]), A, stop);
  }
}

export function writePirProgram(program: PaddleProgram, paramOrder: PirParamOrder = 'reverse'): string {
  const block = program.blocks[0];
  if (!block || program.blocks.length !== 1) throw new RangeError('writePirProgram: expected one block');
  const vars = new Map(block.vars.map((v) => [v.name, v]));
  const w = new Writer(vars);
  const params = block.vars.filter(
    (v) => v.persistable && !NOT_SAVED_VAR_TYPES.has(v.type) && v.dataType !== undefined,
  );
  const order =
    paramOrder === 'reverse'
      ? [...params].reverse()
      : paramOrder === 'declared'
        ? params
        : paramOrder.map((n) => {
            const v = params.find((p) => p.name === n);
            if (!v) throw new RangeError(`writePirProgram: paramOrder names ${n}, which is not a parameter`);
            return v;
          });
  if (order.length !== params.length)
    throw new RangeError('writePirProgram: paramOrder must list every parameter once');
  // BatchNorm statistics are stop_gradient and not trainable: OA [1, 1, 0] in the real file, [1, 0, 1] for weights.
  const stats = new Set(block.ops.flatMap((o) => [...(o.inputs.Mean ?? []), ...(o.inputs.Variance ?? [])]));
  for (const p of order) {
    const flags = stats.has(p.name) ? [1, 1, 0] : [1, 0, 1];
    w.ops.push({ '#': 'p', A: [0, 1, 1, p.name], DA: [], O: w.value(p.name), OA: flags, QA: [] });
  }
  block.ops.forEach((op, k) => writeOp(w, op, `op ${k} (${op.type})`, vars));
  return JSON.stringify({
    base_code: { magic: 'pir', trainable: true, version: 1 },
    program: { regions: [{ '#': 'region_0', blocks: [{ '#': 'block_0', args: [], ops: w.ops }] }] },
  });
}

function writeOp(w: Writer, op: PaddleOp, where: string, vars: ReadonlyMap<string, PaddleVar>): void {
  const first = (slot: string): string | undefined => op.inputs[slot]?.[0];
  if (op.type === 'feed') {
    const name = op.outputs.Out?.[0];
    const v = name === undefined ? undefined : vars.get(name);
    const A = [
      named('name', { '#': '0.a_str', D: name }),
      named('shape', { '#': '1.a_intarray', D: [...(v?.dims ?? [])] }),
      named('dtype', dtype(v?.dataType ?? VAR_TYPE_CODE.FP32)),
      named('place', UNDEFINED_PLACE),
    ];
    w.op('pd_op.data', [], [w.value(name)], A);
    return;
  }
  if (op.type === 'fetch') {
    const col = op.attrs.find((a) => a.name === 'col')?.value ?? 0;
    const x = w.id(first('X'), where);
    const A = [
      named('name', { '#': '0.a_str', D: `fetch_name_${String(col)}` }),
      named('col', { '#': '0.a_i32', D: col }),
    ];
    w.op('pd_op.fetch', [x], [w.value(first('X'))], A, [
      named('persistable', bools(true)),
      named('stop_gradient', bools(false)),
    ]);
    return;
  }
  const found = BY_TYPE.get(op.type);
  if (!found && !/^[a-z_]+\./.test(op.type)) throw new RangeError(`writePirProgram: ${where} has no PIR form here`);
  const [name, spec] = found ?? [op.type, { type: op.type, inputs: [], outputs: [] } as PirOpSpec];
  const slots = found ? spec.inputs : Object.keys(op.inputs);
  const folded = new Set<string>();
  const operands = slots.map((slot) => {
    if (typeof slot === 'string') return w.id(first(slot), where);
    const attr = op.attrs.find((a) => a.name === slot.attr);
    if (attr) return (folded.add(slot.attr), w.constant(slot.kind, attr.value));
    return w.id(first(slot.slot), where);
  });
  broadcastAxis(w, op, spec, operands, vars);
  // A PIR op has every result of its signature, named in the ProgramDesc or not; Paddle 3 dropped XShape.
  const outSlots = found ? spec.outputs.filter((s) => s !== 'XShape') : Object.keys(op.outputs);
  const results = outSlots.map((s) => {
    const out = op.outputs[s]?.[0];
    if (out !== undefined) return w.value(out);
    return w.anonymous(
      s === 'ReserveSpace' || s === 'Mask'
        ? { dataType: VAR_TYPE_CODE.UINT8, dims: [-1] }
        : { dataType: VAR_TYPE_CODE.FP32, dims: [] },
    );
  });
  const renames = new Map(Object.entries(spec.renames ?? {}).map(([pir, pd]) => [pd, pir]));
  const attrs = op.attrs
    .filter(
      (a) => !folded.has(a.name) && !PROGRAM_DESC_ONLY.has(a.name) && !spec.defaults?.some((d) => d.name === a.name),
    )
    .filter(
      (a) =>
        !(op.type === 'cast' && a.name === 'in_dtype') && !(a.name === 'reduce_all' && op.type.startsWith('reduce_')),
    )
    .map((a) => named(renames.get(a.name) ?? a.name, encodeFor(op.type, a)));
  w.op(name, operands, results, attrs);
}

/** DataType attributes are `1.a_dtype` names and full's shape an IntArray, where ProgramDesc has ints. */
function encodeFor(type: string, a: PaddleAttr): Json {
  const dtypes = ['cast', 'arg_max', 'fill_constant', 'assign_value', 'reduce_sum'];
  if (a.type === ATTR_TYPE.INT && (a.name === 'dtype' || a.name === 'out_dtype') && dtypes.includes(type))
    return dtype(a.value as number);
  if (type === 'fill_constant' && a.name === 'shape') return { '#': '1.a_intarray', D: a.value };
  return encodeAttr(a);
}

/** elementwise_add(X [N, C, H, W], Y [C], axis=1) -> reshape(Y, [1, -1, 1, 1]) then add, as Paddle 3 records it. */
function broadcastAxis(
  w: Writer,
  op: PaddleOp,
  spec: PirOpSpec,
  operands: number[],
  vars: ReadonlyMap<string, PaddleVar>,
): void {
  const axis = op.attrs.find((a) => a.name === 'axis')?.value;
  if (!spec.type.startsWith('elementwise_') || typeof axis !== 'number' || axis === -1) return;
  const [x, y] = [vars.get(op.inputs.X?.[0] ?? '')?.dims, vars.get(op.inputs.Y?.[0] ?? '')?.dims];
  // Trailing alignment is numpy broadcasting already (the neck's bias add): no reshape, as in the real file.
  if (!x || !y || y.length >= x.length || axis === x.length - y.length) return;
  const shape = x.map((_, k) => (k >= axis && k < axis + y.length ? (y.length === 1 ? -1 : y[k - axis]!) : 1));
  const shapeId = w.constant('ints', shape);
  const yv = vars.get(op.inputs.Y![0]!);
  operands[1] = w.op(
    'pd_op.reshape',
    [operands[1]!, shapeId],
    [w.anonymous({ dataType: yv?.dataType, dims: shape.map((d) => (d === -1 ? y[0]! : d)) })],
    [],
  );
}

function encodeType(t: PirType): Json {
  if (t.dataType === undefined) return { '#': 'NULL' };
  const element = ELEMENT_TYPE_NAMES.get(t.dataType);
  if (!element) throw new RangeError(`encodeType: no PIR element type for VarType ${t.dataType}`);
  return { '#': '0.t_dtensor', D: [{ '#': `0.${element}` }, [...(t.dims ?? [])], 'NCHW', [], 0] };
}

/** The inverse of decodeAttr for the writer: a ProgramDesc attribute as Paddle 3 writes it. */
function encodeAttr(a: PaddleAttr): Json {
  const one = (type: AttrTypeCode, value: unknown): Json => {
    const name = Object.keys(SCALAR_OF).find((k) => SCALAR_OF[k] === type && k !== 'a_index' && k !== 'a_tensorname');
    if (name === undefined) throw new RangeError(`encodeAttr: ${a.name} (type ${a.type}) has no PIR form`);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return { '#': `0.${name}`, VD: Number.isNaN(value) ? 'NaN' : value > 0 ? 'INF' : '-INF' };
    }
    return { '#': `0.${name}`, D: value };
  };
  const element = [...ARRAY_OF].find(([, arr]) => arr === a.type)?.[0];
  if (element !== undefined) return { '#': '0.a_array', D: ((a.value ?? []) as unknown[]).map((v) => one(element, v)) };
  if (a.value === null || Array.isArray(a.value))
    throw new RangeError(`encodeAttr: ${a.name} (type ${a.type}) has no PIR form`);
  return one(a.type, a.value);
}
