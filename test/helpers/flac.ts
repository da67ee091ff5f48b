// Test-side FLAC writer (RFC 9639), independent of src/io/flac.ts: it builds streams with exactly the structures a
// test asks for (every subframe type, Rice parameter sizes, escape partitions, wasted bits, stereo modes, variable
// blocking, header codes that defer to STREAMINFO), so the decoder is tested on what libFLAC never emits too.
// `flac -t` accepts what it writes (checked in test/io/flac.test.ts where the CLI exists).
import { createHash } from 'node:crypto';

export class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  /** The low `bits` bits of `value` (negative values: two's complement), MSB first; bits <= 33. */
  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** i) & 1);
      if (++this.n === 8) { this.bytes.push(this.acc); this.acc = 0; this.n = 0; }
    }
  }
  unary(q: number): void {
    for (let i = 0; i < q; i++) this.write(0, 1);
    this.write(1, 1);
  }
  align(): void { while (this.n !== 0) this.write(0, 1); }
}

export function crc8(b: ArrayLike<number>, start = 0, end = b.length): number {
  let c = 0;
  for (let j = start; j < end; j++) { c ^= b[j]; for (let i = 0; i < 8; i++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff; }
  return c;
}
export function crc16(b: ArrayLike<number>, start = 0, end = b.length): number {
  let c = 0;
  for (let j = start; j < end; j++) { c ^= b[j] << 8; for (let i = 0; i < 8; i++) c = c & 0x8000 ? ((c << 1) ^ 0x8005) & 0xffff : (c << 1) & 0xffff; }
  return c;
}

/** The UTF-8-like coded number of a frame header (1 to 7 bytes, up to 36 bits). */
export function utf8Num(v: number): number[] {
  if (v < 0x80) return [v];
  let len = 2;
  while (v >= 2 ** (5 * len + 1)) len++; // payload bits of an n-byte code: 5n + 1 (n >= 2)
  const out: number[] = [];
  let x = v;
  for (let i = 0; i < len - 1; i++) { out.unshift(0x80 | (x % 64)); x = Math.floor(x / 64); }
  out.unshift(((0xff00 >> len) & 0xff) | x);
  return out;
}

export function md5OfSamples(samples: number[][] | Int32Array[], bits: number): Buffer {
  const ch = samples.length, n = samples[0].length, bps = Math.ceil(bits / 8);
  const raw = Buffer.alloc(n * ch * bps);
  let p = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) for (let k = 0; k < bps; k++) raw[p++] = (samples[c][i] >> (8 * k)) & 255;
  return createHash('md5').update(raw).digest();
}

export type SubframeSpec = (
  | { type: 'constant' }
  | { type: 'verbatim' }
  | { type: 'fixed'; order: number }
  | { type: 'lpc'; coefs: number[]; precision: number; shift: number }
) & {
  /** Wasted bits (the signal must be divisible by 2^wasted). */
  wasted?: number;
  /** Residual coding method 0 (4-bit Rice parameters) or 1 (5-bit). */
  method?: 0 | 1;
  partitionOrder?: number;
  /** Partitions written as escaped (unencoded) binary. */
  escape?: number[];
  /** Residual written instead of the computed one (corrupt streams for error tests; order..n used). */
  rawResidual?: number[];
};

export type ChannelMode = 'independent' | 'left-side' | 'side-right' | 'mid-side';

export interface FrameSpec {
  blockSize: number;
  mode?: ChannelMode;
  /** One per channel; default verbatim. */
  subframes?: SubframeSpec[];
}

export interface StreamSpec {
  /** Integer samples per channel. */
  samples: number[][];
  bits: number;
  sampleRate: number;
  frames: FrameSpec[];
  /** Frame headers take the sample rate from STREAMINFO (rate code 0) even where a code exists. */
  rateCode0?: boolean;
  /** Frame headers take the bit depth from STREAMINFO (depth code 0). */
  depthCode0?: boolean;
  /** Variable blocking strategy (coded number = first sample). */
  variable?: boolean;
  /** Write the MD5 (default true; false writes zeros = unset). */
  md5?: boolean;
  /** STREAMINFO total samples (default: the real count; 0 = unknown). */
  totalSamples?: number;
}

const RATE_CODE: Record<number, number> = { 88200: 1, 176400: 2, 192000: 3, 8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10, 96000: 11 };
const DEPTH_CODE: Record<number, number> = { 8: 1, 12: 2, 16: 4, 20: 5, 24: 6, 32: 7 };
const BS_CODE: Record<number, number> = { 192: 1, 576: 2, 1152: 3, 2304: 4, 4608: 5, 256: 8, 512: 9, 1024: 10, 2048: 11, 4096: 12, 8192: 13, 16384: 14, 32768: 15 };
const FIXED = [[], [1], [2, -1], [3, -3, 1], [4, -6, 4, -1]];

function zigzag(v: number): number { return v >= 0 ? 2 * v : -2 * v - 1; }

function writeResidual(w: BitWriter, res: number[], order: number, n: number, sf: SubframeSpec): void {
  // 4-bit Rice parameters reach 14: wider residuals need method 1 (5-bit parameters) unless a test asks otherwise
  const method = sf.method ?? (res.slice(order).some((v) => zigzag(v) >= 2 ** 16) ? 1 : 0), po = sf.partitionOrder ?? 0;
  const parts = 2 ** po, per = n / parts;
  if (!Number.isInteger(per) || per < order) throw new Error(`bad partition order ${po} for block ${n}, order ${order}`);
  w.write(method, 2);
  w.write(po, 4);
  const pbits = method === 0 ? 4 : 5, esc = 2 ** pbits - 1;
  for (let p = 0; p < parts; p++) {
    const vals = res.slice(p === 0 ? order : p * per, (p + 1) * per);
    if (sf.escape?.includes(p)) {
      let nb = 0;
      for (const v of vals) while (v !== 0 && (v < -(2 ** (nb - 1)) || v >= 2 ** (nb - 1) || nb === 0)) nb++;
      w.write(esc, pbits);
      w.write(nb, 5);
      for (const v of vals) w.write(v, nb);
      continue;
    }
    const mean = vals.reduce((a, v) => a + zigzag(v), 0) / Math.max(1, vals.length);
    const k = Math.min(esc - 1, mean < 1 ? 0 : Math.floor(Math.log2(mean)));
    w.write(k, pbits);
    for (const v of vals) {
      const z = zigzag(v);
      w.unary(Math.floor(z / 2 ** k));
      w.write(z % 2 ** k, k);
    }
  }
}

function writeSubframe(w: BitWriter, x: number[], bps: number, sf: SubframeSpec): void {
  const n = x.length;
  const wasted = sf.wasted ?? 0;
  const m = 2 ** wasted;
  const y = x.map((v) => { if (v % m !== 0) throw new Error(`sample ${v} not divisible by 2^${wasted}`); return v / m; });
  const b = bps - wasted;
  const typeCode = sf.type === 'constant' ? 0 : sf.type === 'verbatim' ? 1 : sf.type === 'fixed' ? 8 + sf.order : 31 + sf.coefs.length;
  w.write(0, 1);
  w.write(typeCode, 6);
  if (wasted) { w.write(1, 1); w.unary(wasted - 1); } else w.write(0, 1);
  if (sf.type === 'constant') {
    if (y.some((v) => v !== y[0])) throw new Error('constant subframe over a non-constant block');
    w.write(y[0], b);
  } else if (sf.type === 'verbatim') {
    for (const v of y) w.write(v, b);
  } else if (sf.type === 'fixed') {
    const c = FIXED[sf.order];
    for (let i = 0; i < sf.order; i++) w.write(y[i], b);
    const res = sf.rawResidual ?? y.map((v, i) => (i < sf.order ? 0 : v - c.reduce((a, cj, j) => a + cj * y[i - 1 - j], 0)));
    writeResidual(w, res, sf.order, n, sf);
  } else {
    const order = sf.coefs.length;
    for (let i = 0; i < order; i++) w.write(y[i], b);
    w.write(sf.precision - 1, 4);
    w.write(sf.shift, 5);
    for (const c of sf.coefs) w.write(c, sf.precision);
    const res = sf.rawResidual ?? y.map((v, i) => (i < order ? 0 : v - Math.floor(sf.coefs.reduce((a, cj, j) => a + cj * y[i - 1 - j], 0) / 2 ** sf.shift)));
    writeResidual(w, res, order, n, sf);
  }
}

/** A complete FLAC file: "fLaC", STREAMINFO (last metadata block), then the frames as specified. */
export function encodeFlac(s: StreamSpec): Uint8Array {
  const ch = s.samples.length, n = s.samples[0].length;
  const sizes = s.frames.map((f) => f.blockSize);
  if (sizes.reduce((a, b) => a + b, 0) !== n) throw new Error(`frames cover ${sizes.reduce((a, b) => a + b, 0)} of ${n} samples`);
  const md5 = s.md5 === false ? Buffer.alloc(16) : md5OfSamples(s.samples, s.bits);
  const minBs = Math.min(...(sizes.length > 1 ? sizes.slice(0, -1) : sizes)), maxBs = Math.max(...sizes);
  const si = new BitWriter();
  si.write(minBs, 16); si.write(maxBs, 16); si.write(0, 24); si.write(0, 24);
  si.write(s.sampleRate, 20); si.write(ch - 1, 3); si.write(s.bits - 1, 5); si.write(s.totalSamples ?? n, 36);
  const out: number[] = [0x66, 0x4c, 0x61, 0x43, 0x80, 0, 0, 34, ...si.bytes, ...md5];
  let s0 = 0;
  s.frames.forEach((f, fi) => {
    const bs = f.blockSize, mode = f.mode ?? 'independent';
    let bsCode = BS_CODE[bs], bsExtra: number[] = [];
    if (bsCode === undefined) {
      if (bs <= 256) { bsCode = 6; bsExtra = [bs - 1]; } else { bsCode = 7; bsExtra = [(bs - 1) >> 8, (bs - 1) & 255]; }
    }
    let rateCode = s.rateCode0 ? 0 : RATE_CODE[s.sampleRate], rateExtra: number[] = [];
    if (rateCode === undefined) {
      if (s.sampleRate % 1000 === 0 && s.sampleRate / 1000 < 256) { rateCode = 12; rateExtra = [s.sampleRate / 1000]; }
      else if (s.sampleRate < 65536) { rateCode = 13; rateExtra = [s.sampleRate >> 8, s.sampleRate & 255]; }
      else if (s.sampleRate % 10 === 0 && s.sampleRate / 10 < 65536) { rateCode = 14; rateExtra = [(s.sampleRate / 10) >> 8, (s.sampleRate / 10) & 255]; }
      else rateCode = 0;
    }
    const depthCode = s.depthCode0 ? 0 : DEPTH_CODE[s.bits] ?? 0;
    const chCode = mode === 'independent' ? ch - 1 : mode === 'left-side' ? 8 : mode === 'side-right' ? 9 : 10;
    if (mode !== 'independent' && ch !== 2) throw new Error('stereo modes need 2 channels');
    const hdr = [0xff, 0xf8 | (s.variable ? 1 : 0), (bsCode << 4) | rateCode, (chCode << 4) | (depthCode << 1),
      ...utf8Num(s.variable ? s0 : fi), ...bsExtra, ...rateExtra];
    hdr.push(crc8(hdr));
    const w = new BitWriter();
    for (const x of hdr) w.write(x, 8);
    const blk = s.samples.map((c) => c.slice(s0, s0 + bs));
    let sig: number[][] = blk, side: boolean[] = blk.map(() => false);
    if (mode !== 'independent') {
      const [L, R] = blk;
      const S = L.map((v, i) => v - R[i]);
      if (mode === 'left-side') { sig = [L, S]; side = [false, true]; }
      else if (mode === 'side-right') { sig = [S, R]; side = [true, false]; }
      else { sig = [L.map((v, i) => Math.floor((v + R[i]) / 2)), S]; side = [false, true]; }
    }
    sig.forEach((x, c) => writeSubframe(w, x, s.bits + (side[c] ? 1 : 0), f.subframes?.[c] ?? { type: 'verbatim' }));
    w.align();
    const crc = crc16(w.bytes);
    out.push(...w.bytes, crc >> 8, crc & 255);
    s0 += bs;
  });
  return new Uint8Array(out);
}

/** Cuts `n` samples into frames of `blockSize` with a shorter last one. */
export function blocks(n: number, blockSize: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < n; s += blockSize) out.push(Math.min(blockSize, n - s));
  return out;
}

/** A valid FLAC stream with VERBATIM subframes (fixed block size), STREAMINFO with MD5 (or zero MD5). */
export function flacBytes(samples: number[][], bits: number, sampleRate: number, blockSize = 1024, withMd5 = true): Uint8Array {
  return encodeFlac({ samples, bits, sampleRate, md5: withMd5, frames: blocks(samples[0].length, blockSize).map((b) => ({ blockSize: b })) });
}

/**
 * Frame start offsets of a FLAC stream found without a decoder: after the metadata, a frame ends where the next
 * sync code starts a header with a valid CRC-8 and the bytes so far end in a matching CRC-16 (or at the end).
 */
export function frameOffsets(b: Uint8Array): number[] {
  let p = 4;
  for (let last = false; !last;) { last = (b[p] & 0x80) !== 0; p += 4 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]); }
  const starts = [p];
  const headerOk = (q: number): boolean => {
    if (!(b[q] === 0xff && (b[q + 1] & 0xfe) === 0xf8)) return false;
    for (let len = 5; len <= 16 && q + len < b.length; len++) if (crc8(b, q, q + len) === b[q + len]) return true;
    return false;
  };
  for (let q = p + 2; q <= b.length; q++) {
    if (q === b.length || headerOk(q)) {
      if (crc16(b, p, q - 2) === ((b[q - 2] << 8) | b[q - 1])) { if (q < b.length) starts.push(q); p = q; }
    }
  }
  return starts;
}

/**
 * Rewrites every frame header's sample rate code to 0 ("from STREAMINFO"), dropping any rate bytes at the end of
 * the header, and recomputes CRC-8 and CRC-16. Only for frames with a coded rate (codes 1-11).
 */
export function withRateCode0(b: Uint8Array): Uint8Array {
  const starts = frameOffsets(b);
  const out: number[] = Array.from(b.subarray(0, starts[0]));
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1] : b.length;
    const code = b[s + 2] & 15;
    if (code === 0 || code > 11) throw new Error(`frame at ${s}: rate code ${code} has header bytes; not supported here`);
    // header length: sync(2) + codes(2) + coded number + block size bytes; the CRC-8 follows
    let h = 4;
    const first = b[s + 4];
    h += first < 0x80 ? 1 : Math.clz32(~(first << 24));
    const bsCode = b[s + 2] >> 4;
    h += bsCode === 6 ? 1 : bsCode === 7 ? 2 : 0;
    const frame = Array.from(b.subarray(s, end - 2));
    frame[2] &= 0xf0;
    frame[h] = crc8(frame, 0, h);
    const c = crc16(frame);
    out.push(...frame, c >> 8, c & 255);
  });
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Signals and the external encoders (Debian's `flac` CLI and `sox`, both installed by .ci/run)

/** A deterministic test signal per channel: tones + noise at `bits`, the last `tail` samples silent or not. */
export function testSignal(n: number, channels: number, bits: number, seed: number, opts: { silentTail?: number } = {}): number[][] {
  const full = 2 ** (bits - 1);
  let s = seed >>> 0;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: channels }, (_, c) => {
    const out: number[] = [];
    const f1 = 0.003 + 0.002 * c, f2 = 0.071 + 0.013 * c;
    for (let i = 0; i < n; i++) {
      const v = 0.55 * Math.sin(f1 * i * (1 + i / (8 * n))) + 0.2 * Math.sin(f2 * i + c) + 0.05 * (rnd() * 2 - 1);
      out.push(Math.max(-full, Math.min(full - 1, Math.round(v * full))));
    }
    if (n > 1) { out[1] = -full; out[Math.min(2, n - 1)] = full - 1; } // the extremes
    const silent = opts.silentTail ?? 0;
    for (let i = Math.max(0, n - silent); i < n; i++) out[i] = 0;
    return out;
  });
}

/** Interleaved little-endian signed PCM in ceil(bits/8)-byte containers (what `flac --force-raw-format` reads). */
export function rawPcm(samples: number[][], bits: number): Buffer {
  const ch = samples.length, n = samples[0].length, bps = Math.ceil(bits / 8);
  const out = Buffer.alloc(n * ch * bps);
  let p = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) { const v = samples[c][i]; for (let k = 0; k < bps; k++) out[p++] = (v >> (8 * k)) & 255; }
  return out;
}

/**
 * A PCM WAV (8-bit unsigned, 16/24/32-bit signed; `validBits` < container bits writes WAVE_FORMAT_EXTENSIBLE with
 * the samples in the high bits, as libsndfile and `flac` read them).
 */
export function pcmWav(samples: number[][], containerBits: number, sampleRate: number, validBits = containerBits): Buffer {
  const ch = samples.length, n = samples[0].length, bps = containerBits / 8;
  const ext = validBits !== containerBits || ch > 2;
  const fmtLen = ext ? 40 : 16, dataLen = n * ch * bps;
  const b = Buffer.alloc(12 + 8 + fmtLen + 8 + dataLen);
  b.write('RIFF', 0); b.writeUInt32LE(b.length - 8, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(fmtLen, 16);
  b.writeUInt16LE(ext ? 0xfffe : 1, 20); b.writeUInt16LE(ch, 22); b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * ch * bps, 28); b.writeUInt16LE(ch * bps, 32); b.writeUInt16LE(containerBits, 34);
  if (ext) {
    b.writeUInt16LE(22, 36); b.writeUInt16LE(validBits, 38); b.writeUInt32LE(0, 40); b.writeUInt16LE(1, 44);
    Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(b, 46);
  }
  let p = 12 + 8 + fmtLen;
  b.write('data', p); b.writeUInt32LE(dataLen, p + 4); p += 8;
  const up = 2 ** (containerBits - validBits);
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) {
    const v = samples[c][i] * up;
    if (bps === 1) b[p++] = v + 128;
    else for (let k = 0; k < bps; k++) b[p++] = (v >> (8 * k)) & 255;
  }
  return b;
}
