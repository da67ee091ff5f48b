// Whisper log-mel and BEATs Kaldi fbank front-ends (src/models/features.ts, src/models/fft.ts), spec §2.2, §2.3.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAudioF64 } from '../../src/io/audio.js';
import { FFT, realPowerSpectrum } from '../../src/models/fft.js';
import {
  beatsFbank, beatsFbankBatch, kaldiFbank, kaldiMelBanks, kaldiNumFrames, npPadReflect, whisperLogMel,
  whisperLogMelBatch, whisperMelFilters,
} from '../../src/models/features.js';
import { parseNpy, npyToFloat64 } from '../../src/io/npy.js';
import { FIXTURE } from '../helpers/paths.js';

const npy = (rel: string) => {
  const a = parseNpy(new Uint8Array(readFileSync(join(FIXTURE, 'expected', rel))), rel);
  return { shape: a.shape, data: npyToFloat64(a) };
};
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length, 'lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
const AUDIOS = ['chirp3s', 'speech_espeak'];

test('FFT matches a direct DFT (n = 1, 2, 5, 7, 12, 400, 512)', () => {
  for (const n of [1, 2, 5, 7, 12, 400, 512]) {
    const re = new Float64Array(n), im = new Float64Array(n);
    for (let i = 0; i < n; i++) { re[i] = Math.sin(i * 1.3) + 0.01 * i; im[i] = Math.cos(i * 0.7); }
    const r0 = re.slice(), i0 = im.slice();
    new FFT(n).forward(re, im);
    let err = 0, mag = 1;
    for (let k = 0; k < n; k++) {
      let sr = 0, si = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * ((k * t) % n)) / n;
        sr += r0[t] * Math.cos(a) - i0[t] * Math.sin(a);
        si += r0[t] * Math.sin(a) + i0[t] * Math.cos(a);
      }
      err = Math.max(err, Math.abs(sr - re[k]), Math.abs(si - im[k]));
      mag = Math.max(mag, Math.abs(sr), Math.abs(si));
    }
    assert.ok(err / mag < 1e-14, `n=${n}: relative error ${err / mag}`);
  }
  const f = new FFT(8);
  const out = new Float64Array(5);
  realPowerSpectrum(f, [1, 0, 0, 0], out, new Float64Array(8), new Float64Array(8));
  assert.equal(Array.from(out), [1, 1, 1, 1, 1], 'impulse, zero-padded');
});

test('npPadReflect reproduces numpy reflect padding, including iterated reflection', () => {
  const a = [1, 2, 3, 4, 5];
  assert.equal(Array.from(npPadReflect(a, 7, 3)), [2, 3, 4, 5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2]);
  assert.equal(Array.from(npPadReflect(a, 4, 9)), [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3, 4, 5, 4]);
  const r10 = Array.from({ length: 10 }, (_, i) => i);
  assert.equal(Array.from(npPadReflect(r10, 10, 0)), [8, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(Array.from(npPadReflect([3], 2, 2)), [3, 3, 3, 3, 3]);
});

test('Whisper mel filters equal expected/whisper_mel_filters.npy bit for bit', () => {
  const exp = npy('whisper_mel_filters.npy');
  assert.equal(exp.shape, [80, 201]);
  const W = whisperMelFilters();
  let diff = 0;
  for (let i = 0; i < W.length; i++) if (W[i] !== exp.data[i]) diff++;
  assert.is(diff, 0);
});

test('Whisper log-mel matches the fixtures (from waveform.npy and from the decoded WAV) within 2e-4', async () => {
  for (const n of AUDIOS) {
    const wav = npy(`${n}/waveform.npy`).data;
    const decoded = await loadAudioF64(new Uint8Array(readFileSync(join(FIXTURE, 'audio', `${n}.wav`))), `${n}.wav`);
    assert.is(maxAbs(decoded, wav), 0, `${n}: decoded waveform is exactly waveform.npy`);
    const exp = npy(`${n}/whisper_logmel.npy`);
    assert.equal(exp.shape, [80, 3000]);
    const L = whisperLogMel(wav);
    assert.is(L.length, 80 * 3000);
    const e1 = maxAbs(L, exp.data);
    const e2 = maxAbs(whisperLogMel(decoded), exp.data);
    console.log(`  whisper_logmel ${n}: max |err| ${e1.toExponential(2)} (waveform.npy), ${e2.toExponential(2)} (wav)`);
    assert.ok(e1 < 2e-4 && e2 < 2e-4, `${n}: ${e1} ${e2}`);
  }
});

test('Whisper log-mel: > 30 s is truncated, batch form stacks items', () => {
  const a = Float64Array.from({ length: 500000 }, (_, i) => 0.1 * Math.sin(i * 0.05));
  const L = whisperLogMel(a);
  assert.equal(Array.from(L), Array.from(whisperLogMel(a.subarray(0, 480000))));
  const b = whisperLogMelBatch([a.subarray(0, 16000), a]);
  assert.is(b.length, 2 * 80 * 3000);
  assert.equal(Array.from(b.subarray(80 * 3000)), Array.from(L));
  const silent = whisperLogMel(new Float64Array(16000));
  assert.ok(silent.every((v) => v === (-10 + 4) / 4), 'silence: log10(1e-10) = -10 everywhere, (x+4)/4');
});

test('Kaldi mel banks: 128 x 257 triangles on the 1127 ln(1 + f/700) scale, zero Nyquist column', () => {
  const B = kaldiMelBanks();
  assert.is(B.length, 128 * 257);
  const mel = (f: number) => 1127 * Math.log(1 + f / 700);
  const lo = mel(20), d = (mel(8000) - lo) / 129;
  let err = 0;
  for (let b = 0; b < 128; b++) {
    assert.is(B[b * 257 + 256], 0);
    for (let k = 0; k < 256; k++) {
      const m = mel(31.25 * k);
      const w = Math.max(0, Math.min((m - (lo + b * d)) / d, (lo + (b + 2) * d - m) / d));
      err = Math.max(err, Math.abs(B[b * 257 + k] - w));
    }
  }
  assert.ok(err < 1e-4, `float32 banks vs float64 formula: ${err}`);
});

test('BEATs fbank matches the fixtures within 1e-4 (float64 Kaldi fbank)', async () => {
  for (const n of AUDIOS) {
    const wav = await loadAudioF64(new Uint8Array(readFileSync(join(FIXTURE, 'audio', `${n}.wav`))), `${n}.wav`);
    const exp = npy(`${n}/beats_fbank.npy`);
    const fb = beatsFbank(wav);
    assert.is(fb.frames, kaldiNumFrames(wav.length));
    assert.equal([fb.frames, 128], exp.shape);
    const e1 = maxAbs(fb.data, exp.data);
    const e2 = maxAbs(beatsFbank(npy(`${n}/waveform.npy`).data).data, exp.data);
    console.log(`  beats_fbank ${n}: max |err| ${e1.toExponential(2)} (wav), ${e2.toExponential(2)} (waveform.npy)`);
    assert.ok(e1 < 1e-4 && e2 < 1e-4);
  }
  assert.is(kaldiNumFrames(399), 0);
  assert.is(kaldiNumFrames(400), 1);
  assert.is(kaldiNumFrames(16000), 98);
  assert.is(kaldiNumFrames(480000), 2998);
  assert.is(kaldiFbank(new Float64Array(100)).frames, 0);
});

test('BEATs fbank of the zero-padded training batch matches training/beats_fbank_batch.npy', async () => {
  const wavs = await Promise.all(['chirp3s', 'mix12s'].map((n) =>
    loadAudioF64(new Uint8Array(readFileSync(join(FIXTURE, 'audio', `${n}.wav`))), `${n}.wav`)));
  const exp = npy('training/beats_fbank_batch.npy');
  const b = beatsFbankBatch(wavs);
  assert.equal([b.batch, b.frames, 128], exp.shape);
  assert.equal(b.lengths, [48000, 192000]);
  const e = maxAbs(b.data, exp.data);
  console.log(`  beats_fbank_batch: max |err| ${e.toExponential(2)}`);
  assert.ok(e < 1e-4);
});

test('30 s of audio through each front-end gives the full-length features', () => {
  // Speed lives in the bench (node bench salmonn); this checks the shapes at the 30 s limit.
  const a = Float64Array.from({ length: 480000 }, (_, i) => 0.3 * Math.sin(i * 0.013) + 0.01 * Math.sin(i * 1.7));
  const mel = whisperLogMel(a);
  assert.is(mel.length, 80 * 3000);
  assert.ok(mel.every(Number.isFinite));
  const fb = beatsFbank(a);
  assert.is(fb.frames, 2998);
  assert.is(fb.data.length, 2998 * 128);
});

test.run();
