// Seeded mutation fuzzing of every parser: only our own error types may escape, nothing may hang, memory stays bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AHAMASK_DATA, FIXTURE } from '../helpers/paths.js';
import { AhamaskError } from '../../src/index.js';
import { MemorySource } from '../../src/index.js';
import { ZipArchive, writeZip } from '../../src/io/zip.js';
import { unpickle } from '../../src/io/pickle.js';
import { openTorch, materialize } from '../../src/io/torch.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { parseNpy, NpyError } from '../../src/io/npy.js';
import { parseDecodeConfig, parseTrainConfig } from '../../src/index.js';
import { readMaskCheckpoint } from '../../src/index.js';
import { rng } from '../helpers/random.js';

// mutated inputs per parser (>= 50); AHAMASK_FUZZ_N / AHAMASK_FUZZ_SEED explore further
const N = Number(process.env.AHAMASK_FUZZ_N ?? 80);
const SEED = Number(process.env.AHAMASK_FUZZ_SEED ?? 0);
const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p));


/** One random structural mutation of `b` (never grows beyond 2x). `hot` = a region to favour (headers). */
function mutate(b: Uint8Array, r: () => number, hot?: [number, number]): Uint8Array {
  const out = b.slice();
  const pos = (): number => {
    if (hot && r() < 0.7) return hot[0] + Math.floor(r() * Math.max(1, Math.min(hot[1], out.length) - hot[0]));
    return Math.floor(r() * out.length);
  };
  const kind = Math.floor(r() * 8);
  switch (kind) {
    case 0: { // bit flips
      for (let i = 0, n = 1 + Math.floor(r() * 8); i < n; i++) { const p = pos(); out[p] ^= 1 << Math.floor(r() * 8); }
      return out;
    }
    case 1: { // random bytes
      for (let i = 0, n = 1 + Math.floor(r() * 16); i < n; i++) out[pos()] = Math.floor(r() * 256);
      return out;
    }
    case 2: return out.slice(0, Math.floor(r() * out.length)); // truncation
    case 3: { // extreme 32-bit value
      const p = Math.min(pos(), Math.max(0, out.length - 4));
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0, 0xfffffffe, 1][Math.floor(r() * 6)];
      new DataView(out.buffer).setUint32(p, v, true);
      return out;
    }
    case 4: { // delete a chunk
      const p = pos(), n = 1 + Math.floor(r() * 64);
      return Uint8Array.from([...out.subarray(0, p), ...out.subarray(p + n)]);
    }
    case 5: { // duplicate a chunk
      const p = pos(), n = 1 + Math.floor(r() * 64);
      return Uint8Array.from([...out.subarray(0, p), ...out.subarray(p, p + n), ...out.subarray(p)]);
    }
    case 6: { // insert random bytes
      const p = pos();
      const ins = Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256));
      return Uint8Array.from([...out.subarray(0, p), ...ins, ...out.subarray(p)]);
    }
    default: { // swap two bytes far apart
      const p = pos(), q = pos();
      [out[p], out[q]] = [out[q], out[p]];
      return out;
    }
  }
}

interface Stats { ok: number; rejected: number; maxMs: number }

async function fuzz(name: string, base: Uint8Array, seed: number, run: (input: Uint8Array) => unknown, allowed: (e: unknown) => boolean = (e) => e instanceof AhamaskError, hot?: [number, number]): Promise<Stats> {
  const r = rng(seed + SEED * 1000);
  const stats: Stats = { ok: 0, rejected: 0, maxMs: 0 };
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < N; i++) {
    const input = mutate(base, r, hot);
    const t0 = performance.now();
    try {
      await run(input);
      stats.ok++;
    } catch (e) {
      if (!allowed(e)) {
        assert.unreachable(`${name} #${i} (seed ${seed}): escaped ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      stats.rejected++;
    }
    const ms = performance.now() - t0;
    stats.maxMs = Math.max(stats.maxMs, ms);
    assert.ok(ms < 5000, `${name} #${i} took ${ms} ms`);
  }
  const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(grew < 512, `${name}: rss grew by ${grew.toFixed(0)} MiB`);
  assert.ok(stats.rejected > 0, `${name}: no mutation was rejected`);
  return stats;
}

test('zip: mutated torch checkpoints (central directory, headers, zip64 records)', async () => {
  const base = load(join(AHAMASK_DATA, 'legacy_checkpoints/asr_librispeech/checkpoint.pth'));
  // favour the central directory and end records
  await fuzz('zip', base, 1, async (b) => {
    const z = await ZipArchive.open(new MemorySource(b, 'fuzz.zip'));
    for (const n of z.names()) await z.read(n);
  }, undefined, [base.length - 500, base.length]);
  await fuzz('zip-local', base, 2, async (b) => {
    const z = await ZipArchive.open(new MemorySource(b, 'fuzz.zip'));
    for (const n of z.names()) await z.read(n);
  }, undefined, [0, 600]);
});

test('pickle: mutated data.pkl of real checkpoints, through the torch reader and bare', async () => {
  for (const [i, f] of [join(AHAMASK_DATA, 'legacy_checkpoints/emotion_iemocap/checkpoint.pth'), join(FIXTURE, 'beats.pt')].entries()) {
    const z = await ZipArchive.open(new MemorySource(load(f), f));
    const names = z.names();
    const entries: { name: string; data: Uint8Array }[] = await Promise.all(names.map(async (n) => ({ name: n, data: (await z.read(n)).slice() })));
    const pklIdx = names.findIndex((n) => n.endsWith('/data.pkl'));
    const pkl = entries[pklIdx].data;
    await fuzz(`pickle-torch-${i}`, pkl, 10 + i, async (p) => {
      const e = entries.slice();
      e[pklIdx] = { name: e[pklIdx].name, data: p };
      const ck = await openTorch(new MemorySource(writeZip(e), 'fuzz.pth'));
      await materialize(ck.root);
    });
    await fuzz(`pickle-bare-${i}`, pkl, 20 + i, (p) => unpickle(p, { file: 'fuzz.pkl' }));
  }
  // the mask reader on top
  const mask = load(join(FIXTURE, 'masks/tiny_task/checkpoint.pth'));
  await fuzz('mask', mask, 30, (b) => readMaskCheckpoint(new MemorySource(b, 'fuzz.pth')));
});

test('safetensors: mutated headers and files', async () => {
  const base = load(join(FIXTURE, 'vicuna_safetensors/model-00002-of-00002.safetensors'));
  const hlen = Number(new DataView(base.buffer).getBigUint64(0, true));
  await fuzz('safetensors', base, 40, async (b) => {
    const f = await openSafetensors(new MemorySource(b, 'fuzz.safetensors'));
    for (const t of f.tensors.values()) await t.toFloat32();
  }, undefined, [0, 8 + hlen]);
});

test('npy: mutated arrays', async () => {
  const base = load(join(FIXTURE, 'expected/chirp3s/qformer_out.npy'));
  const stats = await fuzz('npy', base, 50, (b) => parseNpy(b, 'fuzz.npy'), (e) => e instanceof NpyError || e instanceof AhamaskError, [0, 128]);
  assert.ok(stats.ok + stats.rejected === N);
});

test('yaml configs: mutated decode and train configs', async () => {
  const enc = new TextEncoder(), dec = new TextDecoder();
  const decode = enc.encode(readFileSync(join(FIXTURE, 'decode_config.yaml'), 'utf8'));
  const train = enc.encode(readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8'));
  const quiet = (): void => {};
  await fuzz('yaml-decode', decode, 60, (b) => parseDecodeConfig(dec.decode(b), { file: 'fuzz.yaml', cwd: '/c', warn: quiet }));
  await fuzz('yaml-train', train, 61, (b) => parseTrainConfig(dec.decode(b), { file: 'fuzz.yaml', cwd: '/c', warn: quiet }));
});

test.run();
