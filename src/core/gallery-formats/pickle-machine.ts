/**
 * A small pickle machine: enough of Python's pickle protocols 0 to 5 to load plain data (dicts, lists, tuples,
 * ints, strings, bytes) and numpy's scalars, which is what PaddleClas's id_map.pkl holds — its keys come from
 * `np.arange(...).astype(np.int64)`, so each is pickled as numpy.core.multiarray.scalar(dtype('i8'), 8 bytes).
 * Nothing is imported or called: the callables a numpy scalar needs are recognised by name and evaluated by
 * pickle-values.ts, and any other refuses the file. Opcodes are as documented in CPython's Lib/pickletools.py.
 */
import { ByteReader } from './byte-io.ts';
import {
  callGlobal,
  intFromBytes,
  NumpyDtype,
  PyDict,
  PyGlobal,
  pyInt,
  PyTuple,
  type PyValue,
} from './pickle-values.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Protocol 0 strings: latin-1 bytes, with \uXXXX and \UXXXXXXXX escapes (Python's raw-unicode-escape). */
function rawUnicodeEscape(line: string): string {
  return line.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4?: string, u8?: string) =>
    String.fromCodePoint(parseInt((u4 ?? u8)!, 16)),
  );
}

export function unpickle(bytes: Uint8Array, file: string): PyValue {
  const r: ByteReader = new ByteReader(bytes, file);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();

  const pop = (): PyValue => (stack.length > 0 ? stack.pop()! : r.fail('the pickle pops an empty stack'));
  const top = (): PyValue => (stack.length > 0 ? stack[stack.length - 1]! : r.fail('the pickle reads an empty stack'));
  const popMark = (): PyValue[] => {
    const mark = marks.pop();
    if (mark === undefined) r.fail('the pickle closes a MARK it never opened');
    return stack.splice(mark);
  };
  const line = (what: string): string => {
    const end = r.bytes.indexOf(0x0a, r.pos);
    if (end < 0) r.fail(`truncated: ${what} has no end of line`);
    const text = String.fromCharCode(...r.raw(end - r.pos, what));
    r.pos++;
    return text;
  };
  const text = (n: number, what: string): string => {
    const at = r.pos;
    try {
      return utf8.decode(r.raw(n, what));
    } catch {
      return r.fail(`${what} is not valid UTF-8`, at);
    }
  };
  const get = (key: number): PyValue =>
    memo.has(key) ? memo.get(key)! : r.fail(`the pickle reads memo ${key}, never stored`);
  const dictAt = (): PyDict => {
    const d = top();
    return d instanceof PyDict ? d : r.fail('the pickle sets an item on something that is not a dict');
  };
  const listAt = (): PyValue[] => {
    const l = top();
    return Array.isArray(l) ? l : r.fail('the pickle appends to something that is not a list');
  };
  const setItems = (d: PyDict, kv: PyValue[]): void => {
    for (let i = 0; i + 1 < kv.length; i += 2) d.pairs.push([kv[i]!, kv[i + 1]!]);
  };

  for (;;) {
    const at = r.pos;
    const op = r.u8('pickle opcode');
    switch (String.fromCharCode(op)) {
      case '\x80': {
        const protocol = r.u8('protocol');
        if (protocol > 5) r.fail(`pickle protocol ${protocol} is newer than 5, the highest this reader knows`, at);
        break;
      }
      case '\x95': // FRAME: a length hint; the framed opcodes follow inline
        r.u64('frame length');
        break;
      case '.':
        if (stack.length !== 1 || marks.length !== 0) r.fail('the pickle stops with a malformed stack', at);
        return stack[0]!;
      case '(':
        marks.push(stack.length);
        break;
      case '0':
        pop();
        break;
      case '1':
        popMark();
        break;
      case '2':
        stack.push(top());
        break;
      case 'N':
        stack.push(null);
        break;
      case '\x88':
        stack.push(true);
        break;
      case '\x89':
        stack.push(false);
        break;
      case 'I': {
        const s = line('INT');
        if (!/^[-+]?\d+$/.test(s)) r.fail(`INT "${s}" is not an integer`, at);
        stack.push(s === '00' ? false : s === '01' ? true : pyInt(BigInt(s)));
        break;
      }
      case 'L': {
        const s = line('LONG').replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) r.fail(`LONG "${s}" is not an integer`, at);
        stack.push(pyInt(BigInt(s)));
        break;
      }
      case 'J':
        stack.push(r.i32('BININT'));
        break;
      case 'K':
        stack.push(r.u8('BININT1'));
        break;
      case 'M':
        stack.push(r.u16('BININT2'));
        break;
      case '\x8a':
        stack.push(pyInt(intFromBytes(r.raw(r.u8('LONG1 length'), 'LONG1'), true)));
        break;
      case '\x8b':
        stack.push(pyInt(intFromBytes(r.raw(r.i32('LONG4 length'), 'LONG4'), true)));
        break;
      case 'V':
        stack.push(rawUnicodeEscape(line('UNICODE')));
        break;
      case 'X':
        stack.push(text(r.u32('BINUNICODE length'), 'BINUNICODE'));
        break;
      case '\x8c':
        stack.push(text(r.u8('SHORT_BINUNICODE length'), 'SHORT_BINUNICODE'));
        break;
      case '\x8d':
        stack.push(text(r.u64('BINUNICODE8 length'), 'BINUNICODE8'));
        break;
      case 'T': // Python 2 str: its bytes were UTF-8 text for anything a gallery list holds
        stack.push(text(r.i32('BINSTRING length'), 'BINSTRING'));
        break;
      case 'U':
        stack.push(text(r.u8('SHORT_BINSTRING length'), 'SHORT_BINSTRING'));
        break;
      case 'B':
        stack.push(r.raw(r.u32('BINBYTES length'), 'BINBYTES').slice());
        break;
      case 'C':
        stack.push(r.raw(r.u8('SHORT_BINBYTES length'), 'SHORT_BINBYTES').slice());
        break;
      case '\x8e':
      case '\x96':
        stack.push(r.raw(r.u64('BINBYTES8 length'), 'BINBYTES8').slice());
        break;
      case ')':
        stack.push(new PyTuple([]));
        break;
      case 't':
        stack.push(new PyTuple(popMark()));
        break;
      case '\x85':
      case '\x86':
      case '\x87': {
        const n = op - 0x84;
        if (stack.length < n) r.fail(`TUPLE${n} needs ${n} items on the stack`, at);
        stack.push(new PyTuple(stack.splice(stack.length - n)));
        break;
      }
      case ']':
        stack.push([]);
        break;
      case 'l':
        stack.push(popMark());
        break;
      case 'a': {
        const v = pop();
        listAt().push(v);
        break;
      }
      case 'e': {
        const items = popMark();
        listAt().push(...items);
        break;
      }
      case '}':
        stack.push(new PyDict());
        break;
      case 'd': {
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 's': {
        const v = pop();
        const k = pop();
        dictAt().pairs.push([k, v]);
        break;
      }
      case 'u': {
        const kv = popMark();
        setItems(dictAt(), kv);
        break;
      }
      case 'p':
        memo.set(Number(line('PUT')), top());
        break;
      case 'q':
        memo.set(r.u8('BINPUT'), top());
        break;
      case 'r':
        memo.set(r.u32('LONG_BINPUT'), top());
        break;
      case '\x94':
        memo.set(memo.size, top());
        break;
      case 'g':
        stack.push(get(Number(line('GET'))));
        break;
      case 'h':
        stack.push(get(r.u8('BINGET')));
        break;
      case 'j':
        stack.push(get(r.u32('LONG_BINGET')));
        break;
      case 'c': {
        const module = line('GLOBAL module');
        stack.push(new PyGlobal(module, line('GLOBAL name')));
        break;
      }
      case '\x93': {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') r.fail('STACK_GLOBAL needs two strings', at);
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 'R': {
        const args = pop();
        const result = callGlobal(pop(), args);
        if (!result.ok) r.fail(result.reason, at);
        stack.push(result.value);
        break;
      }
      case 'b': {
        const state = pop();
        const target = top();
        // numpy.dtype's state is (version, byteorder, ...): the byte order is all a scalar needs.
        if (!(target instanceof NumpyDtype && state instanceof PyTuple && typeof state.items[1] === 'string')) {
          r.fail('the pickle sets the state of an object this reader does not build', at);
        }
        target.byteOrder = state.items[1];
        break;
      }
      default:
        r.fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} is not one this reader knows`, at);
    }
  }
}
