/**
 * Paddle 3's PIR program (`inference.json`, PaddleX's default export) read into the same PaddleProgram
 * shape as a ProgramDesc, so one importer walks both.
 *
 * The file (PaddlePaddle/Paddle paddle/fluid/pir/serialize_deserialize: src/interface.cc WriteModule,
 * src/ir_serialize.cc, include/schema.h for the keys) is
 *   {"base_code": {"magic": "pir", "version": 1, "trainable": true},
 *    "program": {"regions": [{"#": "region_0", "blocks": [{"#": "block_0", "args": [], "ops": [...]}]}]}}
 * An op is {"#": "1.conv2d", "I": [{"%": 7}, ...], "O": [{"%": 9, "TT": type}], "A": [{"N", "AT"}], "OA": [...]}:
 * `#` is the op name with its dialect compressed to an id, `I` reads values by the `%` id an earlier `O`
 * gave them (ids count from 1 in program order; 0 is a null value), `A` the op's attributes, `OA`
 * stop_gradient / persistable. A parameter is compressed further (WriteParameterOP):
 *   {"#": "p", "A": [is_distributed, is_parameter, need_clip, name], "O": {"%": 1, "TT": type}, "OA": [persistable, stop_gradient, trainable]}
 * Types and attributes: ./pir-types.ts. Ops: ./pir-ops.ts.
 *
 * `.pdiparams` order: save_inference_model_pir -> save_vars_pir (python/paddle/static/pir_io.py) saves the
 * persistable values of get_pir_parameters (builtin.parameter results, plus persistable pd_op.data
 * results) with save_combine `for name in sorted(save_var_map.keys())`: by name, as the ProgramDesc saver
 * does, not in the JSON's op order (which lists the parameters last-created first).
 */
import { ImportError } from '../../../core/errors.ts';
import { ATTR_TYPE, VAR_TYPE_CODE } from './paddle-proto.ts';
import type { PaddleAttr, PaddleOp, PaddleProgram, PaddleVar } from './paddle-program.ts';
import { pirOpSpec, type AttrOperand } from './pir-ops.ts';
import { DIALECT_IDS, decodeNamedAttr, decodeType, describe, type Json, type PirType } from './pir-types.ts';

export interface PirProgram {
  readonly program: PaddleProgram;
  /** parameter names in the order .pdiparams stores them */
  readonly paramNames: readonly string[];
  readonly notes: readonly string[];
}

interface Value extends PirType {
  readonly name: string;
  /** What defines it, for messages. */
  readonly by: string;
}
interface RawParam {
  readonly name: string;
  readonly id: number;
  readonly type: PirType;
  /** OA[0]; undefined when the file has no OA (written with trainable=False). */
  readonly persistable: boolean | undefined;
}
interface RawOp {
  readonly index: number;
  readonly name: string;
  readonly operands: readonly number[];
  readonly results: readonly { readonly id: number; readonly type: PirType }[];
  readonly attrs: readonly PaddleAttr[];
  readonly regions: number;
}

const isObject = (x: Json): x is Record<string, Json> => typeof x === 'object' && x !== null && !Array.isArray(x);
const CONSTANTS = new Set(['pd_op.full', 'pd_op.full_int_array']);
/** PIR bookkeeping ProgramDesc ops do not carry: the layer path (struct_name) and the OA flags. */
const DROPPED_ATTRS = new Set(['struct_name', 'stop_gradient', 'persistable']);

/** Python's sorted() order for str: by code point (JS `<` compares UTF-16 units, which differs past U+FFFF). */
function byCodePoint(a: string, b: string): number {
  const [x, y] = [[...a], [...b]];
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k]!.codePointAt(0)! - y[k]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export function parsePirProgram(json: string | Uint8Array, file = 'inference.json'): PirProgram {
  const notPir = (why: string): never => {
    throw new ImportError(`${file} is not a Paddle PIR program: ${why}`);
  };
  let text = json;
  if (typeof text !== 'string') {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(text);
    } catch {
      notPir('it is not UTF-8 text (a binary inference.pdmodel is a ProgramDesc: read it with the ProgramDesc reader)');
    }
  }
  if ((text as string).trim() === '') notPir('the file is empty');
  let top: Json;
  try {
    top = JSON.parse(text as string);
  } catch (e) {
    // A truncated file lands here too; deep nesting can make JSON.parse throw RangeError.
    notPir(`it is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(top)) notPir(`the top level is ${describe(top)}, not an object`);
  const base = (top as Record<string, Json>).base_code;
  if (!isObject(base) || base.magic !== 'pir')
    notPir('base_code.magic is not "pir" (PaddleX writes {"base_code": {"magic": "pir", ...}, "program": ...})');
  const program = (top as Record<string, Json>).program;
  const regions: Json = isObject(program) ? program.regions : undefined;
  if (!Array.isArray(regions) || regions.length !== 1)
    notPir(`program.regions is ${describe(regions)}, expected one region`);
  const region: Json = (regions as Json[])[0];
  const blocks = isObject(region) ? region.blocks : undefined;
  const block = Array.isArray(blocks) ? blocks[0] : undefined;
  const opList = isObject(block) ? block.ops : undefined;
  if (!Array.isArray(opList)) notPir(`region_0 has no block with an "ops" array (found ${describe(blocks)})`);
  try {
    return translate(readOps(opList as Json[]), (base as Record<string, Json>).version);
  } catch (e) {
    if (e instanceof ImportError) throw new ImportError(`${file}: ${e.message}`);
    throw e;
  }
}

/** `1.conv2d` -> `pd_op.conv2d`; a name whose dialect is spelled out (older writers) stays as it is. */
function opName(id: string): string {
  if (id === 'p') return 'builtin.parameter';
  const dot = id.indexOf('.');
  const dialect = dot < 0 ? undefined : DIALECT_IDS[id.slice(0, dot)];
  return dialect ? `${dialect}${id.slice(dot)}` : id;
}

function valueId(v: Json, where: string): number {
  const id = isObject(v) ? (v['%'] ?? v['#']) : undefined; // "#" held value ids before "%" existed
  if (typeof id !== 'number' || !Number.isSafeInteger(id))
    throw new ImportError(`${where}: expected {"%": integer id}, found ${describe(v)}`);
  return id;
}

function readOps(list: readonly Json[]): { ops: RawOp[]; params: RawParam[] } {
  const ops: RawOp[] = [];
  const params: RawParam[] = [];
  list.forEach((op, index) => {
    const tag = isObject(op) ? op['#'] : undefined;
    if (typeof tag !== 'string')
      throw new ImportError(`op ${index} is ${describe(op)}, not an object with a "#" op name`);
    const o = op as Record<string, Json>;
    const where = `op ${index} (${tag})`;
    if (tag === 'p') {
      const [, , , name] = Array.isArray(o.A) ? o.A : [];
      if (typeof name !== 'string')
        throw new ImportError(
          `${where}: A is ${describe(o.A)}, expected [is_distributed, is_parameter, need_clip, name]`,
        );
      const flags = Array.isArray(o.OA) ? o.OA : undefined;
      params.push({
        name,
        id: valueId(o.O, `${where} O`),
        type: decodeType(isObject(o.O) ? o.O.TT : undefined, `${where} type`),
        persistable: flags && flags[0] !== 0,
      });
      return;
    }
    for (const key of ['I', 'O', 'A'] as const) {
      if (!Array.isArray(o[key])) throw new ImportError(`${where}: "${key}" is ${describe(o[key])}, expected an array`);
    }
    const attrs = (o.A as Json[]).map((a, k) => decodeNamedAttr(a, `${where} A[${k}]`)).filter((a) => a !== undefined);
    const extra = Array.isArray(o.OA) ? o.OA.map((a, k) => decodeNamedAttr(a, `${where} OA[${k}]`)) : [];
    const results = (o.O as Json[]).map((r, k) => ({
      id: valueId(r, `${where} O[${k}]`),
      type: decodeType(isObject(r) ? r.TT : undefined, `${where} O[${k}] type`),
    }));
    const name = opName(tag);
    if (name === 'builtin.parameter') {
      const pname = attrs.find((a) => a.name === 'parameter_name')?.value;
      if (typeof pname !== 'string' || results.length !== 1)
        throw new ImportError(`${where}: a parameter op needs one result and a parameter_name`);
      const persistable = extra.find((a) => a?.name === 'persistable')?.value;
      params.push({
        name: pname,
        id: results[0]!.id,
        type: results[0]!.type,
        persistable: Array.isArray(persistable) ? persistable[0] === true : undefined,
      });
      return;
    }
    const persistable = extra.find((a) => a?.name === 'persistable')?.value;
    if (name === 'pd_op.data' && Array.isArray(persistable) && persistable[0] === true)
      attrs.push({ name: 'persistable', type: ATTR_TYPE.BOOLEAN, value: true });
    const operands = (o.I as Json[]).map((v, k) => valueId(v, `${where} I[${k}]`));
    ops.push({ index, name, operands, results, attrs, regions: Array.isArray(o.regions) ? o.regions.length : 0 });
  });
  return { ops, params };
}

function translate({ ops, params }: ReturnType<typeof readOps>, version: Json): PirProgram {
  const notes: string[] = [`PIR program version ${String(version)}: ${params.length} parameters, ${ops.length} ops`];
  const values = new Map<number, Value>();
  const definedAt = new Map<number, RawOp>();
  const taken = new Set<string>();
  const define = (id: number, v: Value): void => {
    if (id === 0) return; // a null result
    const before = values.get(id);
    if (before) throw new ImportError(`value %${id} is defined twice (by ${before.by} and by ${v.by})`);
    values.set(id, v);
    taken.add(v.name);
  };
  const vars: PaddleVar[] = [];
  let unsure = false;
  for (const p of params) {
    if (taken.has(p.name)) throw new ImportError(`two parameters are named ${p.name}`);
    define(p.id, { name: p.name, by: `parameter ${p.name}`, ...p.type });
    unsure ||= p.persistable === undefined;
    vars.push({
      name: p.name,
      type: VAR_TYPE_CODE.LOD_TENSOR,
      persistable: p.persistable ?? true,
      dataType: p.type.dataType,
      dims: p.type.dims,
    });
  }
  if (unsure) notes.push('parameters carry no persistable flag (saved with trainable=False): all are taken as saved');
  for (const op of ops) for (const r of op.results) if (r.id !== 0 && !definedAt.has(r.id)) definedAt.set(r.id, op);

  // Program order is SSA order: a value read before its op is a forward reference (a cycle) or a dangling id.
  const uses = new Map<number, number>();
  let feeds = 0;
  const feedCol = new Map<RawOp, number>();
  for (const op of ops) {
    op.operands.forEach((id, k) => {
      if (id === 0 || values.has(id)) return void uses.set(id, (uses.get(id) ?? 0) + 1);
      const later = definedAt.get(id);
      const what = later
        ? `which op ${later.index} (${later.name}) defines later: a cycle, or ops out of order`
        : 'which no op defines';
      throw new ImportError(`op ${op.index} (${op.name}) reads value %${id} as operand ${k}, ${what}`);
    });
    const feedName =
      op.name === 'pd_op.data' || op.name === 'pd_op.feed' ? op.attrs.find((a) => a.name === 'name')?.value : undefined;
    op.results.forEach((r, k) => {
      const name =
        op.name === 'pd_op.fetch'
          ? 'fetch'
          : typeof feedName === 'string' && k === 0 && !taken.has(feedName)
            ? feedName
            : `pir_%${r.id}`;
      define(r.id, { name, by: `op ${op.index} (${op.name})`, ...r.type });
    });
    if (feedName !== undefined) feedCol.set(op, feeds++);
  }

  // Constants that only feed IntArray / Scalar operands become those attributes and disappear.
  const constant = (id: number): PaddleAttr | undefined => {
    const op = definedAt.get(id);
    return op && CONSTANTS.has(op.name) ? op.attrs.find((a) => a.name === 'value') : undefined;
  };
  const folded = new Map<number, number>();
  const fold = (operand: AttrOperand, id: number): PaddleAttr | undefined => {
    const c = constant(id);
    if (!c || c.value === null) return undefined;
    const many = Array.isArray(c.value);
    if ((operand.kind === 'ints') !== many) return undefined;
    folded.set(id, (folded.get(id) ?? 0) + 1);
    const type = { ints: ATTR_TYPE.INTS, float: ATTR_TYPE.FLOAT, int: ATTR_TYPE.INT, long: ATTR_TYPE.LONG }[
      operand.kind
    ];
    return { name: operand.attr, type, value: c.value };
  };
  const name = (id: number): string => values.get(id)!.name;
  const translated = ops.map((op): PaddleOp => {
    const spec = pirOpSpec(op.name);
    const inputs: Record<string, string[]> = {};
    const outputs: Record<string, string[]> = {};
    const attrs: PaddleAttr[] = [];
    for (const a of op.attrs) {
      if (!DROPPED_ATTRS.has(a.name)) attrs.push({ ...a, name: spec?.renames?.[a.name] ?? a.name });
    }
    op.operands.forEach((id, k) => {
      const slot = spec?.inputs[k] ?? `in${k}`;
      if (typeof slot !== 'string') {
        const a = id === 0 ? undefined : fold(slot, id);
        if (a) attrs.push(a);
        else if (id !== 0) inputs[slot.slot] = [name(id)];
      } else if (id !== 0) (inputs[slot] ??= []).push(name(id));
    });
    op.results.forEach((r, k) => {
      if (r.id !== 0) (outputs[spec?.outputs[k] ?? `out${k}`] ??= []).push(name(r.id));
    });
    for (const d of spec?.defaults ?? []) if (!attrs.some((a) => a.name === d.name)) attrs.push(d);
    return special(op, spec?.type ?? op.name, inputs, outputs, attrs, values, feedCol.get(op) ?? 0);
  });

  const kept: PaddleOp[] = [];
  const unknown = new Map<string, number>();
  ops.forEach((op, k) => {
    const out = op.results[0]?.id;
    const allFolded =
      CONSTANTS.has(op.name) && out !== undefined && (uses.get(out) ?? 0) > 0 && folded.get(out) === uses.get(out);
    if (allFolded) return;
    if (!pirOpSpec(op.name) && !['pd_op.data', 'pd_op.feed', 'pd_op.fetch'].includes(op.name))
      unknown.set(op.name, (unknown.get(op.name) ?? 0) + 1);
    if (op.regions > 0)
      notes.push(`op ${op.index} (${op.name}) has ${op.regions} nested region(s); their ops are not translated`);
    kept.push(translated[k]!);
    for (const r of op.results) {
      const v = values.get(r.id);
      if (v && v.name !== 'fetch')
        vars.push({
          name: v.name,
          type: VAR_TYPE_CODE.LOD_TENSOR,
          persistable: false,
          dataType: v.dataType,
          dims: v.dims,
        });
    }
  });
  const nFolded = [...folded.keys()].filter((id) => folded.get(id) === uses.get(id)).length;
  if (nFolded > 0) notes.push(`${nFolded} constant ops (pd_op.full_int_array / pd_op.full) folded into attributes`);
  if (unknown.size > 0)
    notes.push(`ops kept under their PIR names: ${[...unknown].map(([n, c]) => `${n} x${c}`).join(', ')}`);
  if (feeds > 0) vars.push({ name: 'feed', type: VAR_TYPE_CODE.FEED_MINIBATCH, persistable: true });
  if (kept.some((o) => o.type === 'fetch'))
    vars.push({ name: 'fetch', type: VAR_TYPE_CODE.FETCH_LIST, persistable: true });

  const saved = [...params.filter((p) => p.persistable !== false).map((p) => p.name)];
  for (const op of ops) {
    if (op.name === 'pd_op.data' && op.attrs.some((a) => a.name === 'persistable') && op.results[0])
      saved.push(name(op.results[0].id));
  }
  const program: PaddleProgram = { blocks: [{ idx: 0, parentIdx: -1, vars, ops: kept }] };
  return { program, paramNames: saved.sort(byCodePoint), notes };
}

/** The few ops whose ProgramDesc form is not a renaming: feed / fetch slots, attributes derived from types. */
function special(
  op: RawOp,
  type: string,
  inputs: Record<string, string[]>,
  outputs: Record<string, string[]>,
  attrs: PaddleAttr[],
  values: ReadonlyMap<number, Value>,
  feedIndex: number,
): PaddleOp {
  if (op.name === 'pd_op.data' || op.name === 'pd_op.feed') {
    const col = attrs.find((a) => a.name === 'col')?.value;
    const out = op.results[0] ? [values.get(op.results[0].id)!.name] : [];
    return {
      type: 'feed',
      inputs: { X: ['feed'] },
      outputs: { Out: out },
      attrs: [{ name: 'col', type: ATTR_TYPE.INT, value: typeof col === 'number' ? col : feedIndex }],
    };
  }
  if (op.name === 'pd_op.fetch') {
    // ProgramDesc's fetch has only `col`; PIR's `name` (fetch_name_0) is the writer's label for the target.
    return {
      type: 'fetch',
      inputs: { X: inputs.in0 ?? [] },
      outputs: { Out: ['fetch'] },
      attrs: attrs.filter((a) => a.name === 'col'),
    };
  }
  if (type === 'reduce_mean' || type === 'reduce_sum') {
    const dim = attrs.find((a) => a.name === 'dim')?.value;
    if (Array.isArray(dim) && !attrs.some((a) => a.name === 'reduce_all'))
      attrs.push({ name: 'reduce_all', type: ATTR_TYPE.BOOLEAN, value: dim.length === 0 });
  }
  if (type === 'cast') {
    const from = values.get(op.operands[0] ?? 0)?.dataType;
    if (from !== undefined) attrs.push({ name: 'in_dtype', type: ATTR_TYPE.INT, value: from });
  }
  return { type, inputs, outputs, attrs };
}
