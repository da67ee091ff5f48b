import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AHAMASK_DATA, FIXTURE } from '../helpers/paths.js';
import { FormatError } from '../../src/index.js';
import { MemorySource, type ByteSource } from '../../src/index.js';
import { ZipArchive, writeZip } from '../../src/io/zip.js';
import { encodePickle, PyGlobal, PyOrderedDict, PyPersistent, PyReduce, PyTuple, type PyValue } from '../../src/io/pickle.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import {
  openTorch, encodeTorchSave, materialize, isStoredTensor, tensorValue, TensorValue, float32ToFloat16, float16BitsToFloat32,
  bfloat16BitsToFloat32, type StoredTensor,
} from '../../src/io/torch.js';
import { flattenTensors } from '../../src/io/checkpoint.js';

const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
const mem = (p: string): MemorySource => new MemorySource(load(p), p);
const DERIVED = JSON.parse(readFileSync(join(AHAMASK_DATA, 'derived/masks_13b.json'), 'utf8'));

/** Counts the bytes read through it. */
class CountingSource implements ByteSource {
  bytesRead = 0;
  reads = 0;
  constructor(private inner: ByteSource) {}
  get name(): string { return this.inner.name; }
  get size(): number { return this.inner.size; }
  async read(o: number, n: number): Promise<Uint8Array> {
    this.bytesRead += n;
    this.reads++;
    return this.inner.read(o, n);
  }
}

test('released mask (torch >= 2.1, byteorder record): tensor equals the derived float32 logits', async () => {
  const ck = await openTorch(mem(join(AHAMASK_DATA, 'legacy_checkpoints/gender_librispeech/checkpoint.pth')));
  assert.is(ck.prefix, 'checkpoint');
  assert.is(ck.byteorder, 'little');
  assert.is(ck.version, '3');
  const model = (ck.root as Map<string, PyValue>).get('model');
  assert.instance(model, PyOrderedDict);
  assert.equal((model as PyOrderedDict).attrs?.get('_metadata') instanceof PyOrderedDict, true);
  const t = (model as PyOrderedDict).get('tensor') as StoredTensor;
  assert.ok(isStoredTensor(t));
  assert.is(t.dtype, 'f32');
  assert.equal(t.shape, [1640]);
  assert.equal(t.strides, [1]);
  const v = await t.toFloat32();
  assert.equal(Array.from(v), DERIVED.gender_librispeech.logits.map(Math.fround));
});

test('torch 1.13 files (no byteorder record), archive folder named after the file', async () => {
  const ck = await openTorch(mem(join(FIXTURE, 'masks/tiny_task/checkpoint.pth')));
  assert.is(ck.byteorder, 'little');
  const t = ((ck.root as Map<string, PyValue>).get('model') as Map<string, PyValue>).get('tensor') as StoredTensor;
  assert.equal(t.shape, [15]);
  const beats = await openTorch(mem(join(FIXTURE, 'beats.pt')));
  assert.is(beats.prefix, 'beats');
  const cfg = (beats.root as Map<string, PyValue>).get('cfg') as Map<string, PyValue>;
  assert.is(cfg.get('encoder_layers'), 2);
  assert.is(cfg.get('layer_wise_gradient_decay_ratio'), 0.6);
  assert.is(cfg.get('deep_norm'), true);
  const labels = (beats.root as Map<string, PyValue>).get('label_dict') as Map<number, string>;
  assert.is(labels.get(3), '/m/oracle_003');
});

test('opening reads only the directory and data.pkl; a tensor read reads about its bytes', async () => {
  const src = new CountingSource(mem(join(FIXTURE, 'whisper/pytorch_model.bin')));
  const ck = await openTorch(src);
  const before = src.bytesRead;
  assert.ok(before < 20000, `open read ${before} bytes of ${src.size}`);
  const t = flattenTensors(ck.root, ck.file).get('model.encoder.embed_positions.weight')!;
  const data = await t.toFloat32();
  assert.is(data.length, 1500 * 64);
  assert.ok(src.bytesRead - before <= 1500 * 64 * 4 + 200, `tensor read ${src.bytesRead - before}`);
});

test('torch .bin and .safetensors of the same weights agree bit for bit (f32 and f16)', async () => {
  const pairs: [string, string][] = [
    ['whisper/pytorch_model.bin', 'whisper/model.safetensors'],
    ['vicuna/pytorch_model-00001-of-00002.bin', 'vicuna_safetensors/model-00001-of-00002.safetensors'],
    ['vicuna/pytorch_model-00002-of-00002.bin', 'vicuna_safetensors/model-00002-of-00002.safetensors'],
  ];
  for (const [a, b] of pairs) {
    const t = flattenTensors((await openTorch(mem(join(FIXTURE, a)))).root, a);
    const s = (await openSafetensors(mem(join(FIXTURE, b)))).tensors;
    assert.equal([...t.keys()].sort(), [...s.keys()].sort(), a);
    for (const [k, x] of t) {
      const y = s.get(k)!;
      assert.is(x.dtype, y.dtype, k);
      assert.equal(x.shape, y.shape, k);
      const xa = await x.read(), ya = await y.read();
      assert.ok(Buffer.from(xa.buffer).equals(Buffer.from(ya.buffer)), k);
    }
  }
});

test('f16 weights: toFloat32 and toFloat16Bits', async () => {
  const t = flattenTensors((await openTorch(mem(join(FIXTURE, 'vicuna/pytorch_model-00001-of-00002.bin')))).root, 'v').get('model.embed_tokens.weight')!;
  assert.is(t.dtype, 'f16');
  const bits = await t.toFloat16Bits();
  const f = await t.toFloat32();
  assert.equal(Array.from(float16BitsToFloat32(bits)), Array.from(f));
  // f32 -> f16 of exactly representable values is the identity
  const back = Uint16Array.from(f, float32ToFloat16);
  assert.equal(Array.from(back), Array.from(bits));
});

test('int64 buffers and shared storages', async () => {
  const ck = await openTorch(mem(join(FIXTURE, 'salmonn.pth')));
  const sd = flattenTensors(ck.root, ck.file, '');
  const pos = sd.get('model.speech_Qformer.bert.embeddings.position_ids')!;
  assert.is(pos.dtype, 'i64');
  const v = (await pos.read()) as BigInt64Array;
  assert.is(v.length, 512);
  assert.is(v[511], 511n);
  assert.equal(Array.from(await pos.toFloat32()).slice(0, 3), [0, 1, 2]);
  const beats = flattenTensors((await openTorch(mem(join(FIXTURE, 'beats.pt')))).root, 'beats');
  const a = await beats.get('model.encoder.layers.0.self_attn.relative_attention_bias.weight')!.toFloat32();
  const b = await beats.get('model.encoder.layers.1.self_attn.relative_attention_bias.weight')!.toFloat32();
  assert.equal(Array.from(a), Array.from(b));
});

/** Builds a torch zip with one tensor view over a hand-made storage. */
function handMade(storageType: string, storage: Uint8Array, numel: number, offset: number, size: number[], stride: number[], byteorder = 'little'): Uint8Array {
  const pkl = encodePickle(new Map([['t', new PyReduce(new PyGlobal('torch._utils', '_rebuild_tensor_v2'), new PyTuple([
    new PyPersistent(new PyTuple(['storage', new PyGlobal('torch', storageType), '0', 'cpu', numel])), offset, new PyTuple(size), new PyTuple(stride), false, new PyOrderedDict(),
  ]))]]));
  return writeZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: new TextEncoder().encode(byteorder) },
    { name: 'archive/data/0', data: storage },
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}
async function handTensor(bytes: Uint8Array, name = 'hand.pt'): Promise<StoredTensor> {
  return ((await openTorch(new MemorySource(bytes, name))).root as Map<string, StoredTensor>).get('t')!;
}

test('non-contiguous views (transpose, offset, step) come back contiguous', async () => {
  const base = Float32Array.from({ length: 24 }, (_, i) => i);
  const bytes = new Uint8Array(base.buffer);
  // 3x4 matrix at offset 2, transposed: shape [4,3], strides [1,4]
  const t = await handTensor(handMade('FloatStorage', bytes, 24, 2, [4, 3], [1, 4]));
  assert.equal(Array.from(await t.toFloat32()), [2, 6, 10, 3, 7, 11, 4, 8, 12, 5, 9, 13]);
  // every other element: shape [5], stride [2], offset 3
  const s = await handTensor(handMade('FloatStorage', bytes, 24, 3, [5], [2]));
  assert.equal(Array.from(await s.toFloat32()), [3, 5, 7, 9, 11]);
  // 3-D with a broadcast (stride 0) dim
  const b = await handTensor(handMade('FloatStorage', bytes, 24, 0, [2, 2, 3], [0, 3, 1]));
  assert.equal(Array.from(await b.toFloat32()), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
  // scalar (0-d) and empty tensors
  const z = await handTensor(handMade('FloatStorage', bytes, 24, 7, [], []));
  assert.equal(Array.from(await z.toFloat32()), [7]);
  const e = await handTensor(handMade('FloatStorage', bytes, 24, 0, [0, 3], [3, 1]));
  assert.is((await e.toFloat32()).length, 0);
});

test('shape x dtype exceeding the storage -> FormatError naming the file', async () => {
  const bytes = new Uint8Array(new Float32Array(6).buffer);
  // view needs 7 elements of a 6-element storage
  await handTensor(handMade('FloatStorage', bytes, 6, 1, [6], [1]), 'view.pt').then(() => assert.unreachable(), (e) => {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, 'view.pt');
    assert.match((e as Error).message, /needs 28 bytes/);
  });
  // storage numel larger than its zip entry
  await handTensor(handMade('DoubleStorage', bytes, 6, 0, [6], [1]), 'storage.pt').then(() => assert.unreachable(), (e) => {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, 'storage.pt');
    assert.match((e as Error).message, /48 bytes/);
  });
});

test('bf16 -> f32 and big-endian storages', async () => {
  const f = new Float32Array([1, -2.5, 3.140625, 1e30, -0]);
  const u = new Uint32Array(f.buffer);
  const bf = Uint16Array.from(u, (x) => x >>> 16);
  const t = await handTensor(handMade('BFloat16Storage', new Uint8Array(bf.buffer), 5, 0, [5], [1]));
  assert.is(t.dtype, 'bf16');
  assert.equal(Array.from(await t.toFloat32()), Array.from(bfloat16BitsToFloat32(bf)));
  assert.equal(Array.from(await t.toFloat32()).slice(0, 3), [1, -2.5, 3.140625]);
  // big-endian file
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.25, false);
  new DataView(be.buffer).setFloat32(4, -7, false);
  const tb = await handTensor(handMade('FloatStorage', be, 2, 0, [2], [1], 'big'));
  assert.equal(Array.from(await tb.toFloat32()), [1.25, -7]);
});

test('float32 -> float16 rounds to nearest even (exhaustive over f16 values and midpoints)', () => {
  const all = float16BitsToFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  for (let h = 0; h < 65536; h++) {
    const v = all[h];
    if (Number.isNaN(v)) {
      const r = float32ToFloat16(v);
      assert.ok((r & 0x7c00) === 0x7c00 && (r & 0x3ff) !== 0, `NaN ${h}`);
      continue;
    }
    if (float32ToFloat16(v) !== h) assert.unreachable(`round trip of 0x${h.toString(16)} gave 0x${float32ToFloat16(v).toString(16)}`);
    // midpoint to the next larger magnitude value (same sign), below infinity
    const mag = h & 0x7fff;
    if (mag < 0x7bff) {
      const next = all[h + 1];
      const mid = (v + next) / 2;
      if (Math.fround(mid) === mid) {
        const want = (h & 1) === 0 ? h : h + 1;
        if (float32ToFloat16(mid) !== want) assert.unreachable(`midpoint after 0x${h.toString(16)}: got 0x${float32ToFloat16(mid).toString(16)}, want 0x${want.toString(16)}`);
        const above = mid + (h & 0x8000 ? -1 : 1) * Math.abs(mid) * 2 ** -20;
        if (Math.fround(above) === above && float32ToFloat16(above) !== h + 1) assert.unreachable(`above midpoint after 0x${h.toString(16)}`);
      }
    }
  }
  assert.is(float32ToFloat16(65520), 0x7c00); // tie at the top rounds to even = infinity
  assert.is(float32ToFloat16(65519.99), 0x7bff);
  assert.is(float32ToFloat16(1e10), 0x7c00);
  assert.is(float32ToFloat16(-1e10), 0xfc00);
  assert.is(float32ToFloat16(2 ** -25), 0); // tie between 0 and the smallest subnormal -> 0 (even)
  assert.is(float32ToFloat16(1.5 * 2 ** -25), 1);
  assert.is(float32ToFloat16(2 ** -26), 0);
  assert.is(float32ToFloat16(-0), 0x8000);
});

test('legacy / non-zip files are refused with a clear message', async () => {
  await openTorch(new MemorySource(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46]), 'old.pt')).then(() => assert.unreachable(), (e) => {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, /old\.pt.*legacy/);
  });
  await openTorch(new MemorySource(new TextEncoder().encode('hello world'), 'txt.pt')).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /txt\.pt/));
});

test('encodeTorchSave round-trips every dtype through openTorch + materialize', async () => {
  const obj = new Map<string, unknown>([
    ['f32', tensorValue(new Float32Array([1.5, -2, 3]), [3, 1])],
    ['f16', new TensorValue('f16', [2], new Uint16Array([0x3c00, 0xc000]))],
    ['bf16', new TensorValue('bf16', [1], new Uint16Array([0x3fc0]))],
    ['f64', new Float64Array([Math.PI])],
    ['i64', new BigInt64Array([-(2n ** 40n), 5n])],
    ['i32', new Int32Array([-3, 4])],
    ['u8', new TensorValue('u8', [2, 2], new Uint8Array([1, 2, 3, 4]))],
    ['bool', new TensorValue('bool', [2], new Uint8Array([1, 0]))],
    ['meta', { epoch: 3, nested: [1, 'two', null] }],
  ]);
  const bytes = encodeTorchSave(obj, { archiveName: 'rt' });
  const z = await ZipArchive.open(new MemorySource(bytes, 'rt.pth'));
  assert.equal(z.names().slice(0, 2), ['rt/data.pkl', 'rt/byteorder']);
  assert.ok(z.has('rt/version') && z.has('rt/.data/serialization_id'));
  for (const n of z.names()) assert.is((await z.dataOffset(n)) % 64, 0);
  const ck = await openTorch(new MemorySource(bytes, 'rt.pth'));
  const m = (await materialize(ck.root)) as Map<string, unknown>;
  const get = (k: string): TensorValue => m.get(k) as TensorValue;
  assert.equal(get('f32').shape, [3, 1]);
  assert.equal(Array.from(get('f32').data as Float32Array), [1.5, -2, 3]);
  assert.equal(Array.from(get('f16').data as Uint16Array), [0x3c00, 0xc000]);
  assert.is(get('bf16').dtype, 'bf16');
  assert.equal(Array.from(get('f64').data as Float64Array), [Math.PI]);
  assert.equal(Array.from(get('i64').data as BigInt64Array), [-(2n ** 40n), 5n]);
  assert.equal(Array.from(get('i32').data as Int32Array), [-3, 4]);
  assert.equal(Array.from(get('u8').data as Uint8Array), [1, 2, 3, 4]);
  assert.is(get('bool').dtype, 'bool');
  const meta = m.get('meta') as Map<string, unknown>;
  assert.is(meta.get('epoch'), 3);
  assert.equal(meta.get('nested'), [1, 'two', null]);
});

test.run();
