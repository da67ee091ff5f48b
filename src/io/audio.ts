// Audio decoding (WAV, FLAC), torchaudio-exact sinc resampling and SALMONN's length normalisation (spec §2.1).
//
// The official code path is `soundfile.read(path)` (float64, libsndfile scaling: PCM int / 2^(bits-1), unsigned
// 8-bit (x-128)/128, float data as stored) → `torchaudio.transforms.Resample(sr, 16000)` on the float32 tensor
// of all channels if sr != 16000 (result back to float64) → channel 0 → zero-pad to 1 s → cut at 30 s.
// Resampling is per channel, so only channel 0 is resampled here.
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { FormatError } from '../errors.js';

export const TARGET_SAMPLE_RATE = 16000;
/** Audio shorter than this (1 s at 16 kHz) is right-padded with zeros. */
export const MIN_SAMPLES = 16000;
/** Audio is truncated to its first 30 s at 16 kHz. */
export const MAX_SAMPLES = 480000;
/** Sample rates above this are rejected as unsupported (keeps the resampling kernel bounded). */
export const MAX_SAMPLE_RATE = 1_000_000;

export interface DecodedAudio {
  sampleRate: number;
  /** Channel count of the file (channels[] may hold only channel 0, see decode options). */
  numChannels: number;
  bitsPerSample: number;
  encoding: 'pcm' | 'float';
  container: 'wav' | 'flac';
  /** Samples per channel, float64, scaled like soundfile.read (PCM in [-1, 1)). */
  channels: Float64Array[];
}

export interface DecodeOptions {
  /** Only decode channel 0 (what SALMONN uses). Default false. */
  firstChannelOnly?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Container sniffing

export type AudioContainer = 'wav' | 'flac' | 'unknown';

function ascii(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len && off + i < b.length; i++) s += String.fromCharCode(b[off + i]);
  return s;
}

/** Byte offset of the FLAC stream ("fLaC") after an optional ID3v2 tag, or -1. */
function flacStart(b: Uint8Array): number {
  let off = 0;
  if (ascii(b, 0, 3) === 'ID3' && b.length >= 10) {
    const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
    off = 10 + size + (b[5] & 0x10 ? 10 : 0);
  }
  return ascii(b, off, 4) === 'fLaC' ? off : -1;
}

export function sniffAudio(bytes: Uint8Array): AudioContainer {
  const magic = ascii(bytes, 0, 4);
  if ((magic === 'RIFF' || magic === 'RIFX' || magic === 'RF64') && ascii(bytes, 8, 4) === 'WAVE') return 'wav';
  if (flacStart(bytes) >= 0) return 'flac';
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------------------------
// WAV

const KSDATAFORMAT_SUFFIX = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/**
 * Parses a RIFF/RIFX/RF64 WAVE file: PCM 8/16/24/32-bit (8-bit unsigned), IEEE float 32/64-bit, plain or
 * WAVE_FORMAT_EXTENSIBLE, any channel count. Scaling follows libsndfile's normalised double reads.
 */
export function decodeWav(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): DecodedAudio {
  const fail = (msg: string): never => { throw new FormatError(name, msg); };
  if (bytes.length < 12) fail(`not a WAV file: only ${bytes.length} bytes`);
  const magic = ascii(bytes, 0, 4);
  if ((magic !== 'RIFF' && magic !== 'RIFX' && magic !== 'RF64') || ascii(bytes, 8, 4) !== 'WAVE') {
    fail(`not a RIFF/WAVE file (magic ${JSON.stringify(ascii(bytes, 0, 4))})`);
  }
  const le = magic !== 'RIFX';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let fmt: { off: number; size: number } | undefined;
  let data: { off: number; size: number } | undefined;
  let ds64DataSize: number | undefined;
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = ascii(bytes, off, 4);
    const size = dv.getUint32(off + 4, le);
    const body = off + 8;
    if (id === 'ds64' && magic === 'RF64' && size >= 16 && body + 16 <= bytes.length) {
      const lo = dv.getUint32(body + 8, true), hi = dv.getUint32(body + 12, true);
      ds64DataSize = hi * 2 ** 32 + lo;
    } else if (id === 'fmt ' && !fmt) {
      if (body + size > bytes.length) fail(`truncated fmt chunk at offset ${off}`);
      fmt = { off: body, size };
    } else if (id === 'data' && !data) {
      let dsize = size;
      if (magic === 'RF64' && size === 0xffffffff) {
        if (ds64DataSize === undefined) fail(`RF64 file without a ds64 chunk before data (offset ${off})`);
        dsize = ds64DataSize!;
      } else if (size === 0xffffffff) {
        dsize = bytes.length - body; // streaming writers: data runs to the end of the file
      }
      if (body + dsize > bytes.length) {
        fail(`truncated: data chunk at offset ${off} declares ${dsize} bytes, only ${bytes.length - body} present`);
      }
      data = { off: body, size: dsize };
      if (fmt) break;
      off = body + dsize + (dsize & 1);
      continue;
    }
    if (fmt && data) break;
    off = body + size + (size & 1);
  }
  if (!fmt) fail('no fmt chunk');
  if (!data) fail('no data chunk');
  const f = fmt!;
  if (f.size < 16) fail(`fmt chunk too short (${f.size} bytes)`);
  let tag = dv.getUint16(f.off, le);
  const numChannels = dv.getUint16(f.off + 2, le);
  const sampleRate = dv.getUint32(f.off + 4, le);
  const blockAlign = dv.getUint16(f.off + 12, le);
  const bits = dv.getUint16(f.off + 14, le);
  if (tag === 0xfffe) {
    if (f.size < 40) fail(`WAVE_FORMAT_EXTENSIBLE fmt chunk too short (${f.size} bytes)`);
    const sub = dv.getUint16(f.off + 24, le);
    const suffixOk = KSDATAFORMAT_SUFFIX.every((v, i) => bytes[f.off + 26 + i] === v);
    if (!suffixOk) fail('unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID');
    tag = sub;
  }
  if (tag !== 1 && tag !== 3) fail(`unsupported WAV encoding (format tag 0x${tag.toString(16)}); only PCM and IEEE float`);
  if (numChannels < 1) fail('WAV declares 0 channels');
  if (sampleRate < 1) fail('WAV declares sample rate 0');
  if (bits < 1) fail('WAV declares 0 bits per sample');
  const container = blockAlign > 0 && blockAlign % numChannels === 0 ? blockAlign / numChannels : Math.ceil(bits / 8);
  if (container < Math.ceil(bits / 8)) fail(`block align ${blockAlign} too small for ${numChannels} x ${bits}-bit samples`);
  const encoding = tag === 3 ? 'float' : 'pcm';
  if (encoding === 'pcm' && (container < 1 || container > 4)) fail(`unsupported PCM sample width ${bits} bits (container ${container} bytes)`);
  if (encoding === 'float' && container !== 4 && container !== 8) fail(`unsupported float sample width ${bits} bits`);
  const frameBytes = container * numChannels;
  const frames = Math.floor(data!.size / frameBytes);
  if (frames === 0) fail('empty audio (no sample frames in data chunk)');

  const nOut = opts.firstChannelOnly ? 1 : numChannels;
  const channels: Float64Array[] = [];
  for (let c = 0; c < nOut; c++) {
    const out = new Float64Array(frames);
    let p = data!.off + c * container;
    if (encoding === 'float') {
      if (container === 4) for (let i = 0; i < frames; i++, p += frameBytes) out[i] = dv.getFloat32(p, le);
      else for (let i = 0; i < frames; i++, p += frameBytes) out[i] = dv.getFloat64(p, le);
    } else if (container === 1) {
      for (let i = 0; i < frames; i++, p += frameBytes) out[i] = (bytes[p] - 128) / 128;
    } else if (container === 2) {
      for (let i = 0; i < frames; i++, p += frameBytes) out[i] = dv.getInt16(p, le) / 32768;
    } else if (container === 3) {
      for (let i = 0; i < frames; i++, p += frameBytes) {
        const v = le ? bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) : bytes[p + 2] | (bytes[p + 1] << 8) | (bytes[p] << 16);
        out[i] = ((v << 8) >> 8) / 8388608;
      }
    } else {
      for (let i = 0; i < frames; i++, p += frameBytes) out[i] = dv.getInt32(p, le) / 2147483648;
    }
    channels.push(out);
  }
  return { sampleRate, numChannels, bitsPerSample: bits, encoding, container: 'wav', channels };
}

// ---------------------------------------------------------------------------------------------------------------
// FLAC

interface StreamInfo { sampleRate: number; channels: number; bitsPerSample: number; totalSamples: number; md5: Uint8Array }

function parseStreamInfo(b: Uint8Array, start: number, name: string): StreamInfo {
  const p = start + 4;
  if (b.length < p + 4 + 34) throw new FormatError(name, 'truncated FLAC header (no complete STREAMINFO block)');
  const type = b[p] & 0x7f;
  const len = (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  if (type !== 0 || len !== 34) throw new FormatError(name, `corrupt FLAC: first metadata block is type ${type} length ${len}, expected STREAMINFO (0, 34)`);
  const s = p + 4;
  const sampleRate = (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4);
  const channels = ((b[s + 12] >> 1) & 7) + 1;
  const bitsPerSample = (((b[s + 12] & 1) << 4) | (b[s + 13] >> 4)) + 1;
  const totalSamples = (b[s + 13] & 0x0f) * 2 ** 32 + ((b[s + 14] << 24) >>> 0) + (b[s + 15] << 16) + (b[s + 16] << 8) + b[s + 17];
  if (sampleRate === 0) throw new FormatError(name, 'corrupt FLAC: STREAMINFO sample rate 0');
  if (bitsPerSample < 4) throw new FormatError(name, `corrupt FLAC: STREAMINFO bits per sample ${bitsPerSample}`);
  return { sampleRate, channels, bitsPerSample, totalSamples, md5: b.slice(s + 18, s + 34) };
}

/**
 * Decodes a FLAC file with @wasm-audio-decoders/flac (8/16/24/32-bit). The decoder emits float32 samples scaled
 * by 1/(2^(bits-1) - 1); the integers are recovered (exact for ≤ 24 bits), checked against the STREAMINFO sample
 * count and MD5 (when present) and rescaled like soundfile (int / 2^(bits-1)).
 */
export async function decodeFlac(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const start = flacStart(bytes);
  if (start < 0) throw new FormatError(name, 'not a FLAC file (no "fLaC" marker)');
  const info = parseStreamInfo(bytes, start, name);
  const stream = start === 0 ? bytes : bytes.subarray(start);
  let decoded: Awaited<ReturnType<FLACDecoder['decodeFile']>>;
  const decoder = new FLACDecoder();
  try {
    await decoder.ready;
    decoded = await decoder.decodeFile(stream);
  } catch (e) {
    throw new FormatError(name, `corrupt FLAC: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  } finally {
    try { decoder.free(); } catch { /* already freed */ }
  }
  if (decoded.errors.length > 0) {
    const e0 = decoded.errors[0] as unknown as { message?: string; error?: string };
    throw new FormatError(name, `corrupt FLAC: ${e0.message ?? e0.error ?? 'decoder error'} (${decoded.errors.length} error(s))`);
  }
  const n = decoded.samplesDecoded;
  if (n === 0 || decoded.channelData.length === 0) throw new FormatError(name, 'empty audio (FLAC stream decoded to 0 samples)');
  if (info.totalSamples > 0 && n !== info.totalSamples) {
    throw new FormatError(name, `truncated or corrupt FLAC: decoded ${n} samples, STREAMINFO declares ${info.totalSamples}`);
  }
  const numChannels = decoded.channelData.length;
  if (numChannels !== info.channels) throw new FormatError(name, `corrupt FLAC: decoded ${numChannels} channels, STREAMINFO declares ${info.channels}`);
  const sampleRate = decoded.sampleRate || info.sampleRate;
  if (sampleRate !== info.sampleRate) throw new FormatError(name, `corrupt FLAC: frames at ${sampleRate} Hz, STREAMINFO declares ${info.sampleRate} Hz`);
  const bits = decoded.bitDepth || info.bitsPerSample;
  // The WASM decoder only scales 8/16/24/32-bit streams correctly (other depths come out as ±Infinity).
  if (bits !== 8 && bits !== 16 && bits !== 24 && bits !== 32) {
    throw new FormatError(name, `unsupported FLAC bit depth ${bits} (supported: 8, 16, 24, 32)`);
  }
  const full = 2 ** (bits - 1);
  const decScale = full - 1;
  const exact = bits <= 24;
  const ints: Int32Array[] = [];
  const channels: Float64Array[] = [];
  for (let c = 0; c < numChannels; c++) {
    const src = decoded.channelData[c];
    if (src.length < n) throw new FormatError(name, `corrupt FLAC: channel ${c} has ${src.length} of ${n} samples`);
    if (exact) {
      const iv = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = Math.round(src[i] * decScale);
        iv[i] = v < -full ? -full : v > full - 1 ? full - 1 : v;
      }
      ints.push(iv);
      if (!opts.firstChannelOnly || c === 0) channels.push(Float64Array.from(iv, (v) => v / full));
    } else if (!opts.firstChannelOnly || c === 0) {
      channels.push(Float64Array.from(src.subarray(0, n), (v) => (v * decScale) / full));
    }
  }
  if (exact && info.md5.some((v) => v !== 0)) {
    const digest = md5Samples(ints, n, Math.ceil(bits / 8));
    if (digest.some((v, i) => v !== info.md5[i])) throw new FormatError(name, 'corrupt FLAC: decoded audio does not match the STREAMINFO MD5');
  }
  return { sampleRate, numChannels, bitsPerSample: bits, encoding: 'pcm', container: 'flac', channels };
}

// MD5 (RFC 1321) over interleaved little-endian samples, as libFLAC computes the STREAMINFO signature.
const MD5_S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

export class Md5 {
  private h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  private block = new Uint8Array(64);
  private blockLen = 0;
  private total = 0;
  private w = new Uint32Array(16);

  update(data: Uint8Array): this {
    let i = 0;
    this.total += data.length;
    if (this.blockLen > 0) {
      const take = Math.min(64 - this.blockLen, data.length);
      this.block.set(data.subarray(0, take), this.blockLen);
      this.blockLen += take;
      i = take;
      if (this.blockLen === 64) { this.compress(this.block, 0); this.blockLen = 0; }
    }
    for (; i + 64 <= data.length; i += 64) this.compress(data, i);
    if (i < data.length) { this.block.set(data.subarray(i), 0); this.blockLen = data.length - i; }
    return this;
  }

  digest(): Uint8Array {
    const bitLen = this.total * 8;
    const pad = new Uint8Array(((this.blockLen < 56 ? 56 : 120) - this.blockLen) + 8);
    pad[0] = 0x80;
    const dv = new DataView(pad.buffer);
    dv.setUint32(pad.length - 8, bitLen >>> 0, true);
    dv.setUint32(pad.length - 4, Math.floor(bitLen / 2 ** 32), true);
    this.total -= pad.length; // padding is not message length
    this.update(pad);
    const out = new Uint8Array(16);
    const odv = new DataView(out.buffer);
    for (let j = 0; j < 4; j++) odv.setUint32(j * 4, this.h[j], true);
    return out;
  }

  private compress(b: Uint8Array, o: number): void {
    const w = this.w;
    for (let j = 0; j < 16; j++) w[j] = b[o + 4 * j] | (b[o + 4 * j + 1] << 8) | (b[o + 4 * j + 2] << 16) | (b[o + 4 * j + 3] << 24);
    let a = this.h[0], bb = this.h[1], c = this.h[2], d = this.h[3];
    for (let j = 0; j < 64; j++) {
      let f: number, g: number;
      if (j < 16) { f = (bb & c) | (~bb & d); g = j; }
      else if (j < 32) { f = (d & bb) | (~d & c); g = (5 * j + 1) & 15; }
      else if (j < 48) { f = bb ^ c ^ d; g = (3 * j + 5) & 15; }
      else { f = c ^ (bb | ~d); g = (7 * j) & 15; }
      const t = d;
      d = c;
      c = bb;
      const x = (a + f + MD5_K[j] + w[g]) | 0;
      bb = (bb + ((x << MD5_S[j]) | (x >>> (32 - MD5_S[j])))) | 0;
      a = t;
    }
    this.h[0] = (this.h[0] + a) | 0;
    this.h[1] = (this.h[1] + bb) | 0;
    this.h[2] = (this.h[2] + c) | 0;
    this.h[3] = (this.h[3] + d) | 0;
  }
}

function md5Samples(chans: Int32Array[], n: number, bytesPerSample: number): Uint8Array {
  const md5 = new Md5();
  const framesPerChunk = 4096;
  const chunk = new Uint8Array(framesPerChunk * chans.length * bytesPerSample);
  for (let s0 = 0; s0 < n; s0 += framesPerChunk) {
    const s1 = Math.min(n, s0 + framesPerChunk);
    let p = 0;
    for (let i = s0; i < s1; i++) {
      for (let c = 0; c < chans.length; c++) {
        const v = chans[c][i];
        for (let k = 0; k < bytesPerSample; k++) chunk[p++] = (v >> (8 * k)) & 0xff;
      }
    }
    md5.update(chunk.subarray(0, p));
  }
  return md5.digest();
}

// ---------------------------------------------------------------------------------------------------------------
// Any supported container

/** Decodes WAV or FLAC (sniffed from the bytes). Throws FormatError (naming `name`) for anything else. */
export async function decodeAudio(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const kind = sniffAudio(bytes);
  if (kind === 'wav') return decodeWav(bytes, name, opts);
  if (kind === 'flac') return decodeFlac(bytes, name, opts);
  if (bytes.length === 0) throw new FormatError(name, 'empty file');
  throw new FormatError(name, 'unsupported audio format (expected WAV or FLAC)');
}

// ---------------------------------------------------------------------------------------------------------------
// Resampling: torchaudio.functional.resample / transforms.Resample, sinc_interp_hann, exact kernel

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export interface SincKernel {
  /** orig_freq / gcd and new_freq / gcd */
  orig: number;
  neu: number;
  /** torchaudio's `width` (the input is padded by width on the left, width + orig on the right). */
  width: number;
  /** For phase p: taps kernel[p][j - first[p]] apply to input offset j (relative to i·orig), j in [first, first+len). */
  first: Int32Array;
  taps: Float32Array[];
}

/**
 * torchaudio `_get_sinc_resample_kernel(orig, new, gcd, lowpass_filter_width, rolloff, "sinc_interp_hann",
 * dtype=None)`: float64 computation (the phase offsets -p/new are float32, as torch computes int/int in the
 * default dtype), cast to float32. Taps whose float32 value is zero (|t| clamped to the filter width) are dropped,
 * so only O(width) taps per phase are stored even when orig/gcd is large.
 */
export function sincResampleKernel(origFreq: number, newFreq: number, lowpassFilterWidth = 6, rolloff = 0.99): SincKernel {
  if (!Number.isInteger(origFreq) || !Number.isInteger(newFreq) || origFreq < 1 || newFreq < 1) {
    throw new RangeError(`resample: frequencies must be positive integers (got ${origFreq}, ${newFreq})`);
  }
  const g = gcd(origFreq, newFreq);
  const orig = origFreq / g, neu = newFreq / g;
  const base = Math.min(orig, neu) * rolloff;
  const width = Math.ceil((lowpassFilterWidth * orig) / base);
  const lw = lowpassFilterWidth;
  const scale = base / orig;
  const first = new Int32Array(neu);
  const taps: Float32Array[] = [];
  for (let p = 0; p < neu; p++) {
    const phase = Math.fround(-p / neu);
    // |t| < lw  ⇔  j/orig ∈ (p/neu - lw/base, p/neu + lw/base); add a margin, then trim exact zeros.
    const lo = Math.max(-width, Math.floor(orig * (p / neu - lw / base)) - 2);
    const hi = Math.min(width + orig - 1, Math.ceil(orig * (p / neu + lw / base)) + 2);
    const vals = new Float32Array(Math.max(0, hi - lo + 1));
    for (let j = lo; j <= hi; j++) {
      let t = (phase + j / orig) * base;
      if (t < -lw) t = -lw;
      else if (t > lw) t = lw;
      const c = Math.cos((t * Math.PI) / lw / 2);
      const window = c * c;
      t *= Math.PI;
      const k = t === 0 ? 1 : Math.sin(t) / t;
      vals[j - lo] = k * (window * scale);
    }
    let a = 0, b = vals.length;
    while (a < b && vals[a] === 0) a++;
    while (b > a && vals[b - 1] === 0) b--;
    first[p] = lo + a;
    taps.push(vals.slice(a, b));
  }
  return { orig, neu, width, first, taps };
}

/**
 * torchaudio `Resample(orig, new)` (defaults: sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99) applied to a
 * float32 waveform: output length ceil(new·N/orig), float32 values (accumulated in float64 then rounded).
 * `maxOutput` limits how many leading output samples are computed. Equal rates return a float32 copy.
 */
export function resample(x: ArrayLike<number>, origFreq: number, newFreq: number, maxOutput = Infinity,
  kernel?: SincKernel): Float32Array {
  const N = x.length;
  if (origFreq === newFreq) return Float32Array.from(x).subarray(0, Math.min(N, maxOutput));
  const k = kernel ?? sincResampleKernel(origFreq, newFreq);
  const { orig, neu, first, taps } = k;
  const xs = x instanceof Float32Array ? x : Float32Array.from(x);
  const target = Math.min(Math.ceil((neu * N) / orig), (Math.floor(N / orig) + 1) * neu, maxOutput);
  const out = new Float32Array(Math.max(0, target));
  for (let o = 0; o < out.length; o++) {
    const i = Math.floor(o / neu), p = o - i * neu;
    const tp = taps[p];
    const s0 = i * orig + first[p];
    let acc = 0;
    let j0 = 0, j1 = tp.length;
    if (s0 < 0) j0 = -s0;
    if (s0 + j1 > N) j1 = N - s0;
    for (let j = j0; j < j1; j++) acc += tp[j] * xs[s0 + j];
    out[o] = acc;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// SALMONN pipeline

/** Zero-pads to MIN_SAMPLES (1 s) and truncates to MAX_SAMPLES (30 s) (spec §2.1 steps 5–6). */
export function normalizeLength(x: Float64Array): Float64Array {
  if (x.length < MIN_SAMPLES) {
    const out = new Float64Array(MIN_SAMPLES);
    out.set(x);
    return out;
  }
  return x.length > MAX_SAMPLES ? x.slice(0, MAX_SAMPLES) : x;
}

/**
 * Spec §2.1 steps 2, 3, 5, 6 on decoded audio: resample (channel 0) to 16 kHz if needed, then pad/truncate.
 * Returns the float64 waveform the official code feeds both front-ends.
 */
export function prepareWaveform(audio: DecodedAudio, name = 'audio'): Float64Array {
  const sr = audio.sampleRate;
  if (!Number.isInteger(sr) || sr < 1 || sr > MAX_SAMPLE_RATE) throw new FormatError(name, `unsupported sample rate ${sr} Hz`);
  let x = audio.channels[0];
  if (sr !== TARGET_SAMPLE_RATE) x = Float64Array.from(resample(x, sr, TARGET_SAMPLE_RATE, MAX_SAMPLES));
  return normalizeLength(x);
}

/** Decodes WAV/FLAC bytes to the SALMONN float64 waveform: 16 kHz, channel 0, 1 s ≤ length ≤ 30 s. */
export async function loadAudioF64(bytes: Uint8Array, name: string): Promise<Float64Array> {
  const audio = await decodeAudio(bytes, name, { firstChannelOnly: true });
  return prepareWaveform(audio, name);
}

/**
 * Decodes WAV/FLAC bytes to the SALMONN waveform as float32 (16 kHz, channel 0, 1 s ≤ length ≤ 30 s).
 * Exact copy of the official float64 array for ≤ 24-bit PCM and for resampled audio.
 */
export async function loadAudio(bytes: Uint8Array, name: string): Promise<Float32Array> {
  return Float32Array.from(await loadAudioF64(bytes, name));
}
