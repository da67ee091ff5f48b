// Audio decoding, resampling and length normalisation (src/io/audio.ts), spec §2.1 and §9.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeAudio, decodeFlac, decodeWav, loadAudio, loadAudioF64, Md5, normalizeLength, resample, sincResampleKernel,
  sniffAudio, MAX_SAMPLES, MIN_SAMPLES,
} from '../../src/io/audio.js';
import { FormatError } from '../../src/errors.js';
import { parseNpy, npyToFloat64 } from '../../src/io/npy.js';
import { AHAMASK_DATA, FIXTURE } from '../helpers/paths.js';
import { flacBytes } from '../helpers/flac.js';

// ------------------------------------------------------------------------------------------------------------
// Synthetic file writers

interface WavSpec {
  format: 'pcm' | 'float';
  bits: number;
  channels: number;
  sampleRate: number;
  extensible?: boolean;
  /** integer sample values (pcm, before the 8-bit offset) or floats, interleaved frames */
  samples: number[][]; // [channel][frame]
  extraChunk?: boolean;
}

function wavBytes(s: WavSpec): Uint8Array {
  const bytesPer = s.bits / 8;
  const frames = s.samples[0].length;
  const dataLen = frames * s.channels * bytesPer;
  const fmtLen = s.extensible ? 40 : 16;
  const extra = s.extraChunk ? 8 + 5 + 1 : 0; // odd-sized LIST chunk before data (with pad byte)
  const total = 12 + 8 + fmtLen + extra + 8 + dataLen;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  const str = (o: number, t: string) => { for (let i = 0; i < t.length; i++) b[o + i] = t.charCodeAt(i); };
  str(0, 'RIFF'); dv.setUint32(4, total - 8, true); str(8, 'WAVE');
  let o = 12;
  str(o, 'fmt '); dv.setUint32(o + 4, fmtLen, true); o += 8;
  const tag = s.format === 'pcm' ? 1 : 3;
  dv.setUint16(o, s.extensible ? 0xfffe : tag, true);
  dv.setUint16(o + 2, s.channels, true);
  dv.setUint32(o + 4, s.sampleRate, true);
  dv.setUint32(o + 8, s.sampleRate * s.channels * bytesPer, true);
  dv.setUint16(o + 12, s.channels * bytesPer, true);
  dv.setUint16(o + 14, s.bits, true);
  if (s.extensible) {
    dv.setUint16(o + 16, 22, true);
    dv.setUint16(o + 18, s.bits, true);
    dv.setUint32(o + 20, 0, true);
    dv.setUint16(o + 24, tag, true);
    b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], o + 26);
  }
  o += fmtLen;
  if (s.extraChunk) { str(o, 'LIST'); dv.setUint32(o + 4, 5, true); str(o + 8, 'hello'); o += 14; }
  str(o, 'data'); dv.setUint32(o + 4, dataLen, true); o += 8;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < s.channels; c++) {
      const v = s.samples[c][i];
      if (s.format === 'float') {
        if (s.bits === 32) dv.setFloat32(o, v, true); else dv.setFloat64(o, v, true);
      } else if (s.bits === 8) b[o] = v + 128;
      else if (s.bits === 16) dv.setInt16(o, v, true);
      else if (s.bits === 24) { b[o] = v & 255; b[o + 1] = (v >> 8) & 255; b[o + 2] = (v >> 16) & 255; }
      else dv.setInt32(o, v, true);
      o += bytesPer;
    }
  }
  return b;
}

function ints(n: number, bits: number, seed: number): number[] {
  const full = 2 ** (bits - 1);
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(i === 0 ? -full : i === 1 ? full - 1 : (s % (2 * full)) - full);
  }
  return out;
}

async function throwsFormat(p: () => unknown, name: string, re?: RegExp): Promise<void> {
  try { await p(); } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok((e as Error).message.includes(name), `message names the file: ${(e as Error).message}`);
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('expected a FormatError');
}

const readU8 = (p: string) => new Uint8Array(readFileSync(p));


const F_WAVEFORM = (n: string) => npyToFloat64(parseNpy(readU8(join(FIXTURE, 'expected', n, 'waveform.npy'))));

test('fixture WAVs decode exactly to expected waveform.npy (int16/32768)', async () => {
  for (const n of ['chirp3s', 'speech_espeak']) {
    const bytes = readU8(join(FIXTURE, 'audio', `${n}.wav`));
    assert.is(sniffAudio(bytes), 'wav');
    const d = decodeWav(bytes, n);
    assert.is(d.sampleRate, 16000);
    assert.is(d.numChannels, 1);
    assert.is(d.bitsPerSample, 16);
    const exp = F_WAVEFORM(n);
    const w32 = await loadAudio(bytes, `${n}.wav`);
    const w64 = await loadAudioF64(bytes, `${n}.wav`);
    assert.is(w32.length, exp.length);
    assert.is(w64.length, exp.length);
    let diff = 0;
    for (let i = 0; i < exp.length; i++) if (w32[i] !== exp[i] || w64[i] !== exp[i]) diff++;
    assert.is(diff, 0, `${n}: samples differing from waveform.npy`);
  }
});

test('demo FLACs decode to the spec §9 sample counts, 16 kHz mono 16-bit, MD5-verified', async () => {
  const expected: Record<string, number> = {
    '0000': 166960, '0001': 52400, '0002': 106000, '0003': 42880, '0004': 83441,
    '0005': 154160, '0006': 168880, '0007': 68400, '0008': 107680, '0009': 169200,
  };
  const dir = join(AHAMASK_DATA, 'data/test/demo_wavs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.flac')).sort();
  assert.is(files.length, 10);
  for (const f of files) {
    const bytes = readU8(join(dir, f));
    assert.is(sniffAudio(bytes), 'flac');
    const d = await decodeAudio(bytes, f);
    assert.is(d.container, 'flac');
    assert.is(d.sampleRate, 16000, f);
    assert.is(d.numChannels, 1, f);
    assert.is(d.bitsPerSample, 16, f);
    const key = /-(\d{4})\.flac$/.exec(f)![1];
    assert.is(d.channels[0].length, expected[key], f);
    const w = await loadAudio(bytes, f);
    assert.is(w.length, expected[key], `${f}: between 1 s and 30 s, no pad/trim`);
    for (let i = 0; i < w.length; i += 97) assert.ok(Number.isInteger(w[i] * 32768) && w[i] === d.channels[0][i]);
  }
});

test('WAV encodings: PCM 8/16/24/32, float32/64, extensible, 1-6 channels -> channel 0, soundfile scaling', async () => {
  const frames = 257;
  const cases: { format: 'pcm' | 'float'; bits: number; scale: (v: number) => number }[] = [
    { format: 'pcm', bits: 8, scale: (v) => v / 128 },
    { format: 'pcm', bits: 16, scale: (v) => v / 32768 },
    { format: 'pcm', bits: 24, scale: (v) => v / 8388608 },
    { format: 'pcm', bits: 32, scale: (v) => v / 2147483648 },
    { format: 'float', bits: 32, scale: (v) => Math.fround(v) },
    { format: 'float', bits: 64, scale: (v) => v },
  ];
  for (const c of cases) {
    for (const channels of [1, 2, 3, 6]) {
      for (const extensible of [false, true]) {
        const samples = Array.from({ length: channels }, (_, ch) =>
          c.format === 'pcm' ? ints(frames, c.bits, 7 + ch) : Array.from({ length: frames }, (_, i) => Math.sin(0.1 * i + ch) * (1.5 - ch * 0.2)));
        const name = `syn_${c.format}${c.bits}_${channels}ch${extensible ? '_ext' : ''}.wav`;
        const bytes = wavBytes({ format: c.format, bits: c.bits, channels, sampleRate: 16000, extensible, samples, extraChunk: channels === 2 });
        const all = decodeWav(bytes, name);
        assert.is(all.channels.length, channels, name);
        assert.is(all.encoding, c.format);
        for (let ch = 0; ch < channels; ch++) {
          for (let i = 0; i < frames; i++) assert.is(all.channels[ch][i], c.scale(samples[ch][i]), `${name} ch${ch} [${i}]`);
        }
        const w = await loadAudioF64(bytes, name);
        assert.is(w.length, MIN_SAMPLES, 'padded to 1 s');
        for (let i = 0; i < frames; i++) assert.is(w[i], c.scale(samples[0][i]), `${name}: channel 0, not the mean`);
        for (let i = frames; i < w.length; i++) assert.is(w[i], 0);
      }
    }
  }
  // the PCM extremes
  const e8 = decodeWav(wavBytes({ format: 'pcm', bits: 8, channels: 1, sampleRate: 8000, samples: [[-128, 127, 0]] }), 'e8.wav');
  assert.equal(Array.from(e8.channels[0]), [-1, 127 / 128, 0]);
  const e16 = decodeWav(wavBytes({ format: 'pcm', bits: 16, channels: 1, sampleRate: 8000, samples: [[-32768, 32767, 1]] }), 'e16.wav');
  assert.equal(Array.from(e16.channels[0]), [-1, 32767 / 32768, 1 / 32768]);
});

test('FLAC: synthetic 8/16/24-bit mono and stereo streams -> exact integers / 2^(bits-1)', async () => {
  for (const bits of [8, 16, 24]) {
    for (const ch of [1, 2]) {
      const s = Array.from({ length: ch }, (_, c) => ints(2500, bits, 11 + c));
      const name = `syn${bits}_${ch}.flac`;
      const d = await decodeFlac(flacBytes(s, bits, 16000, 1024, ch === 1), name);
      assert.is(d.numChannels, ch);
      assert.is(d.bitsPerSample, bits);
      const full = 2 ** (bits - 1);
      for (let c = 0; c < ch; c++) for (let i = 0; i < 2500; i++) assert.is(d.channels[c][i], s[c][i] / full, `${name} ch${c}[${i}]`);
      const first = await decodeAudio(flacBytes(s, bits, 16000), name, { firstChannelOnly: true });
      assert.is(first.channels.length, 1);
    }
  }
  // other legal depths decode too (12-bit: ints / 2^11), and FLAC below 8 bits is refused with the rule
  const s12 = ints(100, 12, 3);
  const d12 = await decodeFlac(flacBytes([s12], 12, 16000), 'twelve.flac');
  assert.equal(Array.from(d12.channels[0]), s12.map((v) => v / 2048));
  await throwsFormat(() => decodeFlac(flacBytes([ints(100, 4, 3)], 4, 16000), 'four.flac'), 'four.flac', /bits per sample 4; this reader decodes 8 to 32/);
});

test('FLAC: corrupt, truncated and empty streams -> FormatError naming the file', async () => {
  const quiet = console.error;
  console.error = () => {};
  try {
    const good = readU8(join(AHAMASK_DATA, 'data/test/demo_wavs/1089-134686-0004.flac'));
    await throwsFormat(() => decodeFlac(good.subarray(0, 30000), 'trunc.flac'), 'trunc.flac', /truncated|corrupt/);
    await throwsFormat(() => decodeFlac(good.subarray(0, 20), 'hdr.flac'), 'hdr.flac', /truncated FLAC header/);
    for (const off of [9000, 20000, 50000, 90000]) {
      const bad = good.slice();
      for (let i = off; i < off + 40; i++) bad[i] ^= 0x5a;
      await throwsFormat(() => decodeFlac(bad, `bad${off}.flac`), `bad${off}.flac`);
    }
    // a single flipped sample bit inside a verbatim frame: CRC16 mismatch or MD5 mismatch
    const syn = flacBytes([ints(3000, 16, 5)], 16, 16000);
    const flipped = syn.slice();
    flipped[syn.length - 100] ^= 0x01;
    await throwsFormat(() => decodeFlac(flipped, 'flip.flac'), 'flip.flac');
    // header only: no frames
    await throwsFormat(() => decodeFlac(syn.subarray(0, 42), 'noframes.flac'), 'noframes.flac', /empty|truncated/);
  } finally {
    console.error = quiet;
  }
});

test('WAV errors: empty, unsupported encodings, truncated, malformed -> FormatError naming the file', async () => {
  const base = wavBytes({ format: 'pcm', bits: 16, channels: 1, sampleRate: 16000, samples: [ints(100, 16, 1)] });
  await throwsFormat(() => decodeAudio(new Uint8Array(0), 'zero.wav'), 'zero.wav', /empty/);
  await throwsFormat(() => decodeAudio(new TextEncoder().encode('hello world, not audio'), 'text.wav'), 'text.wav', /unsupported audio format/);
  await throwsFormat(() => decodeAudio(new Uint8Array([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 10, 0xff, 0xfb]), 'x.mp3'), 'x.mp3');
  await throwsFormat(() => decodeAudio(new TextEncoder().encode('OggS\0\x02rest'), 'x.ogg'), 'x.ogg');
  const empty = wavBytes({ format: 'pcm', bits: 16, channels: 2, sampleRate: 16000, samples: [[], []] });
  await throwsFormat(() => loadAudio(empty, 'empty.wav'), 'empty.wav', /empty audio/);
  for (const [tag, label] of [[2, 'adpcm'], [6, 'alaw'], [7, 'mulaw'], [0x55, 'mp3']] as const) {
    const b = base.slice();
    new DataView(b.buffer).setUint16(20, tag, true);
    await throwsFormat(() => loadAudio(b, `${label}.wav`), `${label}.wav`, /unsupported WAV encoding/);
  }
  const f16 = base.slice(); // float with 16 bits
  new DataView(f16.buffer).setUint16(20, 3, true);
  await throwsFormat(() => loadAudio(f16, 'f16.wav'), 'f16.wav', /unsupported float/);
  await throwsFormat(() => loadAudio(base.subarray(0, base.length - 11), 'cut.wav'), 'cut.wav', /truncated/);
  await throwsFormat(() => loadAudio(base.subarray(0, 30), 'cut2.wav'), 'cut2.wav');
  await throwsFormat(() => loadAudio(base.subarray(0, 8), 'cut3.wav'), 'cut3.wav');
  const noFmt = base.slice();
  noFmt.set(new TextEncoder().encode('junk'), 12);
  await throwsFormat(() => loadAudio(noFmt, 'nofmt.wav'), 'nofmt.wav', /no fmt chunk/);
  const zeroCh = base.slice();
  new DataView(zeroCh.buffer).setUint16(22, 0, true);
  await throwsFormat(() => loadAudio(zeroCh, 'zch.wav'), 'zch.wav', /0 channels/);
  const hugeRate = base.slice();
  new DataView(hugeRate.buffer).setUint32(24, 3_000_000_000, true);
  await throwsFormat(() => loadAudio(hugeRate, 'rate.wav'), 'rate.wav', /sample rate/);
  const badExt = wavBytes({ format: 'pcm', bits: 16, channels: 1, sampleRate: 16000, extensible: true, samples: [ints(10, 16, 1)] });
  badExt[20 + 24 + 5] ^= 0xff; // GUID suffix
  await throwsFormat(() => loadAudio(badExt, 'ext.wav'), 'ext.wav', /sub-format/);
});

test('length normalisation: < 1 s zero-padded to 16000, > 30 s cut to 480000', async () => {
  const short = normalizeLength(new Float64Array([0.5, -0.25]));
  assert.is(short.length, MIN_SAMPLES);
  assert.equal([short[0], short[1], short[2], short[15999]], [0.5, -0.25, 0, 0]);
  const long = new Float64Array(500000).map((_, i) => i);
  const cut = normalizeLength(long);
  assert.is(cut.length, MAX_SAMPLES);
  assert.is(cut[MAX_SAMPLES - 1], MAX_SAMPLES - 1);
  const mid = new Float64Array(20000);
  assert.is(normalizeLength(mid), mid, 'in-range audio is returned as is');
  // 31 s at 16 kHz through loadAudio
  const n31 = 31 * 16000;
  const w = await loadAudio(wavBytes({ format: 'pcm', bits: 16, channels: 1, sampleRate: 16000, samples: [Array.from({ length: n31 }, (_, i) => (i % 2000) - 1000)] }), 'long.wav');
  assert.is(w.length, MAX_SAMPLES);
  assert.is(w[MAX_SAMPLES - 1], (((MAX_SAMPLES - 1) % 2000) - 1000) / 32768);
});

// Reference values from a numpy transcription of torchaudio 2.x `_get_sinc_resample_kernel(dtype=None)` (float64
// with float32 phase offsets, cast to float32) and `_apply_sinc_resample_kernel` (zero padding width / width+orig,
// stride-orig conv, ceil(new·N/orig) outputs); input x[i] = 0.5 sin(0.37 i) + 0.25 cos((0.011 i² ) mod 7), N = 1000.
const RS_REF: Record<string, { len: number; k0: number[]; y0: number[]; y300: number[]; yEnd: number[] }> = {
  '44100': {
    len: 363,
    k0: [-6.224505341378972e-05, -0.000507275341078639, -0.00012900191359221935, 0.002458522329106927, 0.004022471606731415, -0.001158395898528397, -0.010604859329760075],
    y0: [0.21926464140415192, 0.6854474544525146, 0.6779672503471375, 0.22552505135536194, -0.34593045711517334, -0.5868979096412659],
    y300: [-0.4367190897464752, -0.3848772644996643, 0.08751393109560013, 0.47160401940345764, 0.4455893635749817, 0.019498571753501892],
    yEnd: [0.6653117537498474, -0.016994094476103783, -0.15735691785812378, -0.3464033901691437],
  },
  '8000': {
    len: 2000,
    k0: [-2.4526138986402657e-06, 0.0007337729330174625, -0.0025844171177595854, 0.005071021616458893, -0.007540243677794933, 0.009341620840132236, 0.9900000095367432],
    y0: [0.24923619627952576, 0.35734423995018005, 0.4314195513725281, 0.5067132115364075, 0.5864503383636475, 0.6517492532730103],
    y300: [-0.6212126612663269, -0.39867445826530457, -0.10254514217376709, -0.15787118673324585, -0.2773996889591217, -0.07718192040920258],
    yEnd: [-0.373306542634964, -0.5412483811378479, -0.5438076257705688, -0.29003623127937317],
  },
  '22050': {
    len: 726,
    k0: [-0.00012449010682757944, -0.0002580038271844387, 0.00804494321346283, -0.02120971865952015, 0.016422802582383156, 0.03547321632504463, -0.1349695473909378],
    y0: [0.22930893301963806, 0.5017527341842651, 0.6713365316390991, 0.74660724401474, 0.6815910935401917, 0.49557435512542725],
    y300: [0.4749200940132141, 0.09574734419584274, 0.1807078719139099, -0.45483487844467163, -0.23433902859687805, -0.5988265872001648],
    yEnd: [-0.1541755348443985, -0.16070067882537842, -0.37736570835113525, -0.41640397906303406],
  },
  '48000': {
    len: 334,
    k0: [-8.175379662134219e-07, -0.0001830174878705293, -0.0005382237141020596, 0.0002445909776724875, 0.0026412997394800186, 0.003625260666012764, -0.0008614723919890821],
    y0: [0.22157371044158936, 0.7064440846443176, 0.6250410079956055, 0.06483449041843414, -0.4855875074863434, -0.5311936736106873],
    y300: [0.10572169721126556, 0.3510165512561798, 0.5978132486343384, -0.273290753364563, -0.26039838790893555, -0.3837366998195648],
    yEnd: [0.5446738004684448, -0.09784690290689468, -0.22186972200870514, -0.3013804852962494],
  },
};

test('resample: torchaudio sinc_interp_hann kernel and output values (44.1k, 8k, 22.05k, 48k -> 16k)', () => {
  const x = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(0.37 * i) * 0.5 + 0.25 * Math.cos((0.011 * i * i) % 7));
  for (const [sr, ref] of Object.entries(RS_REF)) {
    const k = sincResampleKernel(+sr, 16000);
    // torchaudio's kernel row 0 starts at j = -width with an exact 0 (clamped) tap; our row 0 starts at the first non-zero
    assert.is(k.first[0], -k.width + 1, `${sr}: first non-zero tap of phase 0`);
    assert.equal(Array.from(k.taps[0].slice(0, 7)), ref.k0, `${sr}: kernel phase 0`);
    const y = resample(x, +sr, 16000);
    assert.is(y.length, ref.len);
    assert.is(y.length, Math.ceil((16000 * 1000) / +sr));
    assert.equal(Array.from(y.slice(0, 6)), ref.y0, `${sr}: y[0:6]`);
    assert.equal(Array.from(y.slice(300, 306)), ref.y300, `${sr}: y[300:306]`);
    assert.equal(Array.from(y.slice(-4)), ref.yEnd, `${sr}: y[-4:]`);
    assert.equal(Array.from(resample(x, +sr, 16000, 100)), Array.from(y.slice(0, 100)), 'maxOutput prefix');
  }
  assert.equal(Array.from(resample([0.25, -1], 16000, 16000)), [0.25, -1], 'equal rates: identity');
  assert.throws(() => sincResampleKernel(0, 16000), RangeError);
});

test('resample: sines keep frequency and amplitude; above-Nyquist tones are rejected', () => {
  for (const [sr, f] of [[8000, 1000], [11025, 2500], [44100, 3000], [48000, 440], [96000, 3000]]) {
    const x = Float64Array.from({ length: sr }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / sr));
    const y = resample(x, sr, 16000);
    assert.is(y.length, 16000);
    let err = 0;
    for (let i = 200; i < y.length - 200; i++) err = Math.max(err, Math.abs(y[i] - 0.5 * Math.sin((2 * Math.PI * f * i) / 16000)));
    assert.ok(err < 2e-3, `${sr} Hz, ${f} Hz tone: max error ${err}`);
  }
  const hi = Float64Array.from({ length: 44100 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 12000 * i) / 44100));
  const y = resample(hi, 44100, 16000);
  let rms = 0;
  for (let i = 200; i < y.length - 200; i++) rms += y[i] * y[i];
  rms = Math.sqrt(rms / (y.length - 400));
  assert.ok(rms < 1e-3, `12 kHz tone leaks ${rms} after 44.1k -> 16k`);
});

test('loadAudio: 48 kHz stereo 24-bit WAV is resampled (channel 0 only) to 16 kHz', async () => {
  const n = 48000 * 2;
  const ch0 = Array.from({ length: n }, (_, i) => Math.round(4e6 * Math.sin((2 * Math.PI * 440 * i) / 48000)));
  const ch1 = Array.from({ length: n }, () => 8388607);
  const bytes = wavBytes({ format: 'pcm', bits: 24, channels: 2, sampleRate: 48000, samples: [ch0, ch1] });
  const w = await loadAudio(bytes, 'st48k.wav');
  assert.is(w.length, 32000);
  const ref = resample(Float64Array.from(ch0, (v) => v / 8388608), 48000, 16000);
  assert.equal(Array.from(w), Array.from(ref));
  // 8 kHz, 0.4 s: resampled to 6400 samples then padded to 1 s
  const w8 = await loadAudio(wavBytes({ format: 'pcm', bits: 16, channels: 1, sampleRate: 8000, samples: [ints(3200, 16, 9)] }), 'short8k.wav');
  assert.is(w8.length, MIN_SAMPLES);
  assert.ok(w8.subarray(6400).every((v) => v === 0));
});

test('MD5 matches node:crypto', () => {
  for (const len of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100003]) {
    const b = new Uint8Array(len).map((_, i) => (i * 31 + 7) & 255);
    const m = new Md5();
    m.update(b.subarray(0, len >> 1));
    m.update(b.subarray(len >> 1));
    assert.is(Buffer.from(m.digest()).toString('hex'), createHash('md5').update(b).digest('hex'), `length ${len}`);
  }
});

test('fuzz: 150 mutated WAV/FLAC inputs only ever throw FormatError (no hang)', async () => {
  const quiet = console.error;
  console.error = () => {};
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seeds: Uint8Array[] = [
    wavBytes({ format: 'pcm', bits: 16, channels: 2, sampleRate: 44100, samples: [ints(3000, 16, 1), ints(3000, 16, 2)], extraChunk: true }),
    wavBytes({ format: 'float', bits: 32, channels: 1, sampleRate: 16000, extensible: true, samples: [Array.from({ length: 2000 }, (_, i) => Math.sin(i))] }),
    wavBytes({ format: 'pcm', bits: 24, channels: 3, sampleRate: 22050, samples: [ints(1500, 24, 3), ints(1500, 24, 4), ints(1500, 24, 5)] }),
    flacBytes([ints(5000, 16, 6)], 16, 16000, 1024),
    flacBytes([ints(3000, 24, 7), ints(3000, 24, 8)], 24, 48000, 512),
    readU8(join(AHAMASK_DATA, 'data/test/demo_wavs/1089-134686-0003.flac')).subarray(0, 20000),
  ];
  let ok = 0, rejected = 0;
  const t0 = performance.now();
  try {
    for (let it = 0; it < 150; it++) {
      const src = seeds[it % seeds.length];
      let b = src.slice();
      const kind = it % 5;
      if (kind === 0) { const n = 1 + Math.floor(rnd() * 20); for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256); }
      else if (kind === 1) b = b.subarray(0, Math.floor(rnd() * b.length));
      else if (kind === 2) { const p = Math.floor(rnd() * Math.min(b.length, 120)); b[p] = Math.floor(rnd() * 256); b[p + 1] = Math.floor(rnd() * 256); } // header fields
      else if (kind === 3) { const p = Math.floor(rnd() * b.length); b.fill(0xff, p, Math.min(b.length, p + 1 + Math.floor(rnd() * 64))); }
      else { const p = Math.floor(rnd() * b.length); const q = Math.floor(rnd() * b.length); b = new Uint8Array([...b.subarray(0, Math.min(p, q)), ...b.subarray(Math.max(p, q))]); }
      const name = `fuzz${it}.${src[0] === 0x66 ? 'flac' : 'wav'}`;
      const t = performance.now();
      try {
        const w = await loadAudio(b, name);
        assert.ok(w.length >= MIN_SAMPLES && w.length <= MAX_SAMPLES);
        ok++;
      } catch (e) {
        assert.ok(e instanceof FormatError, `${name}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
        assert.ok((e as Error).message.startsWith(`${name}: `));
        rejected++;
      }
      assert.ok(performance.now() - t < 5000, `${name} took ${performance.now() - t} ms`);
    }
  } finally {
    console.error = quiet;
  }
  console.log(`  fuzz: ${ok} decoded, ${rejected} rejected with FormatError in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.is(ok + rejected, 150);
  assert.ok(rejected > 30, `rejected ${rejected}`);
  assert.ok(performance.now() - t0 < 60000);
});

test.run();
