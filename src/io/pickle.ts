// Restricted pickle reader (protocols 0-5, the opcodes torch.save and plain Python containers use) and a small
// protocol-2 writer. The reader never executes anything: a GLOBAL resolves only to entries of an explicit
// allow-list, and calling it (REDUCE) runs our own TypeScript implementation of that callable.
import { FormatError } from '../errors.js';

// ---------------------------------------------------------------------------------------------------------
// Values

/** A Python tuple. */
export class PyTuple {
  /** Indices of items the pickle stored as floats (set by the unpickler; absent when none). */
  floatAt?: ReadonlySet<number>;
  constructor(readonly items: PyValue[]) {}
  get length(): number {
    return this.items.length;
  }
}
export function pyTuple(...items: PyValue[]): PyTuple {
  return new PyTuple(items);
}

/** A Python dict (insertion ordered, any hashable primitive key). */
export type PyDict = Map<PyKey, PyValue>;
export type PyKey = string | number | bigint | boolean | null | PyTuple;

/** collections.OrderedDict: a Map; `attrs` holds state set through BUILD (torch puts `_metadata` there). */
export class PyOrderedDict extends Map<PyKey, PyValue> {
  attrs?: PyDict;
}

/** Python set / frozenset (elements kept in order of appearance). */
export class PySet {
  constructor(readonly items: PyValue[], readonly frozen = false) {}
}

/** Forces a Python float when writing (a JS number that is an integer is otherwise written as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
}
export function pyFloat(v: number): PyFloat {
  return new PyFloat(v);
}

/** A reference to `module.name` (writer: emitted as GLOBAL). */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Writer: `callable(*args)` (emitted as callable, args-tuple, REDUCE). */
export class PyReduce {
  constructor(readonly callable: PyGlobal, readonly args: PyTuple, readonly state?: PyValue) {}
}

/** Writer: a persistent id (emitted as pid, BINPERSID). */
export class PyPersistent {
  constructor(readonly pid: PyValue) {}
}

/**
 * Anything the unpickler can produce. `object` covers values produced by allow-listed callables (e.g. torch
 * tensors) and the writer-only marker classes.
 */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PySet | object;

/** An allow-listed callable: what REDUCE / NEWOBJ call with the unpickled arguments. */
export interface PyCallable {
  readonly qualname: string;
  /** `floatAt`: indices of `args` the pickle stored as floats (see PyTuple.floatAt). */
  call(args: PyValue[], offset: number, floatAt?: ReadonlySet<number>): PyValue;
}

function isCallable(v: unknown): v is PyCallable {
  return typeof v === 'object' && v !== null && typeof (v as PyCallable).call === 'function' && typeof (v as PyCallable).qualname === 'string';
}

/** The complete allow-list: a GLOBAL naming anything else is refused, whatever the caller provides. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch.FloatStorage', 'torch.HalfStorage', 'torch.BFloat16Storage', 'torch.DoubleStorage',
  'torch.LongStorage', 'torch.IntStorage', 'torch.ByteStorage', 'torch.BoolStorage',
  'builtins.set', 'builtins.frozenset', '__builtin__.set', '__builtin__.frozenset',
]);

/** Callables every unpickle gets (plain containers). Torch-specific ones come from torch.ts. */
export const CONTAINER_GLOBALS: Record<string, PyCallable> = {
  'collections.OrderedDict': {
    qualname: 'collections.OrderedDict',
    call(args) {
      const od = new PyOrderedDict();
      const init = args[0];
      if (init instanceof Map) for (const [k, v] of init) od.set(k, v);
      else if (Array.isArray(init)) {
        for (const kv of init) if (kv instanceof PyTuple && kv.length === 2) od.set(kv.items[0] as PyKey, kv.items[1]);
      }
      return od;
    },
  },
  'builtins.set': { qualname: 'builtins.set', call: (args) => new PySet(Array.isArray(args[0]) ? args[0] : []) },
  'builtins.frozenset': { qualname: 'builtins.frozenset', call: (args) => new PySet(Array.isArray(args[0]) ? args[0] : [], true) },
  '__builtin__.set': { qualname: '__builtin__.set', call: (args) => new PySet(Array.isArray(args[0]) ? args[0] : []) },
  '__builtin__.frozenset': { qualname: '__builtin__.frozenset', call: (args) => new PySet(Array.isArray(args[0]) ? args[0] : [], true) },
};

export interface UnpickleOptions {
  /** File name for error messages. */
  file: string;
  /** Implementations of allow-listed globals (merged over CONTAINER_GLOBALS). */
  globals?: Record<string, PyCallable>;
  /** Implements BINPERSID / PERSID (torch: storages). Without it, persistent ids are an error. */
  persistentLoad?(pid: PyValue, offset: number): PyValue;
  /** Byte offset of `bytes` inside the file, added to offsets in messages. */
  baseOffset?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Reader

const OPNAMES: Record<number, string> = {};
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68,
  LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, PUT: 0x70, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73,
  TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89,
  LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
  BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;
for (const [k, v] of Object.entries(OP)) OPNAMES[v] = k;

const MARK_OBJ = Symbol('mark');

/** Decodes a little-endian two's complement integer (LONG1/LONG4), as a number when exact, else a bigint. */
export function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  if (b.length <= 6) {
    let v = 0;
    for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
    if (b[b.length - 1] & 0x80) v -= 2 ** (8 * b.length);
    return v;
  }
  // one hex string and one BigInt parse: linear in the length (shifting a growing BigInt byte by byte is quadratic)
  const hex = new Array<string>(b.length);
  for (let i = b.length - 1, j = 0; i >= 0; i--, j++) hex[j] = HEX[b[i]];
  let v = BigInt('0x' + hex.join(''));
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Python's default int_max_str_digits: longer decimal literals are refused (BigInt parsing is superlinear). */
export const MAX_INT_DIGITS = 4300;

/**
 * A float on the unpickler's stack. Floats are unboxed as soon as a container or a call takes them, except that a
 * tuple records which of its items were floats (`PyTuple.floatAt`): torch sizes and strides must be ints, and a
 * JS number alone cannot tell 3.0 from 3.
 */
class FloatBox {
  constructor(readonly v: number) {}
}
const unbox = (x: unknown): unknown => (x instanceof FloatBox ? x.v : x);

/**
 * Unpickles `bytes` with the restricted machine. Throws FormatError naming the file and byte offset for an unknown
 * opcode, a disallowed global (`module.name`), a truncated stream or a malformed structure.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PyValue {
  const file = opts.file;
  const base = opts.baseOffset ?? 0;
  const globals: Record<string, PyCallable> = { ...CONTAINER_GLOBALS, ...(opts.globals ?? {}) };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opPos = 0;
  let op = 0;

  const fail = (msg: string): never => {
    throw new FormatError(file, `pickle: ${msg} (opcode ${OPNAMES[op] ?? '0x' + op.toString(16)} at offset ${base + opPos})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > bytes.length) fail(`truncated: need ${n} byte(s) at offset ${base + pos}, data ends at ${base + bytes.length}`);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const s = bytes.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  const u8 = (): number => { need(1); return bytes[pos++]; };
  const u16 = (): number => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = dv.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const lo = dv.getUint32(pos, true), hi = dv.getUint32(pos + 4, true);
    pos += 8;
    if (hi > 0x1fffff) fail('64-bit length too large');
    return hi * 0x100000000 + lo;
  };
  const readline = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: missing newline');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  };
  const decodeUtf8 = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in string');
    }
  };
  const popRaw = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop();
    if (v === MARK_OBJ) fail('unexpected MARK');
    return v;
  };
  const pop = (): unknown => unbox(popRaw());
  const tuple = (raw: unknown[]): PyTuple => {
    let floats: Set<number> | undefined;
    const items = raw.map((x, i) => {
      if (!(x instanceof FloatBox)) return x as PyValue;
      (floats ??= new Set()).add(i);
      return x.v;
    });
    const t = new PyTuple(items);
    if (floats) t.floatAt = floats;
    return t;
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMarkRaw = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('no MARK on the stack');
    stack = prev!;
    return items;
  };
  const popMark = (): unknown[] => {
    const items = popMarkRaw();
    for (let i = 0; i < items.length; i++) if (items[i] instanceof FloatBox) items[i] = (items[i] as FloatBox).v;
    return items;
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} not defined`);
    return memo.get(i);
  };
  const memoPut = (i: number): void => {
    memo.set(i, top());
  };
  const resolveGlobal = (module: string, name: string): PyCallable => {
    const q = `${module}.${name}`;
    const impl = globals[q];
    if (!ALLOWED_GLOBALS.has(q) || !impl) return fail(`global '${q}' is not allowed (the reader only accepts a fixed allow-list of torch/collections names)`);
    return impl;
  };
  const asKey = (k: unknown): PyKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k instanceof PyTuple) return k;
    return fail('unhashable dict key');
  };
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!(d instanceof Map)) fail('SETITEM(S) target is not a dict');
    if (items.length % 2) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (d as PyDict).set(asKey(items[i]), items[i + 1] as PyValue);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!isCallable(fn)) fail('REDUCE/NEWOBJ on a value that is not an allow-listed callable');
    if (!(args instanceof PyTuple)) fail('REDUCE/NEWOBJ arguments are not a tuple');
    return (fn as PyCallable).call((args as PyTuple).items, base + opPos, (args as PyTuple).floatAt);
  };
  const persistent = (pid: unknown): unknown => {
    if (!opts.persistentLoad) fail('persistent id found, but this file type does not allow them');
    return opts.persistentLoad!(pid as PyValue, base + opPos);
  };

  while (pos < bytes.length) {
    opPos = pos;
    op = bytes[pos++];
    switch (op) {
      case OP.PROTO: {
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case OP.FRAME: u64(); break;
      case OP.STOP: {
        if (stack.length !== 1 || metastack.length) fail(`STOP with ${stack.length} value(s) on the stack and ${metastack.length} open MARK(s)`);
        return unbox(stack[0]) as PyValue;
      }
      case OP.MARK: metastack.push(stack); stack = []; break;
      case OP.POP: if (stack.length) stack.pop(); else popMark(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: stack.push(top()); break;
      case OP.NONE: stack.push(null); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.BININT: stack.push(i32()); break;
      case OP.BININT1: stack.push(u8()); break;
      case OP.BININT2: stack.push(u16()); break;
      case OP.LONG1: stack.push(decodeLong(take(u8()))); break;
      case OP.LONG4: {
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(decodeLong(take(n)));
        break;
      }
      case OP.INT: {
        const s = readline();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else {
          if (!/^[-+]?\d+$/.test(s)) fail(`bad INT literal '${s.slice(0, 40)}'`);
          if (s.length > MAX_INT_DIGITS) fail(`INT literal of ${s.length} digits exceeds the limit of ${MAX_INT_DIGITS} (as Python's int_max_str_digits)`);
          const b = BigInt(s);
          stack.push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        }
        break;
      }
      case OP.LONG: {
        const s = readline().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) fail(`bad LONG literal '${s.slice(0, 40)}'`);
        if (s.length > MAX_INT_DIGITS) fail(`LONG literal of ${s.length} digits exceeds the limit of ${MAX_INT_DIGITS} (as Python's int_max_str_digits)`);
        const b = BigInt(s);
        stack.push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        break;
      }
      case OP.FLOAT: {
        const s = readline();
        const v = Number(s);
        if (s.trim() === '' || (Number.isNaN(v) && !/nan/i.test(s))) fail(`bad FLOAT literal '${s.slice(0, 40)}'`);
        stack.push(new FloatBox(v));
        break;
      }
      case OP.BINFLOAT: need(8); stack.push(new FloatBox(dv.getFloat64(pos, false))); pos += 8; break;
      case OP.BINUNICODE: stack.push(decodeUtf8(take(u32()))); break;
      case OP.SHORT_BINUNICODE: stack.push(decodeUtf8(take(u8()))); break;
      case OP.BINUNICODE8: stack.push(decodeUtf8(take(u64()))); break;
      case OP.UNICODE: {
        // raw-unicode-escape: latin-1 bytes with \uXXXX / \UXXXXXXXX escapes
        const raw = readline();
        stack.push(raw.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) => {
          const cp = parseInt(a ?? b!, 16);
          if (cp > 0x10ffff) return fail('bad \\U escape');
          return String.fromCodePoint(cp);
        }));
        break;
      }
      case OP.BINSTRING: {
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(latin1.decode(take(n)));
        break;
      }
      case OP.SHORT_BINSTRING: stack.push(latin1.decode(take(u8()))); break;
      case OP.STRING: {
        const s = readline();
        const m = /^(['"])(.*)\1$/s.exec(s);
        if (!m) fail('bad STRING literal');
        stack.push(m![2]);
        break;
      }
      case OP.BINBYTES: stack.push(take(u32()).slice()); break;
      case OP.SHORT_BINBYTES: stack.push(take(u8()).slice()); break;
      case OP.BINBYTES8: case OP.BYTEARRAY8: stack.push(take(u64()).slice()); break;
      case OP.EMPTY_LIST: stack.push([]); break;
      case OP.EMPTY_TUPLE: stack.push(new PyTuple([])); break;
      case OP.EMPTY_DICT: stack.push(new Map()); break;
      case OP.EMPTY_SET: stack.push(new PySet([])); break;
      case OP.APPEND: {
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail('APPEND target is not a list');
        (l as unknown[]).push(v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail('APPENDS target is not a list');
        for (const v of items) (l as unknown[]).push(v);
        break;
      }
      case OP.LIST: { const items = popMark(); stack.push(items); break; }
      case OP.TUPLE: { const items = popMarkRaw(); stack.push(tuple(items)); break; }
      case OP.TUPLE1: { const a = popRaw(); stack.push(tuple([a])); break; }
      case OP.TUPLE2: { const b = popRaw(), a = popRaw(); stack.push(tuple([a, b])); break; }
      case OP.TUPLE3: { const c = popRaw(), b = popRaw(), a = popRaw(); stack.push(tuple([a, b, c])); break; }
      case OP.DICT: { const items = popMark(); const d = new Map(); setItems(d, items); stack.push(d); break; }
      case OP.SETITEM: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break; }
      case OP.ADDITEMS: {
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) fail('ADDITEMS target is not a set');
        // a loop, not push(...items): 300k spread arguments overflow the call stack
        const dst = (s as PySet).items;
        for (const v of items) dst.push(v as PyValue);
        break;
      }
      case OP.FROZENSET: { const items = popMark(); stack.push(new PySet(items as PyValue[], true)); break; }
      case OP.BINPUT: memoPut(u8()); break;
      case OP.LONG_BINPUT: memoPut(u32()); break;
      case OP.MEMOIZE: memoPut(memo.size); break;
      case OP.PUT: {
        const s = readline();
        if (!/^\d+$/.test(s)) fail('bad PUT index');
        memoPut(Number(s));
        break;
      }
      case OP.BINGET: stack.push(memoGet(u8())); break;
      case OP.LONG_BINGET: stack.push(memoGet(u32())); break;
      case OP.GET: {
        const s = readline();
        if (!/^\d+$/.test(s)) fail('bad GET index');
        stack.push(memoGet(Number(s)));
        break;
      }
      case OP.GLOBAL: {
        const module = readline();
        const name = readline();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop(), module = pop();
        if (typeof name !== 'string' || typeof module !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop(), fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop(), cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (obj instanceof PyOrderedDict) {
          if (state instanceof Map) obj.attrs = state as PyDict;
          else if (state instanceof PyTuple && state.items[1] instanceof Map) obj.attrs = state.items[1] as PyDict;
          else if (state !== null) fail('unsupported BUILD state for OrderedDict');
        } else if (typeof obj === 'object' && obj !== null && typeof (obj as { setState?: unknown }).setState === 'function') {
          (obj as { setState(s: unknown): void }).setState(state);
        } else {
          fail('BUILD on an object that does not accept state');
        }
        break;
      }
      case OP.BINPERSID: stack.push(persistent(pop())); break;
      case OP.PERSID: stack.push(persistent(readline())); break;
      default:
        fail(`unknown or unsupported opcode byte 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
  op = -1;
  opPos = pos;
  throw new FormatError(file, `pickle: data ended at offset ${base + pos} without a STOP opcode (truncated?)`);
}

// ---------------------------------------------------------------------------------------------------------
// Writer (protocol 2, as torch.save)

export interface PickleWriteOptions {
  /** Converts values the writer does not know (e.g. tensors) into PyReduce/PyPersistent/... graphs. */
  convert?(value: unknown): PyValue | undefined;
}

class ByteSink {
  buf = new Uint8Array(1024);
  n = 0;
  private grow(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + k) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  byte(b: number): void { this.grow(1); this.buf[this.n++] = b; }
  bytes(b: Uint8Array): void { this.grow(b.length); this.buf.set(b, this.n); this.n += b.length; }
  u16(v: number): void { this.grow(2); new DataView(this.buf.buffer).setUint16(this.n, v, true); this.n += 2; }
  u32(v: number): void { this.grow(4); new DataView(this.buf.buffer).setUint32(this.n, v, true); this.n += 4; }
  i32(v: number): void { this.grow(4); new DataView(this.buf.buffer).setInt32(this.n, v, true); this.n += 4; }
  f64be(v: number): void { this.grow(8); new DataView(this.buf.buffer).setFloat64(this.n, v, false); this.n += 8; }
  result(): Uint8Array { return this.buf.slice(0, this.n); }
}

function encodeLongBytes(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let x = v;
  for (;;) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
    const last = out[out.length - 1];
    if ((x === 0n && !(last & 0x80)) || (x === -1n && last & 0x80)) break;
  }
  return Uint8Array.from(out);
}

/** Serialises a value graph with pickle protocol 2 (what torch.save writes). */
export function encodePickle(value: unknown, opts: PickleWriteOptions = {}): Uint8Array {
  const w = new ByteSink();
  const enc = new TextEncoder();
  w.byte(OP.PROTO);
  w.byte(2);
  const str = (s: string): void => {
    const b = enc.encode(s);
    w.byte(OP.BINUNICODE);
    w.u32(b.length);
    w.bytes(b);
  };
  const int = (v: number | bigint): void => {
    if (typeof v === 'number' && v >= 0 && v < 256) { w.byte(OP.BININT1); w.byte(v); }
    else if (typeof v === 'number' && v >= 0 && v < 65536) { w.byte(OP.BININT2); w.u16(v); }
    else if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) { w.byte(OP.BININT); w.i32(v); }
    else {
      const b = encodeLongBytes(BigInt(v));
      if (b.length > 255) throw new RangeError('encodePickle: integer too large');
      w.byte(OP.LONG1); w.byte(b.length); w.bytes(b);
    }
  };
  const dictItems = (entries: Iterable<[unknown, unknown]>, depth: number): void => {
    let open = false;
    for (const [k, v] of entries) {
      if (!open) { w.byte(OP.MARK); open = true; }
      emit(k, depth + 1);
      emit(v, depth + 1);
    }
    if (open) w.byte(OP.SETITEMS);
  };
  const emit = (v: unknown, depth: number): void => {
    if (depth > 500) throw new RangeError('encodePickle: structure too deep (cycle?)');
    if (v === null || v === undefined) { w.byte(OP.NONE); return; }
    if (v === true) { w.byte(OP.NEWTRUE); return; }
    if (v === false) { w.byte(OP.NEWFALSE); return; }
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) int(v);
      else { w.byte(OP.BINFLOAT); w.f64be(v); }
      return;
    }
    if (typeof v === 'bigint') { int(v); return; }
    if (typeof v === 'string') { str(v); return; }
    if (v instanceof PyFloat) { w.byte(OP.BINFLOAT); w.f64be(v.value); return; }
    if (v instanceof PyGlobal) {
      w.byte(OP.GLOBAL);
      w.bytes(enc.encode(`${v.module}\n${v.name}\n`));
      return;
    }
    if (v instanceof PyReduce) {
      emit(v.callable, depth + 1);
      emit(v.args, depth + 1);
      w.byte(OP.REDUCE);
      if (v.state !== undefined) { emit(v.state, depth + 1); w.byte(OP.BUILD); }
      return;
    }
    if (v instanceof PyPersistent) { emit(v.pid, depth + 1); w.byte(OP.BINPERSID); return; }
    if (v instanceof PyTuple) {
      const n = v.items.length;
      if (n === 0) { w.byte(OP.EMPTY_TUPLE); return; }
      if (n > 3) w.byte(OP.MARK);
      for (const x of v.items) emit(x, depth + 1);
      w.byte(n === 1 ? OP.TUPLE1 : n === 2 ? OP.TUPLE2 : n === 3 ? OP.TUPLE3 : OP.TUPLE);
      return;
    }
    if (Array.isArray(v)) {
      w.byte(OP.EMPTY_LIST);
      if (v.length) {
        w.byte(OP.MARK);
        for (const x of v) emit(x, depth + 1);
        w.byte(OP.APPENDS);
      }
      return;
    }
    if (v instanceof PyOrderedDict) {
      w.byte(OP.GLOBAL);
      w.bytes(enc.encode('collections\nOrderedDict\n'));
      w.byte(OP.EMPTY_TUPLE);
      w.byte(OP.REDUCE);
      dictItems(v, depth);
      if (v.attrs) { emit(v.attrs, depth + 1); w.byte(OP.BUILD); }
      return;
    }
    if (v instanceof Map) { w.byte(OP.EMPTY_DICT); dictItems(v, depth); return; }
    const converted = opts.convert?.(v);
    if (converted !== undefined) { emit(converted, depth + 1); return; }
    if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      w.byte(OP.EMPTY_DICT);
      dictItems(Object.entries(v as object), depth);
      return;
    }
    throw new TypeError(`encodePickle: cannot pickle ${Object.prototype.toString.call(v)}`);
  };
  emit(value, 0);
  w.byte(OP.STOP);
  return w.result();
}
