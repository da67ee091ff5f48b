import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../../src/errors.js';
import {
  unpickle, encodePickle, PyTuple, PyOrderedDict, PySet, PyGlobal, PyReduce, PyPersistent, pyFloat, decodeLong, type PyValue,
} from '../../src/io/pickle.js';

// Vectors made once with CPython's pickle (protocols 0-5) over plain containers; `expected` is a canonical JSON form.
const VECTORS = JSON.parse(readFileSync(fileURLToPath(new URL('./pickle_vectors.json', import.meta.url)), 'utf8')) as {
  protocol: number; b64: string; expected: unknown;
}[];

function canon(v: PyValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return { __int__: v.toString() };
  if (v instanceof Uint8Array) return { __bytes__: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(canon);
  if (v instanceof PyTuple) return { __tuple__: v.items.map(canon) };
  if (v instanceof PySet) {
    const items = v.items.map(canon).sort((a, b) => (a as number) - (b as number));
    return v.frozen ? { __frozenset__: items } : { __set__: items };
  }
  if (v instanceof Map) return { __dict__: [...v].map(([k, x]) => [canon(k as PyValue), canon(x)]), ordered: v instanceof PyOrderedDict };
  throw new Error(`unexpected ${String(v)}`);
}

for (const vec of VECTORS) {
  test(`CPython pickle protocol ${vec.protocol} of plain containers`, () => {
    const bytes = new Uint8Array(Buffer.from(vec.b64, 'base64'));
    const v = unpickle(bytes, { file: `vec${vec.protocol}.pkl` });
    assert.equal(canon(v), vec.expected);
  });
}

test('shared references stay shared (memo)', () => {
  const v = unpickle(new Uint8Array(Buffer.from(VECTORS[2].b64, 'base64')), { file: 'x' }) as Map<unknown, PyValue>;
  const shared = v.get('shared') as PyValue[][];
  assert.ok(shared[0] === shared[1]);
});

function expectFormatError(fn: () => unknown, ...needles: (string | RegExp)[]): FormatError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, FormatError, String(e));
    for (const n of needles) assert.match((e as Error).message, n);
    return e as FormatError;
  }
  assert.unreachable('expected a FormatError');
  throw new Error('unreachable');
}

test('unknown opcode: FormatError naming the opcode byte and offset', () => {
  const bytes = Uint8Array.from([0x80, 0x02, 0x7d, 0xff, 0x2e]);
  expectFormatError(() => unpickle(bytes, { file: 'bad.pkl' }), 'bad.pkl', /0xff/, /offset 3/);
});

test('disallowed globals are refused by name, nothing runs', () => {
  const enc = new TextEncoder();
  const evil = new Uint8Array([0x80, 0x02, ...enc.encode('cposix\nsystem\n'), 0x58, 2, 0, 0, 0, ...enc.encode('id'), 0x85, 0x52, 0x2e]);
  expectFormatError(() => unpickle(evil, { file: 'evil.pkl' }), 'evil.pkl', "'posix.system'", /offset 2/);
  // even a torch name that is not on the allow-list
  const t = new Uint8Array([0x80, 0x02, ...enc.encode('ctorch\nload\n'), 0x2e]);
  expectFormatError(() => unpickle(t, { file: 't.pkl' }), "'torch.load'");
  // an allow-listed name without an implementation (a plain unpickle has no torch callables)
  const r = new Uint8Array([0x80, 0x02, ...enc.encode('ctorch._utils\n_rebuild_tensor_v2\n'), 0x2e]);
  expectFormatError(() => unpickle(r, { file: 'r.pkl' }), '_rebuild_tensor_v2');
  // STACK_GLOBAL path (protocol 4)
  const s = new Uint8Array([0x80, 0x04, 0x8c, 2, ...enc.encode('os'), 0x8c, 6, ...enc.encode('system'), 0x93, 0x2e]);
  expectFormatError(() => unpickle(s, { file: 's.pkl' }), "'os.system'");
});

test('truncated streams and structural errors', () => {
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x58, 0x10, 0, 0, 0, 0x41]), { file: 'a' }), /truncated/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x7d]), { file: 'b' }), /without a STOP/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x30, 0x2e]), { file: 'c' }), /no MARK|underflow/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]), { file: 'd' }), /memo key 5/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x73, 0x2e]), { file: 'e' }), /not a dict/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 1, 0x29, 0x52, 0x2e]), { file: 'f' }), /not an allow-listed callable/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 1, 0x51, 0x2e]), { file: 'g' }), /persistent id/);
  expectFormatError(() => unpickle(Uint8Array.from([0x80, 0x09, 0x2e]), { file: 'h' }), /protocol 9/);
});

test('LONG1 decoding', () => {
  assert.is(decodeLong(Uint8Array.from([])), 0);
  assert.is(decodeLong(Uint8Array.from([0xff])), -1);
  assert.is(decodeLong(Uint8Array.from([0x00, 0x80])), -32768);
  assert.is(decodeLong(Uint8Array.from([0xff, 0x00])), 255);
  assert.is(decodeLong(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1])), 2n ** 64n);
});

test('writer round-trips through the reader', () => {
  const od = new PyOrderedDict([['w', pyFloat(2)]]);
  od.attrs = new Map([['_metadata', new PyOrderedDict()]]);
  const value = new Map<unknown, unknown>([
    ['ints', [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)]],
    ['big', 2n ** 80n],
    ['negbig', -(2n ** 70n)],
    ['floats', [1.5, -0, Infinity, 1e-300]],
    ['str', 'héllo ✓ 𝄞'],
    ['tuples', [new PyTuple([]), new PyTuple([1]), new PyTuple([1, 2]), new PyTuple([1, 2, 3]), new PyTuple([1, 2, 3, 4, 5])]],
    ['none', null], ['t', true], ['f', false], ['empty', []], ['emptyd', new Map()],
    ['od', od],
    ['plain', { a: 1, b: { c: 'd' } }],
    [7, 'int key'],
  ]);
  const back = unpickle(encodePickle(value), { file: 'rt' }) as Map<unknown, PyValue>;
  assert.equal(back.get('ints'), [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)]);
  assert.is(back.get('big'), 2n ** 80n);
  assert.is(back.get('negbig'), -(2n ** 70n));
  const fl = back.get('floats') as number[];
  assert.is(fl[0], 1.5);
  assert.ok(Object.is(fl[1], -0));
  assert.is(fl[2], Infinity);
  assert.is(back.get('str'), 'héllo ✓ 𝄞');
  assert.equal((back.get('tuples') as PyTuple[]).map((t) => t.items), [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4, 5]]);
  assert.is(back.get('none'), null);
  const bod = back.get('od');
  assert.instance(bod, PyOrderedDict);
  assert.is((bod as PyOrderedDict).get('w'), 2);
  assert.ok((bod as PyOrderedDict).attrs?.get('_metadata') instanceof PyOrderedDict);
  assert.is(((back.get('plain') as Map<string, PyValue>).get('b') as Map<string, PyValue>).get('c'), 'd');
  assert.is(back.get(7), 'int key');
});

test('writer emits GLOBAL/REDUCE/BINPERSID graphs (read back with matching hooks)', () => {
  const g = new PyGlobal('torch._utils', '_rebuild_parameter');
  const bytes = encodePickle(new PyReduce(g, new PyTuple([new PyPersistent(new PyTuple(['storage', 3])), true, new PyOrderedDict()])));
  const seen: PyValue[] = [];
  const v = unpickle(bytes, {
    file: 'p',
    globals: { 'torch._utils._rebuild_parameter': { qualname: 'torch._utils._rebuild_parameter', call: (args) => ({ rebuilt: args[0] }) } },
    persistentLoad: (pid) => { seen.push(pid); return 'STORAGE'; },
  });
  assert.equal(v, { rebuilt: 'STORAGE' });
  assert.equal((seen[0] as PyTuple).items, ['storage', 3]);
});

test('writer refuses unknown objects and cycles', () => {
  assert.throws(() => encodePickle(new Date()), /cannot pickle/);
  const a: unknown[] = [];
  a.push(a);
  assert.throws(() => encodePickle(a), /too deep/);
});

test('LONG1/LONG4 decode to the exact two\'s complement value at any length (linear hex path)', () => {
  for (const n of [1, 6, 7, 8, 9, 33, 255, 4096]) {
    for (const fill of [0x00, 0x5a, 0x80, 0xff]) {
      const b = new Uint8Array(n).fill(fill);
      b[0] = 0x01;
      let ref = 0n;
      for (let i = n - 1; i >= 0; i--) ref = (ref << 8n) | BigInt(b[i]);
      if (b[n - 1] & 0x80) ref -= 1n << BigInt(8 * n);
      const v = decodeLong(b);
      assert.is(BigInt(v), ref, `${n} bytes of 0x${fill.toString(16)}`);
      assert.is(typeof v, ref >= BigInt(Number.MIN_SAFE_INTEGER) && ref <= BigInt(Number.MAX_SAFE_INTEGER) ? 'number' : 'bigint');
    }
  }
});

test('tuples remember which items were floats; ADDITEMS of 300k items; INT literals over 4300 digits are refused', () => {
  const t = unpickle(encodePickle(new PyTuple([1, pyFloat(2), 3.5, 'x'])), { file: 'f' }) as PyTuple;
  assert.equal(t.items, [1, 2, 3.5, 'x']);
  assert.equal([...(t.floatAt ?? [])], [1, 2]);
  assert.is((unpickle(encodePickle(new PyTuple([1, 2])), { file: 'f' }) as PyTuple).floatAt, undefined);
  const n = 300_000;
  const add = new Uint8Array(4 + 2 * n + 2);
  add.set([0x80, 2, 0x8f, 0x28]);
  for (let i = 0; i < n; i++) add.set([0x4b, i & 0xff], 4 + 2 * i);
  add.set([0x90, 0x2e], 4 + 2 * n);
  assert.is((unpickle(add, { file: 'f' }) as PySet).items.length, n);
  const digits = new TextEncoder().encode('I' + '7'.repeat(4301) + '\n.');
  assert.throws(() => unpickle(digits, { file: 'big.pkl' }), (e: unknown) => e instanceof FormatError && /big\.pkl: pickle: INT literal of 4301 digits/.test((e as Error).message));
});

test.run();
