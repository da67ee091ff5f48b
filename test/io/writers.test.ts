// Checkpoint writers: safetensors (encodeSafetensors) and torch state dicts (stateDict + encodeTorchSave), read back
// by our readers and (dev-only, when python3 has torch) by torch.load; the Whisper window from preprocessor_config.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE } from '../helpers/paths.js';
import { FormatError } from '../../src/errors.js';
import { MemorySource } from '../../src/io/bytes.js';
import { parseWhisperPreprocessorConfig } from '../../src/io/config.js';
import { encodeSafetensors, openSafetensors } from '../../src/io/safetensors.js';
import { encodeTorchSave, float32ToFloat16Bits, openTorch, stateDict, TensorValue } from '../../src/io/torch.js';
import { flattenTensors } from '../../src/io/checkpoint.js';
import { whisperLogMel, whisperWindow, WHISPER_WINDOW_30S } from '../../src/models/features.js';
import { Salmonn } from '../../src/models/salmonn.js';
import { nodeFileSystem } from '../../src/cli/evaluate.js';
import { parseDecodeConfig } from '../../src/io/config.js';

const TMP = mkdtempSync(join(tmpdir(), 'ahamask-writers-'));
const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

test('safetensors: re-encoding the fixture Whisper reproduces the file byte for byte', async () => {
  const p = join(FIXTURE, 'whisper/model.safetensors');
  const bytes = load(p);
  const f = await openSafetensors(new MemorySource(bytes, p));
  const m = new Map<string, TensorValue>();
  for (const [k, t] of f.tensors) m.set(k, new TensorValue(t.dtype, [...t.shape], (await t.read()) as Float32Array));
  const out = encodeSafetensors(m, f.metadata);
  assert.is(out.length, bytes.length);
  assert.ok(out.every((b, i) => b === bytes[i]), 'bytes differ');
});

test('safetensors: mixed f32/f16 round trip, header aligned, bad input refused', async () => {
  const a = Float32Array.from({ length: 7 }, (_, i) => i * 0.5 - 1);
  const h = float32ToFloat16Bits(Float32Array.from({ length: 6 }, (_, i) => i / 3));
  const out = encodeSafetensors([['b.weight', new TensorValue('f16', [2, 3], h)], ['a', new TensorValue('f32', [7], a)]], { format: 'pt' });
  const n = Number(new DataView(out.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0);
  const f = await openSafetensors(new MemorySource(out, 'x.safetensors'));
  assert.equal(f.metadata, { format: 'pt' });
  assert.equal(Array.from(await f.tensors.get('a')!.toFloat32()), Array.from(a));
  const b = f.tensors.get('b.weight')!;
  assert.is(b.dtype, 'f16');
  assert.equal(b.shape, [2, 3]);
  assert.equal(Array.from((await b.read()) as Uint16Array), Array.from(h));
  assert.throws(() => encodeSafetensors([['a', new TensorValue('f32', [1], new Float32Array(1))], ['a', new TensorValue('f32', [1], new Float32Array(1))]]), /duplicate tensor 'a'/);
});

/** Runs `script` with the first python that has torch; undefined when none has (dev-only check). */
function runTorchPython(script: string, args: string[]): ReturnType<typeof spawnSync> | undefined {
  for (const py of ['python3', '/usr/bin/python3', 'python']) {
    const r = spawnSync(py, ['-c', script, ...args], { encoding: 'utf8', timeout: 120000 });
    if (r.error || (r.status !== 0 && /No module named .?torch/.test(String(r.stderr)))) continue;
    return r;
  }
  return undefined;
}

test('state dicts: the fixture SALMONN and BEATs checkpoints re-encoded read back equal (ours and torch.load)', async () => {
  const sums: Record<string, Record<string, number>> = {};
  const files: string[] = [];
  for (const [name, rel] of [['salmonn', 'salmonn.pth'], ['beats', 'beats.pt']] as const) {
    const ck = await openTorch(new MemorySource(load(join(FIXTURE, rel)), rel));
    const root = ck.root as Map<string, unknown>;
    const tensors = flattenTensors(root.get('model') as never, rel);
    const entries: [string, TensorValue][] = [];
    for (const [k, t] of tensors) entries.push([k, new TensorValue(t.dtype, [...t.shape], (await t.read()) as Float32Array)]);
    const top = new Map<string, unknown>([['model', stateDict(entries)]]);
    if (name === 'beats') top.set('cfg', root.get('cfg'));
    const out = encodeTorchSave(top, { archiveName: name, serializationId: '0'.repeat(40) });
    const path = join(TMP, rel);
    writeFileSync(path, out);
    files.push(path);
    const back = await openTorch(new MemorySource(out, rel));
    const again = flattenTensors((back.root as Map<string, unknown>).get('model') as never, rel);
    assert.equal([...again.keys()], [...tensors.keys()], `${rel}: key order`);
    sums[name] = {};
    for (const [k, t] of tensors) {
      const x = await t.toFloat32(), y = await again.get(k)!.toFloat32();
      assert.equal(again.get(k)!.shape, t.shape);
      assert.ok(x.every((v, i) => Object.is(v, y[i])), `${rel}: ${k}`);
      sums[name][k] = x.reduce((s, v) => s + v, 0);
    }
  }
  const script = `
import sys, json, torch
out = {}
for p in sys.argv[1:]:
    ck = torch.load(p, map_location='cpu')
    out[p] = {'keys': list(ck.keys()), 'type': type(ck['model']).__name__, 'sums': {k: float(v.double().sum()) for k, v in ck['model'].items()},
              'cfg': ck.get('cfg')}
print(json.dumps(out))
`;
  const r = runTorchPython(script, files);
  if (!r) {
    console.log('  (python3 with torch not available: skipped the torch.load cross-check)');
    return;
  }
  assert.is(r.status, 0, String(r.stderr));
  const j = JSON.parse(String(r.stdout).trim().split('\n').pop()!);
  const s = j[files[0]], b = j[files[1]];
  assert.equal(s.keys, ['model']);
  assert.is(s.type, 'OrderedDict');
  assert.equal(b.keys, ['model', 'cfg']);
  assert.is(b.cfg.encoder_embed_dim, 64);
  for (const [name, got] of [['salmonn', s], ['beats', b]] as const) {
    assert.equal(Object.keys(got.sums), Object.keys(sums[name]));
    for (const [k, v] of Object.entries(sums[name])) assert.ok(Math.abs(got.sums[k] - v) <= 1e-4 * (1 + Math.abs(v)), `${name} ${k}: ${got.sums[k]} vs ${v}`);
  }
});

test('Whisper window: preprocessor_config.json as HF reads it', () => {
  assert.equal(parseWhisperPreprocessorConfig({ chunk_length: 4 }), { chunk_length: 4, n_samples: 64000, nb_max_frames: 400 });
  assert.equal(parseWhisperPreprocessorConfig({}), { chunk_length: 30, n_samples: 480000, nb_max_frames: 3000 });
  assert.equal(parseWhisperPreprocessorConfig(JSON.parse(readFileSync(join(FIXTURE, 'whisper/preprocessor_config.json'), 'utf8'))), { chunk_length: 30, n_samples: 480000, nb_max_frames: 3000 });
  assert.equal(whisperWindow(30), WHISPER_WINDOW_30S);
  assert.equal(whisperWindow(4), { chunkLength: 4, nSamples: 64000, nbMaxFrames: 400 });
  const bad = (o: object, re: RegExp): void => {
    try {
      parseWhisperPreprocessorConfig(o, 'pp.json');
      assert.unreachable('expected a FormatError');
    } catch (e) {
      assert.instance(e, FormatError);
      assert.match((e as Error).message, re);
    }
  };
  bad({ chunk_length: 4, n_samples: 480000 }, /pp\.json.*'n_samples' is 480000 but chunk_length 4/);
  bad({ chunk_length: 4, nb_max_frames: 3000 }, /pp\.json.*'nb_max_frames'/);
  bad({ hop_length: 320 }, /pp\.json.*'hop_length' is 320/);
  bad({ chunk_length: 'x' }, /pp\.json.*'chunk_length'/);
});

test('Whisper window: a 4 s window is the 30 s features cut at 4 s (the last frame sees the reflect padding)', () => {
  const n = 61000;
  const wav = Float64Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.05) * Math.sin(i * 0.0007) + 0.01 * Math.cos(i * 1.3));
  const long = whisperLogMel(wav);
  const short = whisperLogMel(wav, whisperWindow(4));
  assert.is(long.length, 80 * 3000);
  assert.is(short.length, 80 * 400);
  // the global max-8 floor is the same (the rest of the 30 s is silence); frames 0..398 see the same samples
  for (let m = 0; m < 80; m++) {
    for (let t = 0; t < 399; t++) if (short[m * 400 + t] !== long[m * 3000 + t]) assert.unreachable(`mel ${m} frame ${t}: ${short[m * 400 + t]} vs ${long[m * 3000 + t]}`);
  }
});

test('Salmonn.readConfigs: the window and max_source_positions must agree', async () => {
  const dir = join(TMP, 'w');
  const fs = nodeFileSystem(FIXTURE);
  const cfg = parseDecodeConfig(readFileSync(join(FIXTURE, 'decode_config.yaml'), 'utf8'), { file: 'decode_config.yaml', cwd: FIXTURE });
  const c = await Salmonn.readConfigs(fs, cfg.model);
  assert.equal(c.whisperWindow, WHISPER_WINDOW_30S);
  // a copy of the fixture's Whisper folder with a 4 s preprocessor config: max_source_positions 1500 != 200
  const { mkdirSync, copyFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(FIXTURE, 'whisper/config.json'), join(dir, 'config.json'));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ chunk_length: 4 }));
  try {
    await Salmonn.readConfigs(fs, { ...cfg.model, whisper_path: dir });
    assert.unreachable('expected a FormatError');
  } catch (e) {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, /'max_source_positions' = 1500 does not match .*nb_max_frames 400/);
  }
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
