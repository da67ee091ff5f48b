import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE } from '../helpers/paths.js';
import { FormatError } from '../../src/index.js';
import { MemorySource } from '../../src/index.js';
import { MemoryDirectory } from '../../src/index.js';
import { openSafetensors, openShardedSafetensors, parseShardIndex } from '../../src/io/safetensors.js';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { openCheckpointPath } from '../../src/node/index.js';

const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

/** Builds a safetensors file from a header object and a data section. */
function build(header: unknown, data: Uint8Array, lenOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lenOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

async function rejects(p: Promise<unknown>, ...needles: (string | RegExp)[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, FormatError, String(e));
    for (const n of needles) assert.match((e as Error).message, n);
    return;
  }
  assert.unreachable('expected a FormatError');
}

test('single file: header parsed, tensors lazy, values right', async () => {
  const f = await openSafetensors(new MemorySource(load(join(FIXTURE, 'whisper/model.safetensors')), 'whisper.safetensors'));
  assert.is(f.metadata.format, 'pt');
  const t = f.tensors.get('model.encoder.conv1.weight')!;
  assert.is(t.dtype, 'f32');
  assert.equal(t.shape, [64, 80, 3]);
  assert.is((await t.toFloat32()).length, 64 * 80 * 3);
  assert.ok(f.tensors.has('model.decoder.embed_tokens.weight'));
});

test('hand-built file: all dtypes', async () => {
  const data = new Uint8Array(4 + 2 + 8 + 1);
  new DataView(data.buffer).setFloat32(0, 2.5, true);
  new DataView(data.buffer).setUint16(4, 0x3c00, true);
  new DataView(data.buffer).setBigInt64(6, -5n, true);
  data[14] = 1;
  const f = await openSafetensors(new MemorySource(build({
    a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    b: { dtype: 'F16', shape: [], data_offsets: [4, 6] },
    c: { dtype: 'I64', shape: [1, 1], data_offsets: [6, 14] },
    d: { dtype: 'BOOL', shape: [1], data_offsets: [14, 15] },
  }, data), 'h.safetensors'));
  assert.equal(Array.from(await f.tensors.get('a')!.toFloat32()), [2.5]);
  assert.equal(Array.from(await f.tensors.get('b')!.toFloat32()), [1]);
  assert.equal(Array.from((await f.tensors.get('c')!.read()) as BigInt64Array), [-5n]);
  assert.is(f.tensors.get('d')!.dtype, 'bool');
});

test('header length beyond the file size -> FormatError naming the file', async () => {
  await rejects(openSafetensors(new MemorySource(build({}, new Uint8Array(0), 1e6), 'long.safetensors')), 'long.safetensors', /header length 1000000/, /beyond the file size/);
  await rejects(openSafetensors(new MemorySource(new Uint8Array(5), 'short.safetensors')), 'short.safetensors');
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
  await rejects(openSafetensors(new MemorySource(huge, 'huge.safetensors')), 'huge.safetensors');
});

test('shape x dtype not matching the bytes, offsets outside the data, bad JSON', async () => {
  await rejects(openSafetensors(new MemorySource(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), 'shape.safetensors')),
    'shape.safetensors', "'a'", /needs 12 bytes/);
  await rejects(openSafetensors(new MemorySource(build({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), 'off.safetensors')),
    'off.safetensors', /outside the data section/);
  await rejects(openSafetensors(new MemorySource(build({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'dt.safetensors')), /unsupported dtype/);
  const bad = build({}, new Uint8Array(0));
  bad[8] = 0x5b; // '[' -> not an object / invalid JSON
  await rejects(openSafetensors(new MemorySource(bad, 'json.safetensors')), 'json.safetensors');
});

test('sharded safetensors and sharded torch agree; unified openCheckpoint over folders', async () => {
  const st = await openCheckpointPath(join(FIXTURE, 'vicuna_safetensors'));
  const pt = await openCheckpointPath(join(FIXTURE, 'vicuna'));
  assert.is(st.format, 'safetensors-sharded');
  assert.is(pt.format, 'torch-sharded');
  assert.equal([...st.tensors.keys()].sort(), [...pt.tensors.keys()].sort());
  assert.is(st.tensors.size, 33);
  for (const k of ['lm_head.weight', 'model.layers.2.mlp.up_proj.weight', 'model.layers.0.self_attn.rotary_emb.inv_freq']) {
    const a = await st.tensors.get(k)!.toFloat32(), b = await pt.tensors.get(k)!.toFloat32();
    assert.equal(Array.from(a), Array.from(b), k);
  }
  await st.close();
  await pt.close();
  // whisper folder has both formats
  const w1 = await openCheckpointPath(join(FIXTURE, 'whisper'));
  const w2 = await openCheckpointPath(join(FIXTURE, 'whisper'), { prefer: 'torch' });
  assert.is(w1.format, 'safetensors');
  assert.is(w2.format, 'torch');
  assert.is(w1.tensors.size, w2.tensors.size);
  await w1.close();
  await w2.close();
});

test('shard index problems', async () => {
  assert.throws(() => parseShardIndex('{}', 'idx.json'), /weight_map/);
  assert.throws(() => parseShardIndex('nope', 'idx.json'), (e: unknown) => e instanceof FormatError && /idx\.json/.test((e as Error).message));
  assert.throws(() => parseShardIndex('{"weight_map":{"a":"../x"}}', 'idx.json'), /bad shard name/);
  const shard = build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
  const dir = new MemoryDirectory(new Map([
    ['model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ weight_map: { a: 's1.safetensors', b: 's1.safetensors' } }))],
    ['s1.safetensors', shard],
  ]), 'memdir');
  await rejects(openShardedSafetensors(dir), "'b'", 's1.safetensors');
  await rejects(openCheckpoint(new MemoryDirectory(new Map(), 'empty')), 'empty', /no checkpoint found/);
});

test.run();
