// Audio decoding (WAV, FLAC), torchaudio-exact sinc resampling and SALMONN's length normalisation (spec §2.1).
//
// The official code path is `soundfile.read(path)` (float64, libsndfile scaling: PCM int / 2^(bits-1), unsigned
// 8-bit (x-128)/128, float data as stored) → `torchaudio.transforms.Resample(sr, 16000)` on the float32 tensor
// of all channels if sr != 16000 (result back to float64) → channel 0 → zero-pad to 1 s → cut at 30 s.
// Resampling is per channel, so only channel 0 is resampled here.
import { FormatError } from '../errors.js';
import { decodeFlacPcm, flacStart } from './flac.js';

export { Md5 } from './flac.js';

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

/**
 * Decodes a FLAC file (src/io/flac.ts: every frame, CRCs, STREAMINFO MD5) and scales the integers like soundfile
 * (int / 2^(bits-1)). Async for API stability (the decoder itself is synchronous).
 */
export async function decodeFlac(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const pcm = decodeFlacPcm(bytes, name, { firstChannelOnly: opts.firstChannelOnly });
  const bits = pcm.info.bitsPerSample;
  const full = 2 ** (bits - 1);
  const channels = pcm.channels.map((iv) => {
    const out = new Float64Array(iv.length);
    for (let i = 0; i < iv.length; i++) out[i] = iv[i] / full;
    return out;
  });
  return { sampleRate: pcm.info.sampleRate, numChannels: pcm.info.channels, bitsPerSample: bits, encoding: 'pcm', container: 'flac', channels };
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
