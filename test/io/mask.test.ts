import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AHAMASK_DATA, FIXTURE } from '../helpers/paths.js';
import { runTorchPython } from '../helpers/torch.js';
import { FormatError, ShapeError } from '../../src/errors.js';
import { MemorySource } from '../../src/io/bytes.js';
import { ZipArchive } from '../../src/io/zip.js';
import { PyTuple, pyFloat } from '../../src/io/pickle.js';
import { encodeTorchSave, materialize, TensorValue } from '../../src/io/torch.js';
import {
  readMaskCheckpoint, maskSummary, inferMaskLayout, headMask, evaluatePyPercentOn, encodeMaskCheckpoint, float32Shortest,
} from '../../src/io/mask.js';
import { readMaskCheckpointFile, writeMaskCheckpoint } from '../../src/node/files.js';

const DERIVED = JSON.parse(readFileSync(join(AHAMASK_DATA, 'derived/masks_13b.json'), 'utf8'));
const NAMES = Object.keys(DERIVED).filter((k) => !k.startsWith('_'));
const TMP = mkdtempSync(join(tmpdir(), 'ahamask-mask-'));

test('all 10 released masks match derived/masks_13b.json exactly', async () => {
  assert.is(NAMES.length, 10);
  for (const name of NAMES) {
    const d = DERIVED[name];
    const ck = await readMaskCheckpointFile(join(AHAMASK_DATA, d.source_file));
    assert.is(ck.logits.length, 1640);
    const s = maskSummary(ck.logits);
    assert.is(s.n_layers, 40);
    assert.is(s.n_heads, 40);
    assert.is(s.heads_on, d.heads_on, name);
    assert.equal(s.per_layer_on, d.heads_on_per_layer, name);
    assert.equal(s.head_on.map((r) => r.join('')), d.head_on, name);
    assert.equal(s.ffn, d.ffn_entries, name);
    assert.equal(s.logits, d.logits, name);
  }
});

test('evaluate.py percentage counts FFN slots (79.2073 % for gender_librispeech)', async () => {
  const ck = await readMaskCheckpointFile(join(AHAMASK_DATA, 'legacy_checkpoints/gender_librispeech/checkpoint.pth'));
  assert.is(evaluatePyPercentOn(ck.logits).toFixed(4), '79.2073');
});

test('tiny fixture mask (torch 1.13 file): 3 layers x 4 heads, the documented heads off', async () => {
  const ck = await readMaskCheckpointFile(join(FIXTURE, 'masks/tiny_task/checkpoint.pth'));
  const s = maskSummary(ck.logits, 3, 4);
  const off: string[] = [];
  s.head_on.forEach((row, l) => row.forEach((b, h) => { if (!b) off.push(`L${l}H${h}`); }));
  assert.equal(off, ['L0H1', 'L1H0', 'L1H2', 'L2H2', 'L2H3']);
  assert.equal(Array.from(headMask(ck.logits, { nLayers: 3, nHeads: 4 })), s.head_on.flat());
  for (const run of ['det_init_official', 'gumbel_init_official']) {
    const m = await readMaskCheckpointFile(join(FIXTURE, 'expected/training', run, 'mask_init.pth'));
    assert.is(m.logits.length, 15);
  }
});

test('layout inference and wrong-length errors state the expected length', () => {
  assert.equal(inferMaskLayout(1640), { nLayers: 40, nHeads: 40 });
  assert.equal(inferMaskLayout(1056), { nLayers: 32, nHeads: 32 });
  assert.equal(inferMaskLayout(15, 3), { nLayers: 3, nHeads: 4 });
  assert.equal(inferMaskLayout(15, undefined, 4), { nLayers: 3, nHeads: 4 });
  assert.throws(() => maskSummary(new Float32Array(1000), 40, 40), (e: unknown) => e instanceof ShapeError && /1000 entries; expected 1640 = 40 layers x \(40 heads \+ 1 FFN slot\)/.test((e as Error).message));
  assert.throws(() => maskSummary(new Float32Array(1000)), (e: unknown) => e instanceof ShapeError && /1640/.test((e as Error).message));
  assert.throws(() => inferMaskLayout(16, 3), (e: unknown) => e instanceof ShapeError && /multiple of 3/.test((e as Error).message));
});

test('threshold: logit >= 0 is on (inclusive, -0 too); layout l*(H+1)+h', () => {
  const logits = new Float32Array(2 * 3).fill(-1);
  logits[0] = 0; // L0H0
  logits[1] = -0; // L0H1
  logits[2] = 5; // L0 FFN slot: never a head
  logits[3] = -1e-7; // L1H0 off
  logits[4] = 1e-7; // L1H1 on
  const s = maskSummary(logits, 2, 2);
  assert.equal(s.head_on, [[1, 1], [0, 1]]);
  assert.equal(s.per_layer_on, [2, 1]);
  assert.equal(s.ffn, [5, -1]);
  assert.is(s.heads_on, 3);
  assert.equal(Array.from(headMask(logits, { nLayers: 2, nHeads: 2 })), [1, 1, 0, 1]);
});

test('float32Shortest gives the shortest round-tripping decimal', () => {
  assert.is(float32Shortest(0.1), 0.1);
  assert.is(float32Shortest(Math.fround(3.9969661)), 3.9969661);
  assert.is(float32Shortest(Math.fround(1 / 3)), 0.33333334);
  for (let i = 0; i < 1000; i++) {
    const x = Math.fround((Math.sin(i * 12.9898) * 43758.5453) % 30);
    assert.is(Math.fround(float32Shortest(x)), x);
  }
});

test('write -> read round trip (atomic, torch layout, extra training keys)', async () => {
  const logits = Float32Array.from({ length: 1640 }, (_, i) => Math.sin(i) * 8);
  const p = join(TMP, 'checkpoint_2.pth');
  await writeMaskCheckpoint(p, logits, {
    optimizer: {
      state: new Map([[0, { step: new TensorValue('f32', [], new Float32Array([30])), exp_avg: new Float32Array(1640).fill(0.5), exp_avg_sq: new Float32Array(1640) }]]),
      param_groups: [{ lr: 0.01, betas: new PyTuple([0.9, 0.999]), eps: 1e-8, weight_decay: 0, amsgrad: false, params: [0] }],
    },
    config: { run: { init_lr: 0.01, max_epoch: 30, tau_temp_begin: pyFloat(4) } },
    scaler: null,
    epoch: 2,
  });
  assert.equal(readdirSync(TMP), ['checkpoint_2.pth']);
  const ck = await readMaskCheckpointFile(p);
  assert.equal(Array.from(ck.logits), Array.from(logits));
  assert.equal([...ck.root.keys()], ['model', 'optimizer', 'config', 'scaler', 'epoch']);
  assert.is(ck.root.get('epoch'), 2);
  const opt = (await materialize(ck.root.get('optimizer')!)) as Map<string, Map<number, Map<string, TensorValue>>>;
  assert.equal(Array.from(opt.get('state')!.get(0)!.get('exp_avg')!.data as Float32Array).slice(0, 2), [0.5, 0.5]);
  assert.equal(opt.get('state')!.get(0)!.get('step')!.shape, []);
  const z = await ZipArchive.open(new MemorySource(new Uint8Array(readFileSync(p)), p));
  assert.equal(z.names().slice(0, 3), ['checkpoint_2/data.pkl', 'checkpoint_2/byteorder', 'checkpoint_2/data/0']);
  for (const n of z.names()) assert.is((await z.dataOffset(n)) % 64, 0);
});

test('re-encoding a released mask keeps its zip entries and tensor bytes', async () => {
  const f = join(AHAMASK_DATA, 'legacy_checkpoints/asr_librispeech/checkpoint.pth');
  const orig = new Uint8Array(readFileSync(f));
  const ck = await readMaskCheckpoint(new MemorySource(orig, f));
  const re = encodeMaskCheckpoint(ck.logits);
  const [a, b] = await Promise.all([ZipArchive.open(new MemorySource(orig, 'a')), ZipArchive.open(new MemorySource(re, 'b'))]);
  assert.equal(a.names(), b.names());
  for (const n of ['checkpoint/byteorder', 'checkpoint/data/0', 'checkpoint/version']) {
    assert.ok(Buffer.from(await a.read(n)).equals(Buffer.from(await b.read(n))), n);
    assert.is(await a.dataOffset(n), await b.dataOffset(n), n);
  }
  const back = await readMaskCheckpoint(new MemorySource(re, 're.pth'));
  assert.equal(Array.from(back.logits), Array.from(ck.logits));
});

test('mask files with the wrong structure -> FormatError naming the file', async () => {
  const noModel = encodeTorchSave(new Map([['state_dict', new Map([['tensor', new Float32Array(3)]])]]));
  await readMaskCheckpoint(new MemorySource(noModel, 'nomodel.pth')).then(() => assert.unreachable(), (e) => {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, /nomodel\.pth.*'model'/);
  });
  const twoD = encodeTorchSave(new Map([['model', new Map([['tensor', new TensorValue('f32', [2, 2], new Float32Array(4))]])]]));
  await readMaskCheckpoint(new MemorySource(twoD, '2d.pth')).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /2d\.pth.*1-D/));
});

test('torch.load reads what we write (needs torch)', async () => {
  const logits = Float32Array.from({ length: 1640 }, (_, i) => Math.cos(i * 0.37) * 11);
  const plain = join(TMP, 'plain.pth');
  const train = join(TMP, 'checkpoint_7.pth');
  await writeMaskCheckpoint(plain, logits);
  await writeMaskCheckpoint(train, logits, {
    optimizer: { state: new Map([[0, { step: new Float32Array([5]), exp_avg: new Float32Array(1640).fill(0.25) }]]), param_groups: [{ lr: 0.001, params: [0] }] },
    config: { model: { lora_rank: 8 } }, scaler: { scale: pyFloat(65536), _growth_tracker: 3 }, epoch: 7,
  });
  // our own reader must always round-trip
  for (const p of [plain, train]) assert.equal(Array.from((await readMaskCheckpointFile(p)).logits), Array.from(logits));
  const script = `
import sys, json, torch
kw = {'weights_only': True} if 'weights_only' in torch.load.__code__.co_varnames else {}
a = torch.load(sys.argv[1], map_location='cpu', **kw)
b = torch.load(sys.argv[2], map_location='cpu')
t = a['model']['tensor']
print(json.dumps({'dtype': str(t.dtype), 'shape': list(t.shape), 'contig': t.is_contiguous(), 'sum': float(t.double().sum()),
  'first': t[:3].tolist(), 'keys': list(b.keys()), 'epoch': b['epoch'], 'same': bool(torch.equal(t, b['model']['tensor'])),
  'step': b['optimizer']['state'][0]['step'].tolist(), 'exp_avg': float(b['optimizer']['state'][0]['exp_avg'].sum()),
  'lr': b['optimizer']['param_groups'][0]['lr'], 'scale': b['scaler']['scale'], 'cfg': b['config'],
  'meta': dict(a['model']._metadata) if hasattr(a['model'], '_metadata') else None}))
`;
  const j = JSON.parse(runTorchPython(script, [plain, train]).trim().split('\n').pop()!);
  assert.is(j.dtype, 'torch.float32');
  assert.equal(j.shape, [1640]);
  assert.ok(j.contig);
  assert.ok(Math.abs(j.sum - Array.from(logits).reduce((x, y) => x + y, 0)) < 1e-6);
  assert.equal(j.first, Array.from(logits.subarray(0, 3)));
  assert.equal(j.keys, ['model', 'optimizer', 'config', 'scaler', 'epoch']);
  assert.is(j.epoch, 7);
  assert.ok(j.same);
  assert.equal(j.step, [5]);
  assert.is(j.exp_avg, 410);
  assert.is(j.lr, 0.001);
  assert.is(j.scale, 65536);
  assert.equal(j.cfg, { model: { lora_rank: 8 } });
  assert.equal(j.meta, { '': { version: 1 } });
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
