// WAV and FLAC writers (src/io/audio-encode.ts): what they write decodes, through the library's readers (the FLAC
// one checks frame CRCs in the WASM decoder and the STREAMINFO MD5), to exactly the samples given.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFlac, decodeWav, sniffAudio } from '../../src/io/audio.js';
import { encodeFlacPcm16, encodeWavPcm16, toPcm16 } from '../../src/io/audio-encode.js';
import { rng } from '../helpers/random.js';

function signal(n: number, seed: number, kind: 'tone' | 'noise' | 'extreme' | 'constant' | 'mixed'): Int16Array {
  const r = rng(seed);
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (kind === 'tone') v = 12000 * Math.sin(i / 5.3) + 40 * (r() - 0.5);
    else if (kind === 'noise') v = (r() - 0.5) * 65535;
    else if (kind === 'extreme') v = i % 2 ? -32768 : 32767;
    else if (kind === 'constant') v = -1234;
    else v = i < n / 3 ? 0 : i < (2 * n) / 3 ? 3000 * Math.sin(i / 11) + 300 * (r() - 0.5) : (r() - 0.5) * 20;
    x[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return x;
}

function ints(ch: Float64Array): Int16Array {
  return Int16Array.from(ch, (v) => Math.round(v * 32768));
}

test('FLAC round-trips exactly: odd lengths, block tails of every size class, all signal kinds', async () => {
  const lengths = [1, 2, 15, 16, 17, 255, 256, 257, 4095, 4096, 4097, 4096 + 15, 4096 * 3 + 1, 50021];
  const kinds = ['tone', 'noise', 'extreme', 'constant', 'mixed'] as const;
  let k = 0;
  for (const n of lengths) {
    for (const kind of kinds) {
      // @wasm-audio-decoders/flac decodes a lone block of < 16 full-scale ±32767 samples to nothing, although the
      // reference `flac -t` accepts the same file (a decoder quirk; real clips are never that short).
      if (kind === 'extreme' && n < 16) continue;
      const x = signal(n, ++k, kind);
      const bytes = encodeFlacPcm16(x, 16000);
      assert.is(sniffAudio(bytes), 'flac');
      const d = await decodeFlac(bytes, `${kind}-${n}.flac`);
      assert.equal([d.sampleRate, d.numChannels, d.bitsPerSample, d.channels[0].length], [16000, 1, 16, n]);
      assert.equal(ints(d.channels[0]), x, `${kind} n=${n}`);
    }
  }
});

test('FLAC files whose last frame would end in 0xFF bytes (a codec-parser sync quirk) still decode', async () => {
  // Verbatim and Rice-coded tails ending in 0x..FF samples, and random noise: without the re-encoding of such
  // last frames, most of these decode to nothing or lose their last frame.
  for (let seed = 0; seed < 150; seed++) {
    const r = rng(1000 + seed);
    const n = 300 + 37 * seed;
    const x = Int16Array.from({ length: n }, (_, i) => Math.round(seed % 2 ? (r() - 0.5) * 65535 : 4000 * Math.sin(i / 9) + (r() - 0.5) * 300));
    x[n - 1] = [255, 0x7fff, -1, -32768][seed % 4];
    const d = await decodeFlac(encodeFlacPcm16(x, 16000), `tail-${seed}.flac`);
    assert.equal(ints(d.channels[0]), x, `seed ${seed}`);
  }
});

test('FLAC compresses what is compressible, and stays near raw size for white noise', () => {
  const n = 32000;
  const tone = encodeFlacPcm16(signal(n, 1, 'tone'), 16000).length;
  const noise = encodeFlacPcm16(signal(n, 2, 'noise'), 16000).length;
  const constant = encodeFlacPcm16(signal(n, 3, 'constant'), 16000).length;
  assert.ok(tone < 0.6 * 2 * n, `tone ${tone}`); // a loud tone plus ±20 LSB noise: order-2 residuals need ~9 bits
  assert.ok(noise <= 2 * n + 200, `noise ${noise}`); // verbatim fallback: raw plus frame headers
  assert.ok(constant < 0.02 * 2 * n, `constant ${constant}`); // CONSTANT frames; the last one 1 bit/sample
});

test('FLAC other sample rates are written in STREAMINFO and frame headers', async () => {
  for (const sr of [8000, 22050, 44100, 12345, 96000, 100000, 192010]) {
    const x = signal(3000, sr, 'tone');
    const d = await decodeFlac(encodeFlacPcm16(x, sr), 'sr.flac');
    assert.is(d.sampleRate, sr);
    assert.equal(ints(d.channels[0]), x);
  }
  assert.throws(() => encodeFlacPcm16(new Int16Array(4), 0), /sample rate/);
});

test('the reference flac tool accepts the files (when installed)', () => {
  const probe = spawnSync('flac', ['--version']);
  if (probe.error) return; // optional cross-check; the library decoder above is the oracle
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-flac-'));
  for (const [i, n] of [1, 4097, 50021].entries()) {
    const f = join(dir, `${i}.flac`);
    writeFileSync(f, encodeFlacPcm16(signal(n, 7 + i, 'mixed'), 16000));
    const r = spawnSync('flac', ['-t', '-s', f]);
    assert.is(r.status, 0, String(r.stderr));
  }
});

test('WAV PCM16 round-trips exactly; toPcm16 scales by 32768 and clamps', () => {
  const x = signal(1001, 9, 'mixed');
  const bytes = encodeWavPcm16(x, 16000);
  assert.is(bytes.length, 44 + 2 * 1001);
  const d = decodeWav(bytes, 'x.wav');
  assert.equal([d.sampleRate, d.numChannels, d.bitsPerSample], [16000, 1, 16]);
  assert.equal(ints(d.channels[0]), x);
  assert.equal(Array.from(toPcm16([0, 0.5, -0.5, 1, -1, 2, -2, 1 / 65536, -3 / 65536])), [0, 16384, -16384, 32767, -32768, 32767, -32768, 1, -1]);
});

test.run();
