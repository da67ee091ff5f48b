// FLAC decoder (src/io/flac.ts, RFC 9639): streams from Debian's `flac` CLI and from sox (both libFLAC front ends,
// installed by .ci/run), streams with every structure from the test-side writer (test/helpers/flac.ts), the
// committed fixtures in test/shared/flac, the demo FLACs, and every class of bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/errors.js';
import { decodeAudio, decodeWav, loadAudio } from '../../src/io/audio.js';
import { decodeFlacPcm, MAX_FLAC_VALUES } from '../../src/io/flac.js';
import {
  blocks, crc16, crc8, encodeFlac, flacBytes, frameOffsets, pcmWav, rawPcm, testSignal, utf8Num, withRateCode0,
  type FrameSpec, type SubframeSpec,
} from '../helpers/flac.js';
import { AHAMASK_DATA, SHARED } from '../helpers/paths.js';

const TMP = mkdtempSync(join(tmpdir(), 'flac-test-'));
const FIXTURES = join(SHARED, 'flac');
test.after(() => rmSync(TMP, { recursive: true, force: true }));

function tool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  // .ci/run installs flac and sox: a missing tool is a failure, never a skip
  if (r.status !== 0) throw new Error(`'${name}' is not installed (apt-get install flac sox; .ci/run does this)`);
  return r.stdout.trim();
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

let seq = 0;
/** Encodes with the flac CLI from raw PCM (or a WAV when `wav` is given); returns the .flac bytes. */
function flacCli(samples: number[][], bits: number, rate: number, args: string[], wav?: Buffer): Uint8Array {
  const base = join(TMP, `f${seq++}`);
  const input = wav ? `${base}.wav` : `${base}.raw`;
  writeFileSync(input, wav ?? rawPcm(samples, bits));
  const fmt = wav ? [] : ['--force-raw-format', '--endian=little', '--sign=signed', `--channels=${samples.length}`, `--bps=${bits}`, `--sample-rate=${rate}`];
  run(tool('flac'), ['-s', '-f', '--no-padding', ...fmt, ...args, '-o', `${base}.flac`, input]);
  return new Uint8Array(readFileSync(`${base}.flac`));
}

function soxCli(samples: number[][], bits: number, rate: number, args: string[]): Uint8Array {
  const base = join(TMP, `s${seq++}`);
  writeFileSync(`${base}.raw`, rawPcm(samples, bits));
  run(tool('sox'), ['-t', 'raw', '-r', String(rate), '-e', 'signed', '-b', String(bits), '-c', String(samples.length), `${base}.raw`, ...args, `${base}.flac`]);
  return new Uint8Array(readFileSync(`${base}.flac`));
}

/** `flac -t` (decode, check CRCs and MD5) on the bytes. */
function flacAccepts(bytes: Uint8Array): boolean {
  const p = join(TMP, `t${seq++}.flac`);
  writeFileSync(p, bytes);
  return spawnSync(tool('flac'), ['-s', '-t', p]).status === 0;
}

/** The block sizes of the frames as libFLAC wrote them (from the frame headers, found without our decoder). */
function lastBlock(bytes: Uint8Array): number {
  const starts = frameOffsets(bytes);
  const s = starts[starts.length - 1];
  const code = bytes[s + 2] >> 4;
  const first = bytes[s + 4];
  const at = s + 4 + (first < 0x80 ? 1 : Math.clz32(~(first << 24)));
  if (code === 6) return bytes[at] + 1;
  if (code === 7) return ((bytes[at] << 8) | bytes[at + 1]) + 1;
  throw new Error(`last frame block size code ${code}`);
}

function assertExact(bytes: Uint8Array, samples: number[][], what: string): void {
  const d = decodeFlacPcm(bytes, what);
  assert.is(d.length, samples[0].length, `${what}: sample count`);
  assert.is(d.channels.length, samples.length, `${what}: channels`);
  for (let c = 0; c < samples.length; c++) {
    const got = d.channels[c], exp = samples[c];
    for (let i = 0; i < exp.length; i++) if (got[i] !== exp[i]) assert.unreachable(`${what}: channel ${c} sample ${i}: ${got[i]} != ${exp[i]}`);
  }
}

function throwsFormat(fn: () => unknown, name: string, re: RegExp): void {
  try { fn(); } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    const m = (e as Error).message;
    assert.ok(m.startsWith(`${name}: `), `message names the file: ${m}`);
    assert.not.ok(m.includes('\n'), `one line: ${m}`);
    assert.match(m, re);
    return;
  }
  assert.unreachable(`${name}: expected a FormatError matching ${re}`);
}

// ------------------------------------------------------------------------------------------------------------

test('the defect: a 7 s 16 kHz file ending in a tiny constant (silent) frame decodes to all 112000 samples', async () => {
  const s = testSignal(112000, 1, 16, 1, { silentTail: 3000 });
  const bytes = flacCli(s, 16, 16000, []);
  assert.is(lastBlock(bytes), 112000 % 4096, 'libFLAC wrote a short last frame');
  assertExact(bytes, s, 'seven.flac');
  const w = await loadAudio(bytes, 'seven.flac');
  assert.is(w.length, 112000);
  // a last frame of one sample of digital silence
  const s1 = testSignal(4 * 1152 + 1, 1, 16, 2, { silentTail: 1 });
  const b1 = flacCli(s1, 16, 16000, ['-0']);
  assert.is(lastBlock(b1), 1);
  assertExact(b1, s1, 'one.flac');
});

test('flac CLI: block sizes 1152-4608, last frames of 1-16 samples, silent/non-silent tails, 8/16/24-bit, mono/stereo, presets', () => {
  const sizes = [1152, 2304, 4096, 4608, 3000, 1500];
  const tails = [1, 2, 3, 5, 7, 16];
  const presets = [['-0'], ['-5'], ['-8'], ['--lax', '-8', '-l', '32', '-r', '0,8'], ['-8', '-e', '-p'], ['-3', '-M'], ['-6', '-m'], ['--lax', '-5', '--disable-constant-subframes']];
  let cases = 0;
  for (const bits of [8, 16, 24]) {
    for (const ch of [1, 2]) {
      for (let k = 0; k < 4; k++) {
        const i = cases++;
        const bs = sizes[i % sizes.length], tail = tails[(i * 5) % tails.length], preset = presets[(i * 3) % presets.length];
        const silent = i % 2 === 0;
        const n = bs * (1 + (i % 3)) + tail;
        const s = testSignal(n, ch, bits, 100 + i, { silentTail: silent ? tail + (i % 4) * 50 : 0 });
        const what = `flac ${preset.join(' ')} -b ${bs} ${bits}-bit ${ch}ch tail ${tail}${silent ? ' silent' : ''}`;
        const bytes = flacCli(s, bits, 16000, [...preset, '-b', String(bs)]);
        assert.is(lastBlock(bytes), tail, what);
        assertExact(bytes, s, what);
        assert.ok(decodeFlacPcm(bytes, what).md5Checked, `${what}: MD5 set and checked`);
      }
    }
  }
  assert.is(cases, 24);
});

test('flac CLI: 12/20-bit (from WAV), 6 channels, 48 kHz and 44.1 kHz, and rate code 0 (100001 Hz, --lax)', () => {
  const s12 = testSignal(2 * 1152 + 9, 1, 12, 7, { silentTail: 9 });
  assertExact(flacCli(s12, 12, 16000, ['-b', '1152'], pcmWav(s12, 16, 16000, 12)), s12, '12-bit');
  const s20 = testSignal(4608 + 13, 2, 20, 8);
  assertExact(flacCli(s20, 20, 16000, ['-b', '4608', '-8'], pcmWav(s20, 24, 16000, 20)), s20, '20-bit stereo');
  const s6 = testSignal(4096 + 4, 6, 16, 9);
  assertExact(flacCli(s6, 16, 48000, ['-5']), s6, '6 channels 48 kHz');
  const s44 = testSignal(4608 + 11, 2, 24, 10, { silentTail: 11 });
  assertExact(flacCli(s44, 24, 44100, ['-8', '-b', '4608']), s44, '44.1 kHz');
  const sr = testSignal(4096 + 15, 1, 16, 11);
  const odd = flacCli(sr, 16, 100001, ['--lax']);
  assert.is(odd[frameOffsets(odd)[0] + 2] & 15, 0, 'libFLAC wrote sample rate code 0 (from STREAMINFO)');
  assertExact(odd, sr, '100001 Hz');
});

test('sox (a second libFLAC front end): compression 0/5/8, 8/16/24-bit, mono/stereo, tails of 1-16 samples', () => {
  let i = 0;
  for (const bits of [8, 16, 24]) {
    for (const ch of [1, 2]) {
      for (const level of ['0', '5', '8']) {
        const bs = level === '0' ? 1152 : 4096; // what sox asks libFLAC for at these levels
        const tail = [1, 4, 16, 2, 9, 12][i % 6];
        const silent = i % 2 === 1;
        const n = bs * 2 + tail;
        const s = testSignal(n, ch, bits, 300 + i, { silentTail: silent ? 40 + tail : 0 });
        const what = `sox -C ${level} ${bits}-bit ${ch}ch tail ${tail}${silent ? ' silent' : ''}`;
        const bytes = soxCli(s, bits, 16000, ['-C', level]);
        assert.is(lastBlock(bytes), tail, what);
        assertExact(bytes, s, what);
        i++;
      }
    }
  }
});

test('test-side writer: every structure RFC 9639 allows decodes exactly, and flac -t accepts each stream', () => {
  const streams: { what: string; bytes: Uint8Array; samples: number[][] }[] = [];
  const add = (what: string, spec: Parameters<typeof encodeFlac>[0]): void => { streams.push({ what, bytes: encodeFlac(spec), samples: spec.samples }); };
  // every subframe type, both residual methods, partition orders, escapes (incl. 0-bit all-zero partitions)
  const sig = testSignal(4096, 1, 16, 21);
  const sub: SubframeSpec[] = [
    { type: 'verbatim' },
    { type: 'fixed', order: 0, method: 1, partitionOrder: 3 },
    { type: 'fixed', order: 1, partitionOrder: 2, escape: [1] },
    { type: 'fixed', order: 2, method: 1, partitionOrder: 4, escape: [0, 15] },
    { type: 'fixed', order: 3 },
    { type: 'fixed', order: 4, partitionOrder: 1 },
    { type: 'lpc', coefs: [1], precision: 2, shift: 0 },
    { type: 'lpc', coefs: [2 * 1024, -1024], precision: 13, shift: 10, partitionOrder: 5, method: 1 },
    { type: 'lpc', coefs: [7000, -2600, 300, -150, 80, -40, 20, -10], precision: 15, shift: 12, escape: [0] },
    { type: 'lpc', coefs: Array.from({ length: 32 }, (_, j) => (j === 0 ? 3 : j === 1 ? -1 : (j % 3) - 1)), precision: 3, shift: 1, partitionOrder: 2 },
  ];
  const fr: FrameSpec[] = sub.map((sf) => ({ blockSize: 256, subframes: [sf] }));
  fr.push({ blockSize: 4096 - 256 * sub.length - 1, subframes: [{ type: 'lpc', coefs: [2, -1], precision: 4, shift: 0, method: 1, partitionOrder: 0 }] });
  fr.push({ blockSize: 1, subframes: [{ type: 'verbatim' }] });
  add('subframe types', { samples: sig, bits: 16, sampleRate: 16000, frames: fr });
  // constant frames incl. a 1-sample last frame, zero partitions
  const cz = Array.from({ length: 577 }, (_, i) => (i < 576 ? -5 : 0));
  add('constant', { samples: [cz], bits: 16, sampleRate: 16000, frames: [{ blockSize: 576, subframes: [{ type: 'constant' }] }, { blockSize: 1, subframes: [{ type: 'constant' }] }] });
  const zeros = new Array(300).fill(0);
  add('escape 0 bits', { samples: [zeros], bits: 8, sampleRate: 8000, frames: [{ blockSize: 300, subframes: [{ type: 'fixed', order: 2, partitionOrder: 2, escape: [0, 1, 2, 3] }] }] });
  // wasted bits in every subframe type, incl. a side channel
  const wasteful = testSignal(1200, 2, 16, 22).map((c) => c.map((v) => Math.floor(v / 8) * 8));
  add('wasted bits', {
    samples: wasteful, bits: 16, sampleRate: 22050,
    frames: [
      { blockSize: 600, mode: 'left-side', subframes: [{ type: 'fixed', order: 2, wasted: 3 }, { type: 'verbatim', wasted: 3 }] },
      { blockSize: 599, mode: 'independent', subframes: [{ type: 'lpc', coefs: [3, -1], precision: 3, shift: 1, wasted: 2 }, { type: 'fixed', order: 1, wasted: 1 }] },
      { blockSize: 1, subframes: [{ type: 'constant', wasted: 3 }, { type: 'verbatim', wasted: 3 }] },
    ],
  });
  // every stereo mode at 8/24/32 bits (the side channel needs bits + 1, 33 at 32-bit)
  for (const bits of [8, 24, 32]) {
    const st = testSignal(1024 + 7, 2, bits, 23 + bits);
    // the largest side values (bits + 1 wide) in the verbatim side-right frame
    st[0][517] = -(2 ** (bits - 1)); st[1][517] = 2 ** (bits - 1) - 1;
    st[0][518] = 2 ** (bits - 1) - 1; st[1][518] = -(2 ** (bits - 1));
    const f = (order: number): SubframeSpec => ({ type: 'fixed', order });
    const frames: FrameSpec[] = [
      { blockSize: 256, mode: 'independent', subframes: [{ type: 'verbatim' }, f(0)] },
      { blockSize: 256, mode: 'left-side', subframes: [f(2), f(1)] },
      { blockSize: 256, mode: 'side-right', subframes: [{ type: 'verbatim' }, { type: 'verbatim' }] },
      { blockSize: 256, mode: 'mid-side', subframes: [f(3), f(4)] },
    ];
    frames.push({ blockSize: 7, mode: 'mid-side', subframes: [{ type: 'verbatim' }, { type: 'verbatim' }] });
    add(`stereo modes ${bits}-bit`, { samples: st, bits, sampleRate: 48000, frames });
  }
  // header codes: rate and depth from STREAMINFO, rates in kHz / Hz / tens of Hz / none, block size codes 6 and 7
  const h = testSignal(5000, 1, 20, 24);
  add('rate/depth code 0', { samples: h, bits: 20, sampleRate: 16000, rateCode0: true, depthCode0: true, frames: blocks(5000, 1152).map((b) => ({ blockSize: b, subframes: [{ type: 'fixed', order: 2 }] })) });
  for (const rate of [11000, 11025, 200010, 100001]) {
    add(`rate ${rate}`, { samples: h, bits: 20, sampleRate: rate, frames: [{ blockSize: 4000, subframes: [{ type: 'fixed', order: 3 }] }, { blockSize: 1000, subframes: [{ type: 'fixed', order: 1 }] }] });
  }
  // variable blocking (coded sample numbers up to 7 bytes are exercised by utf8Num below), unknown total, no MD5
  const v = testSignal(3000, 2, 12, 25);
  add('variable blocking', { samples: v, bits: 12, sampleRate: 16000, variable: true, frames: [100, 1900, 17, 983].map((b) => ({ blockSize: b, mode: 'mid-side' as const, subframes: [{ type: 'fixed', order: 2 }, { type: 'fixed', order: 1 }] as SubframeSpec[] })) });
  add('unknown total, no MD5', { samples: v, bits: 12, sampleRate: 16000, totalSamples: 0, md5: false, frames: blocks(3000, 1024).map((b) => ({ blockSize: b })) });
  // 3 to 8 independent channels
  const m8 = testSignal(300, 8, 16, 26);
  add('8 channels', { samples: m8, bits: 16, sampleRate: 16000, frames: [{ blockSize: 300, subframes: m8.map((_, c) => ({ type: 'fixed', order: c % 5 }) as SubframeSpec) }] });

  tool('flac');
  for (const s of streams) {
    assert.ok(flacAccepts(s.bytes), `flac -t accepts the writer's "${s.what}" stream`);
    assertExact(s.bytes, s.samples, s.what);
  }
  const unknown = decodeFlacPcm(streams.find((s) => s.what === 'unknown total, no MD5')!.bytes, 'u.flac');
  assert.is(unknown.info.totalSamples, 0);
  assert.is(unknown.md5Checked, false);
  // first channel only
  const st = streams.find((s) => s.what === 'stereo modes 24-bit')!;
  const first = decodeFlacPcm(st.bytes, 'st.flac', { firstChannelOnly: true });
  assert.is(first.channels.length, 1);
  assert.equal(Array.from(first.channels[0]), st.samples[0]);
});

test('coded numbers: 1 to 7 bytes (36-bit sample numbers), contiguous frames', () => {
  assert.equal(utf8Num(0x7f), [0x7f]);
  assert.equal(utf8Num(0x80), [0xc2, 0x80]);
  assert.equal(utf8Num(0x7ff), [0xdf, 0xbf]);
  assert.equal(utf8Num(0x800), [0xe0, 0xa0, 0x80]);
  assert.is(utf8Num(2 ** 36 - 1).length, 7);
  assert.is(utf8Num(2 ** 36 - 1)[0], 0xfe);
  // a variable-blocking stream whose frames start at large sample numbers (the decoder parses, not trusts, them)
  const s = testSignal(512, 1, 16, 27);
  const b = encodeFlac({ samples: s, bits: 16, sampleRate: 16000, variable: true, frames: [{ blockSize: 256 }, { blockSize: 256 }] });
  // re-number the second frame as sample 2^35 (7-byte coded number), fix its CRCs
  const starts = frameOffsets(b);
  const f1 = Array.from(b.subarray(starts[1], b.length - 2));
  const num = utf8Num(2 ** 35);
  const hdr = [...f1.slice(0, 4), ...num];
  hdr.push(crc8(hdr));
  const body = f1.slice(4 + utf8Num(256).length + 1); // old number (sample 256) and its CRC-8
  const frame = [...hdr, ...body];
  const c = crc16(frame);
  const out = new Uint8Array([...b.subarray(0, starts[1]), ...frame, c >> 8, c & 255]);
  // the 7-byte number is parsed exactly; the gap it makes is refused (libFLAC's MD5 check fails on it too)
  throwsFormat(() => decodeFlacPcm(out, 'gap.flac'), 'gap.flac', /frame 1 at byte \d+: coded sample number 34359738368, expected 256/);
  assert.not.ok(flacAccepts(out));
  // fixed blocking: a frame dropped from the middle
  const fixed = encodeFlac({ samples: testSignal(768, 1, 16, 28), bits: 16, sampleRate: 16000, md5: false, totalSamples: 0, frames: [{ blockSize: 256 }, { blockSize: 256 }, { blockSize: 256 }] });
  const fs = frameOffsets(fixed);
  const dropped = new Uint8Array([...fixed.subarray(0, fs[1]), ...fixed.subarray(fs[2])]);
  throwsFormat(() => decodeFlacPcm(dropped, 'drop.flac'), 'drop.flac', /frame 1 at byte \d+: coded frame number 2, expected 1/);
});

test('containers: ID3v2 before "fLaC", an ID3v1 tag or zero padding after the frames (with and without a sample count)', () => {
  const s = testSignal(2500, 2, 16, 51);
  const frames = blocks(2500, 1024).map((b) => ({ blockSize: b, mode: 'mid-side' as const, subframes: [{ type: 'fixed', order: 2 }, { type: 'fixed', order: 1 }] as SubframeSpec[] }));
  const id3v2 = [0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5];
  const tag = [...Buffer.from('TAG'), ...new Array(125).fill(32)];
  for (const totalSamples of [undefined, 0]) {
    const body = encodeFlac({ samples: s, bits: 16, sampleRate: 16000, frames, totalSamples });
    const what = totalSamples === 0 ? 'unknown length' : 'known length';
    assertExact(new Uint8Array([...id3v2, ...body, ...tag]), s, `${what} + ID3v1`);
    assertExact(new Uint8Array([...body, ...new Array(300).fill(0)]), s, `${what} + zero padding`);
    // other trailing bytes: ignored once the declared samples are decoded; without a count they are a lost sync
    const junk = new Uint8Array([...body, 1, 2, 3]);
    if (totalSamples === 0) throwsFormat(() => decodeFlacPcm(junk, 'trail.flac'), 'trail.flac', new RegExp(`lost sync at byte ${body.length}`));
    else assertExact(junk, s, `${what} + junk`);
  }
});

test('committed fixtures (test/shared/flac): decode exactly to their WAVs, rate code 0 included; 4-bit refused', async () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.flac')).sort();
  assert.ok(files.length >= 6, `fixtures: ${files}`);
  let compared = 0;
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, f)));
    assert.ok(bytes.length < 50_000, `${f} is small`);
    if (f.startsWith('bps4')) {
      throwsFormat(() => decodeFlacPcm(bytes, f), f, /STREAMINFO bits per sample 4; this reader decodes 8 to 32 bits/);
      continue;
    }
    const wav = decodeWav(new Uint8Array(readFileSync(join(FIXTURES, f.replace(/\.flac$/, '.wav')))), f);
    const d = await decodeAudio(bytes, f);
    assert.is(d.sampleRate, wav.sampleRate, f);
    assert.is(d.channels.length, wav.channels.length, f);
    for (let c = 0; c < d.channels.length; c++) assert.equal(Array.from(d.channels[c]), Array.from(wav.channels[c]), `${f} channel ${c}`);
    assert.ok(decodeFlacPcm(bytes, f).md5Checked, `${f}: MD5 checked`);
    compared++;
  }
  assert.ok(compared >= 5);
  const rate0 = new Uint8Array(readFileSync(join(FIXTURES, 'rate0_16k_mono16.flac')));
  for (const s of frameOffsets(rate0)) assert.is(rate0[s + 2] & 15, 0, 'every frame takes its rate from STREAMINFO');
  assert.ok(flacAccepts(rate0), 'flac -t accepts the rate-code-0 fixture');
  assert.ok(flacAccepts(new Uint8Array(readFileSync(join(FIXTURES, 'bps4_mono_lax.flac')))), 'the 4-bit fixture is a valid (--lax) stream');
});

test('demo FLACs: every frame decoded, STREAMINFO sample count and MD5 verified', () => {
  const dir = join(AHAMASK_DATA, 'data/test/demo_wavs');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.flac'))) {
    const d = decodeFlacPcm(new Uint8Array(readFileSync(join(dir, f))), f);
    assert.ok(d.md5Checked, f);
    assert.is(d.length, d.info.totalSamples, f);
  }
});

test('bad input: one line naming the file and the field', () => {
  const s = testSignal(3000, 1, 16, 31);
  const good = encodeFlac({ samples: s, bits: 16, sampleRate: 16000, frames: blocks(3000, 1024).map((b) => ({ blockSize: b, subframes: [{ type: 'verbatim' }] })) });
  const starts = frameOffsets(good);
  decodeFlacPcm(good, 'good.flac');
  // truncation anywhere: header, metadata, inside a frame, a whole frame missing
  throwsFormat(() => decodeFlacPcm(good.subarray(0, 20), 'hdr.flac'), 'hdr.flac', /truncated FLAC header/);
  throwsFormat(() => decodeFlacPcm(good.subarray(0, starts[1] + 100), 'cut.flac'), 'cut.flac', /truncated or corrupt FLAC: frame 1 at byte \d+: subframe 0 verbatim samples runs past the end of the data/);
  throwsFormat(() => decodeFlacPcm(good.subarray(0, starts[2]), 'lastgone.flac'), 'lastgone.flac', /truncated FLAC: decoded 2048 of the 3000 samples/);
  throwsFormat(() => decodeFlacPcm(good.subarray(0, 42), 'noframes.flac'), 'noframes.flac', /truncated|empty/);
  // bad sync: junk between frames
  const junk = new Uint8Array([...good.subarray(0, starts[1]), 1, 2, 3, ...good.subarray(starts[1])]);
  throwsFormat(() => decodeFlacPcm(junk, 'sync.flac'), 'sync.flac', new RegExp(`lost sync at byte ${starts[1]}`));
  // CRC-8: a header bit (the coded frame number)
  const h = good.slice();
  h[starts[1] + 4] ^= 0x02;
  throwsFormat(() => decodeFlacPcm(h, 'crc8.flac'), 'crc8.flac', /frame 1 at byte \d+: header CRC-8 mismatch/);
  // CRC-16: one sample bit of a verbatim subframe
  const v = good.slice();
  v[starts[1] + 100] ^= 0x10;
  throwsFormat(() => decodeFlacPcm(v, 'crc16.flac'), 'crc16.flac', /frame 1 at byte \d+: frame CRC-16 mismatch/);
  // MD5: consistent frames, wrong signature
  const m = good.slice();
  m[8 + 18 + 3] ^= 0xff;
  throwsFormat(() => decodeFlacPcm(m, 'md5.flac'), 'md5.flac', /does not match the STREAMINFO MD5/);
  // 4-bit STREAMINFO (RFC 9639 allows 4; the reference reader, libsndfile, has no FLAC below 8 bits)
  throwsFormat(() => decodeFlacPcm(flacBytes([[1, -2, 3, -8, 7]], 4, 16000), 'four.flac'), 'four.flac', /bits per sample 4; this reader decodes 8 to 32/);
  // absurd sizes: more samples than the bytes can hold, more than the reader decodes
  const huge = good.slice();
  huge[8 + 13] |= 0x0f; // total samples high bits: ~2^36
  throwsFormat(() => decodeFlacPcm(huge, 'huge.flac'), 'huge.flac', /STREAMINFO declares \d+ samples, the file's \d+ bytes of frames can hold at most \d+/);
  const zeros = new Array(65536).fill(0);
  const constant = (n: number) => encodeFlac({ samples: [zeros.slice(0, 1)], bits: 16, sampleRate: 16000, totalSamples: n, frames: [{ blockSize: 1, subframes: [{ type: 'constant' }] }] });
  const big = new Uint8Array(constant(MAX_FLAC_VALUES + 1).length + 2_100_000);
  big.set(constant(MAX_FLAC_VALUES + 1));
  throwsFormat(() => decodeFlacPcm(big, 'long.flac'), 'long.flac', new RegExp(`more than the ${MAX_FLAC_VALUES} values`));
  // frame/STREAMINFO disagreements and reserved codes
  const rate = good.slice();
  rate[starts[0] + 2] = (rate[starts[0] + 2] & 0xf0) | 4; // 8 kHz
  rate[starts[0] + 5] = crc8(rate, starts[0], starts[0] + 5);
  throwsFormat(() => decodeFlacPcm(rate, 'rate.flac'), 'rate.flac', /frame sample rate 8000 Hz, STREAMINFO declares 16000 Hz/);
  const r15 = good.slice();
  r15[starts[0] + 2] |= 0x0f;
  r15[starts[0] + 5] = crc8(r15, starts[0], starts[0] + 5);
  throwsFormat(() => decodeFlacPcm(r15, 'r15.flac'), 'r15.flac', /invalid sample rate code 15/);
  const chans = good.slice();
  chans[starts[0] + 3] = (1 << 4) | (chans[starts[0] + 3] & 0x0f);
  chans[starts[0] + 5] = crc8(chans, starts[0], starts[0] + 5);
  throwsFormat(() => decodeFlacPcm(chans, 'ch.flac'), 'ch.flac', /frame has 2 channels, STREAMINFO declares 1/);
  const sr0 = good.slice();
  sr0[8 + 10] = 0; sr0[8 + 11] = 0; sr0[8 + 12] &= 0x0f;
  throwsFormat(() => decodeFlacPcm(sr0, 'sr0.flac'), 'sr0.flac', /STREAMINFO sample rate 0/);
  // a LPC residual that makes the prediction explode is caught as out of range, not decoded into garbage
  const lpc = encodeFlac({ samples: [new Array(64).fill(0)], bits: 16, sampleRate: 16000, md5: false, frames: [{ blockSize: 64, subframes: [{ type: 'lpc', coefs: [16383], precision: 15, shift: 0, rawResidual: new Array(64).fill(30000) }] }] });
  throwsFormat(() => decodeFlacPcm(lpc, 'lpc.flac'), 'lpc.flac', /frame 0 at byte \d+: subframe 0: sample \d+ = \d+ outside the 16-bit range/);
});

test('rate code 0 fixture is byte-identical to re-encoding the CLI output with rate code 0 (the fixture recipe)', () => {
  const s = testSignal(2 * 4096 + 3, 1, 16, 41);
  const src = flacCli(s, 16, 16000, ['-5', '-b', '4096']);
  const r0 = withRateCode0(src);
  assert.ok(flacAccepts(r0));
  assertExact(r0, s, 'rate0');
});

test.run();
