/**
 * Where the dot products run: the WebAssembly SIMD module (dot-kernel-wasm.ts) when the engine has SIMD
 * (every current browser and Node), else the same loops in plain JavaScript, about 5 times slower. Each
 * kernel owns one memory; callers pass byte offsets into it, as the module itself takes them.
 */
import { dotKernelWasm } from './dot-kernel-wasm.ts';

export interface DotKernel {
  readonly kind: 'wasm-simd' | 'js';
  /** The kernel's memory. Growing replaces it: take views after `ensure`, never keep them across one. */
  buffer(): ArrayBuffer;
  /** Makes the memory at least `bytes` long, keeping its contents. */
  ensure(bytes: number): void;
  /** int32 out[r] = int16 q . int8 row r, rows `stride` bytes apart from `codes`, for r < count. */
  dotRange(q: number, codes: number, stride: number, count: number, out: number): void;
  /** The same for rows codes + slots[r] * stride (int32 slots). */
  dotSlots(q: number, codes: number, stride: number, slots: number, count: number, out: number): void;
}

const PAGE = 65536;

let compiled: WebAssembly.Module | null | undefined;

function wasmModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  const bytes = dotKernelWasm();
  try {
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

function wasmKernel(module: WebAssembly.Module, bytes: number): DotKernel {
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as {
    dot_range(q: number, codes: number, stride: number, count: number, out: number): void;
    dot_slots(q: number, codes: number, stride: number, slots: number, count: number, out: number): void;
  };
  return {
    kind: 'wasm-simd',
    buffer: () => memory.buffer,
    ensure(n) {
      const have = memory.buffer.byteLength;
      if (n > have) memory.grow(Math.ceil((n - have) / PAGE));
    },
    dotRange: exports.dot_range,
    dotSlots: exports.dot_slots,
  };
}

function jsKernel(bytes: number): DotKernel {
  let buffer = new ArrayBuffer(Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE));
  let i8 = new Int8Array(buffer);
  let i16 = new Int16Array(buffer);
  let i32 = new Int32Array(buffer);
  const row = (q: number, at: number, stride: number) => {
    let s = 0;
    for (let i = 0; i < stride; i++) s += i16[(q >> 1) + i]! * i8[at + i]!;
    return s;
  };
  return {
    kind: 'js',
    buffer: () => buffer,
    ensure(n) {
      if (n <= buffer.byteLength) return;
      const next = new ArrayBuffer(Math.max(n, buffer.byteLength * 2));
      new Uint8Array(next).set(new Uint8Array(buffer));
      buffer = next;
      i8 = new Int8Array(buffer);
      i16 = new Int16Array(buffer);
      i32 = new Int32Array(buffer);
    },
    dotRange(q, codes, stride, count, out) {
      for (let r = 0; r < count; r++) i32[(out >> 2) + r] = row(q, codes + r * stride, stride);
    },
    dotSlots(q, codes, stride, slots, count, out) {
      for (let r = 0; r < count; r++) i32[(out >> 2) + r] = row(q, codes + i32[(slots >> 2) + r]! * stride, stride);
    },
  };
}

/** A kernel with at least `bytes` of memory; `prefer: 'js'` forces the fallback (tests compare the two). */
export function createDotKernel(bytes: number, prefer: 'wasm-simd' | 'js' = 'wasm-simd'): DotKernel {
  const module = prefer === 'wasm-simd' ? wasmModule() : null;
  return module ? wasmKernel(module, bytes) : jsKernel(bytes);
}
