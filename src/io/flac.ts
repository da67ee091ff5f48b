// FLAC decoder written from RFC 9639 (browser-clean: bytes in, integer samples out).
//
// Every frame is decoded (a last frame of one constant sample included), every frame header's CRC-8 and every
// frame's CRC-16 is checked, and the decoded audio is checked against the STREAMINFO MD5 (all zeros = unset).
// Supported: all subframe types (CONSTANT, VERBATIM, FIXED 0-4, LPC 1-32), both Rice parameter sizes with escape
// partitions, wasted bits, independent / left-side / side-right / mid-side channels, 8 to 32 bits per sample,
// fixed and variable block sizes, and the header codes that defer to STREAMINFO (sample rate and bit depth 0).
// Allocation is bounded: the STREAMINFO sample count is checked against what the file's bytes can hold and
// against MAX_FLAC_VALUES before any output is allocated, and streams without a sample count grow as they decode.
import { FormatError } from '../errors.js';

/** Below this the reference pipeline's reader (soundfile/libsndfile: 8, 16 and 24-bit FLAC only) has no scaling. */
export const MIN_FLAC_BITS = 8;
/**
 * Samples x channels one FLAC may decode to (2^26: 70 min of 16 kHz mono, 12 min of 48 kHz stereo). A few bytes of
 * CONSTANT frames can declare 65536 samples each, so without this cap a small hostile file could ask for gigabytes.
 */
export const MAX_FLAC_VALUES = 2 ** 26;

export interface FlacStreamInfo {
  minBlockSize: number;
  maxBlockSize: number;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 = unknown. */
  totalSamples: number;
  md5: Uint8Array;
}

export interface FlacPcm {
  info: FlacStreamInfo;
  /** Samples per channel. */
  length: number;
  /** Integer samples of the kept channels (all, or channel 0 only with `firstChannelOnly`). */
  channels: Int32Array[];
  /** Whether the STREAMINFO MD5 was set (and therefore checked). */
  md5Checked: boolean;
}

function ascii(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len && off + i < b.length; i++) s += String.fromCharCode(b[off + i]);
  return s;
}

/** Byte offset of the FLAC stream ("fLaC") after an optional ID3v2 tag, or -1. */
export function flacStart(b: Uint8Array): number {
  let off = 0;
  if (ascii(b, 0, 3) === 'ID3' && b.length >= 10) {
    const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
    off = 10 + size + (b[5] & 0x10 ? 10 : 0);
  }
  return ascii(b, off, 4) === 'fLaC' ? off : -1;
}

// ---------------------------------------------------------------------------------------------------------------
// CRCs (RFC 9639 §9.1.8: CRC-8 poly 0x07 over the frame header; §9.3: CRC-16 poly 0x8005 over the whole frame)

const CRC8 = new Uint8Array(256);
const CRC16 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  CRC8[i] = c;
  let d = i << 8;
  for (let k = 0; k < 8; k++) d = d & 0x8000 ? ((d << 1) ^ 0x8005) & 0xffff : (d << 1) & 0xffff;
  CRC16[i] = d;
}

export function flacCrc8(b: Uint8Array, start: number, end: number): number {
  let c = 0;
  for (let i = start; i < end; i++) c = CRC8[c ^ b[i]];
  return c;
}

export function flacCrc16(b: Uint8Array, start: number, end: number): number {
  let c = 0;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ CRC16[(c >> 8) ^ b[i]];
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------------------------
// Bit reader (MSB first). Values are JavaScript numbers: reads of up to 33 bits are exact.

class Bits {
  /** Bit position. */
  pos = 0;
  constructor(readonly b: Uint8Array, readonly endBit: number, private readonly fail: (what: string) => never) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.endBit) this.fail(`${what} runs past the end of the data`);
  }

  u(n: number, what: string): number {
    this.need(n, what);
    const b = this.b;
    let v = 0, pos = this.pos;
    while (n > 0) {
      const off = pos & 7, avail = 8 - off, take = avail < n ? avail : n;
      v = v * (1 << take) + ((b[pos >> 3] >> (avail - take)) & ((1 << take) - 1));
      n -= take;
      pos += take;
    }
    this.pos = pos;
    return v;
  }

  /** Two's complement signed value of n bits (n <= 33). */
  s(n: number, what: string): number {
    if (n === 0) return 0;
    const v = this.u(n, what);
    return v >= 2 ** (n - 1) ? v - 2 ** n : v;
  }

  /** Number of 0 bits before the next 1 bit (which is consumed). */
  unary(what: string): number {
    const b = this.b, end = this.endBit;
    let pos = this.pos, c = 0;
    for (;;) {
      if (pos >= end) this.fail(`${what} runs past the end of the data`);
      const off = pos & 7;
      const byte = (b[pos >> 3] << off) & 0xff;
      if (byte === 0) { c += 8 - off; pos += 8 - off; continue; }
      const lz = Math.clz32(byte) - 24;
      pos += lz + 1;
      if (pos > end) this.fail(`${what} runs past the end of the data`);
      this.pos = pos;
      return c + lz;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// STREAMINFO and metadata blocks (RFC 9639 §8)

function parseMetadata(b: Uint8Array, start: number, fail: (m: string) => never): { info: FlacStreamInfo; framesAt: number } {
  let p = start + 4;
  if (b.length < p + 4 + 34) fail('truncated FLAC header (no complete STREAMINFO block)');
  const type0 = b[p] & 0x7f, len0 = (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  if (type0 !== 0 || len0 !== 34) fail(`corrupt FLAC: first metadata block is type ${type0} length ${len0}, expected STREAMINFO (0, 34)`);
  const s = p + 4;
  const minBlockSize = (b[s] << 8) | b[s + 1];
  const maxBlockSize = (b[s + 2] << 8) | b[s + 3];
  const sampleRate = (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4);
  const channels = ((b[s + 12] >> 1) & 7) + 1;
  const bitsPerSample = (((b[s + 12] & 1) << 4) | (b[s + 13] >> 4)) + 1;
  const totalSamples = (b[s + 13] & 0x0f) * 2 ** 32 + b[s + 14] * 2 ** 24 + (b[s + 15] << 16) + (b[s + 16] << 8) + b[s + 17];
  if (sampleRate === 0) fail('corrupt FLAC: STREAMINFO sample rate 0 (not audio)');
  if (bitsPerSample < MIN_FLAC_BITS) {
    fail(`unsupported FLAC: STREAMINFO bits per sample ${bitsPerSample}; this reader decodes ${MIN_FLAC_BITS} to 32 bits `
      + '(the reference pipeline reads audio with libsndfile, which has no FLAC below 8 bits)');
  }
  if (maxBlockSize !== 0 && minBlockSize > maxBlockSize) fail(`corrupt FLAC: STREAMINFO minimum block size ${minBlockSize} > maximum ${maxBlockSize}`);
  const info: FlacStreamInfo = { minBlockSize, maxBlockSize, sampleRate, channels, bitsPerSample, totalSamples, md5: b.slice(s + 18, s + 34) };
  // the remaining metadata blocks (their contents are not needed)
  let last = (b[p] & 0x80) !== 0;
  p = s + 34;
  while (!last) {
    if (p + 4 > b.length) fail(`truncated FLAC: metadata block header at byte ${p} runs past the end of the file`);
    last = (b[p] & 0x80) !== 0;
    const type = b[p] & 0x7f;
    const len = (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
    if (type === 127) fail(`corrupt FLAC: metadata block type 127 (forbidden) at byte ${p}`);
    if (type === 0) fail(`corrupt FLAC: second STREAMINFO block at byte ${p}`);
    if (p + 4 + len > b.length) fail(`truncated FLAC: metadata block type ${type} at byte ${p} declares ${len} bytes, ${b.length - p - 4} present`);
    p += 4 + len;
  }
  return { info, framesAt: p };
}

// ---------------------------------------------------------------------------------------------------------------
// Frames (RFC 9639 §9)

const RATE_CODES = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];
const DEPTH_CODES = [0, 8, 12, -1, 16, 20, 24, 32];
/** Smallest possible frame: 2 sync + 2 code bytes + 1-byte number + CRC-8, per channel >= 1 byte, CRC-16. */
const MIN_FRAME_BYTES = 6 + 1 + 2;

function isSync(b: Uint8Array, p: number): boolean {
  return p + 1 < b.length && b[p] === 0xff && (b[p + 1] & 0xfe) === 0xf8;
}

/** Output channels that grow with the decoded frames (only when STREAMINFO has no sample count). */
class Sink {
  arrays: Int32Array[];
  length = 0;
  constructor(readonly kept: number, capacity: number) {
    this.arrays = Array.from({ length: kept }, () => new Int32Array(capacity));
  }
  reserve(n: number): void {
    if (n <= this.arrays[0].length) return;
    const cap = Math.max(n, Math.min(2 * this.arrays[0].length, MAX_FLAC_VALUES));
    this.arrays = this.arrays.map((a) => { const x = new Int32Array(cap); x.set(a.subarray(0, this.length)); return x; });
  }
}

/**
 * Decodes a FLAC file to integer samples. Throws FormatError naming `name` and the field for anything invalid,
 * truncated or inconsistent (sync, CRC-8, CRC-16, MD5, sample counts, sizes).
 */
export function decodeFlacPcm(bytes: Uint8Array, name: string, opts: { firstChannelOnly?: boolean } = {}): FlacPcm {
  const fail = (msg: string): never => { throw new FormatError(name, msg); };
  const start = flacStart(bytes);
  if (start < 0) fail('not a FLAC file (no "fLaC" marker)');
  const { info, framesAt } = parseMetadata(bytes, start, fail);
  const nch = info.channels, bps = info.bitsPerSample;
  const frameBytes = bytes.length - framesAt;
  const total = info.totalSamples;
  if (total > 0) {
    // each frame takes at least MIN_FRAME_BYTES and holds at most 65536 samples
    const canHold = Math.floor(frameBytes / MIN_FRAME_BYTES) * 65536;
    if (total > canHold) fail(`truncated or corrupt FLAC: STREAMINFO declares ${total} samples, the file's ${frameBytes} bytes of frames can hold at most ${canHold}`);
    if (total * nch > MAX_FLAC_VALUES) fail(`FLAC too long: STREAMINFO declares ${total} samples x ${nch} channels, more than the ${MAX_FLAC_VALUES} values this reader decodes`);
  }
  const kept = opts.firstChannelOnly ? 1 : nch;
  const sink = new Sink(kept, total > 0 ? total : Math.min(65536, MAX_FLAC_VALUES));
  const md5Set = info.md5.some((v) => v !== 0);
  const md5 = md5Set ? new Md5() : null;
  const bytesPerSample = Math.ceil(bps / 8);
  const md5Buf = md5 ? new Uint8Array(65536 * nch * bytesPerSample) : null;
  const endBit = bytes.length * 8;
  // per-frame scratch: one channel block each, in numbers (side channels need bps + 1 <= 33 bits)
  const chan = Array.from({ length: nch }, () => new Float64Array(0));

  let p = framesAt, frame = 0, decoded = 0;
  while (total === 0 || decoded < total) {
    if (p >= bytes.length) {
      if (total === 0 && frame > 0) break;
      fail(total > 0 ? `truncated FLAC: decoded ${decoded} of the ${total} samples STREAMINFO declares` : 'empty audio (FLAC stream has no frames)');
    }
    if (!isSync(bytes, p)) {
      // without a sample count the stream ends at the first non-frame: an ID3v1 tag or zero padding
      if (total === 0 && frame > 0 && (ascii(bytes, p, 3) === 'TAG' || bytes.subarray(p).every((v) => v === 0))) break;
      fail(`corrupt FLAC: lost sync at byte ${p} (frame ${frame}, after ${decoded} samples): no frame sync code`);
    }
    const where = `frame ${frame} at byte ${p}`;
    // running out of bytes inside a frame: the file is cut, or a corrupt field made the frame look longer
    const r = new Bits(bytes, endBit, (m) => fail(`truncated or corrupt FLAC: ${where}: ${m}`));
    const bad = (m: string): never => fail(`corrupt FLAC: ${where}: ${m}`);
    r.pos = p * 8 + 15;
    // read the whole header first, check its CRC-8, then what the fields say
    const variable = r.u(1, 'blocking strategy') === 1;
    const bsCode = r.u(4, 'block size code');
    const rateCode = r.u(4, 'sample rate code');
    const chCode = r.u(4, 'channel assignment');
    const depthCode = r.u(3, 'bit depth code');
    const reserved = r.u(1, 'reserved bit');
    // coded frame/sample number (UTF-8-like, 1 to 7 bytes)
    const first = r.u(8, 'coded number');
    let coded = first;
    if (first >= 0x80) {
      if (first === 0xff || (first & 0xc0) === 0x80) bad(`invalid coded number byte 0x${first.toString(16)}`);
      const extra = Math.clz32(~(first << 24)) - 1;
      coded = first & (0x7f >> (extra + 1));
      for (let i = 0; i < extra; i++) {
        if (r.u(2, 'coded number') !== 2) bad('invalid coded number continuation byte');
        coded = coded * 64 + r.u(6, 'coded number');
      }
    }
    let blockSize = 0;
    if (bsCode === 1) blockSize = 192;
    else if (bsCode >= 2 && bsCode <= 5) blockSize = 144 * 2 ** bsCode;
    else if (bsCode === 6) blockSize = r.u(8, 'block size') + 1;
    else if (bsCode === 7) blockSize = r.u(16, 'block size') + 1;
    else if (bsCode >= 8) blockSize = 2 ** bsCode;
    let rate = info.sampleRate;
    if (rateCode >= 1 && rateCode <= 11) rate = RATE_CODES[rateCode];
    else if (rateCode === 12) rate = r.u(8, 'sample rate') * 1000;
    else if (rateCode === 13) rate = r.u(16, 'sample rate');
    else if (rateCode === 14) rate = r.u(16, 'sample rate') * 10;
    const hdrEnd = r.pos >> 3; // header is byte aligned here
    const crc8 = r.u(8, 'header CRC-8');
    const crc8c = flacCrc8(bytes, p, hdrEnd);
    if (crc8 !== crc8c) bad(`header CRC-8 mismatch (stored 0x${crc8.toString(16)}, computed 0x${crc8c.toString(16)})`);
    if (reserved !== 0) bad('reserved header bit is set');
    if (bsCode === 0) bad('reserved block size code 0');
    if (rateCode === 15) bad('invalid sample rate code 15');
    if (rate !== info.sampleRate) bad(`frame sample rate ${rate} Hz, STREAMINFO declares ${info.sampleRate} Hz`);
    const depth = depthCode === 0 ? bps : DEPTH_CODES[depthCode];
    if (depth < 0) bad('reserved bit depth code 3');
    if (depth !== bps) bad(`frame bit depth ${depth}, STREAMINFO declares ${bps}`);
    if (chCode > 10) bad(`reserved channel assignment ${chCode}`);
    const fch = chCode < 8 ? chCode + 1 : 2;
    if (fch !== nch) bad(`frame has ${fch} channels, STREAMINFO declares ${nch}`);
    // frames are contiguous: a gap or a repeat means lost or spliced audio (libFLAC's MD5 then fails as well)
    const expected = variable ? decoded : frame;
    if (coded !== expected) bad(`coded ${variable ? 'sample' : 'frame'} number ${coded}, expected ${expected} (frames missing, repeated or out of order)`);
    const n = blockSize;
    if (total > 0 && decoded + n > total) bad(`block of ${n} samples runs past the ${total} samples STREAMINFO declares (${decoded} decoded)`);
    if (total === 0 && (decoded + n) * nch > MAX_FLAC_VALUES) fail(`FLAC too long: more than the ${MAX_FLAC_VALUES} values this reader decodes`);

    for (let c = 0; c < nch; c++) {
      if (chan[c].length < n) chan[c] = new Float64Array(Math.max(n, 4096));
      const side = (chCode === 8 && c === 1) || (chCode === 9 && c === 0) || (chCode === 10 && c === 1);
      decodeSubframe(r, chan[c], n, bps + (side ? 1 : 0), `subframe ${c}`, bad);
    }
    // zero padding to the byte boundary, then CRC-16 over the whole frame
    const padBits = (8 - (r.pos & 7)) & 7;
    if (padBits && r.u(padBits, 'frame padding') !== 0) bad('non-zero padding after the last subframe');
    const crcAt = r.pos >> 3;
    const crc16 = r.u(16, 'frame CRC-16');
    const crc16c = flacCrc16(bytes, p, crcAt);
    if (crc16 !== crc16c) bad(`frame CRC-16 mismatch (stored 0x${crc16.toString(16)}, computed 0x${crc16c.toString(16)})`);

    decorrelate(chan, chCode, n);
    const lo = -(2 ** (bps - 1)), hi = 2 ** (bps - 1) - 1;
    for (let c = 0; c < nch; c++) {
      const x = chan[c];
      for (let i = 0; i < n; i++) if (x[i] < lo || x[i] > hi) bad(`channel ${c} sample ${i} = ${x[i]} outside the ${bps}-bit range`);
    }
    if (md5) {
      let q = 0;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < nch; c++) {
          const v = chan[c][i] | 0;
          for (let k = 0; k < bytesPerSample; k++) md5Buf![q++] = (v >> (8 * k)) & 0xff;
        }
      }
      md5.update(md5Buf!.subarray(0, q));
    }
    sink.reserve(decoded + n);
    for (let c = 0; c < kept; c++) {
      const out = sink.arrays[c], x = chan[c];
      for (let i = 0; i < n; i++) out[decoded + i] = x[i];
    }
    decoded += n;
    sink.length = decoded;
    frame++;
    p = r.pos >> 3;
  }
  if (decoded === 0) fail('empty audio (FLAC stream decoded to 0 samples)');
  if (md5) {
    const d = md5.digest();
    if (d.some((v, i) => v !== info.md5[i])) fail('corrupt FLAC: decoded audio does not match the STREAMINFO MD5');
  }
  const channels = sink.arrays.map((a) => (a.length === decoded ? a : a.slice(0, decoded)));
  return { info, length: decoded, channels, md5Checked: md5Set };
}

/** Undoes the stereo decorrelation in place (RFC 9639 §4.2). */
function decorrelate(ch: Float64Array[], code: number, n: number): void {
  if (code < 8) return;
  const a = ch[0], b = ch[1];
  if (code === 8) { // left, side: right = left - side
    for (let i = 0; i < n; i++) b[i] = a[i] - b[i];
  } else if (code === 9) { // side, right: left = side + right
    for (let i = 0; i < n; i++) a[i] = a[i] + b[i];
  } else { // mid, side: mid = 2 mid + (side & 1); left = (mid + side) / 2, right = (mid - side) / 2
    for (let i = 0; i < n; i++) {
      const side = b[i];
      const mid = 2 * a[i] + (side % 2 !== 0 ? 1 : 0);
      a[i] = (mid + side) / 2;
      b[i] = (mid - side) / 2;
    }
  }
}

const FIXED_COEFS = [[], [1], [2, -1], [3, -3, 1], [4, -6, 4, -1]];

/**
 * One subframe of `n` samples at `bps` bits into out[0..n). Values stay exact in doubles: |sample| <= 2^32,
 * |LPC coefficient| <= 2^14 and order <= 32 bound every partial sum by 2^51.
 */
function decodeSubframe(r: Bits, out: Float64Array, n: number, bps: number, what: string, bad: (m: string) => never): void {
  if (r.u(1, `${what} header`) !== 0) bad(`${what}: first header bit is not zero`);
  const type = r.u(6, `${what} type`);
  let wasted = 0;
  if (r.u(1, `${what} wasted-bits flag`)) {
    wasted = r.unary(`${what} wasted bits`) + 1;
    if (wasted >= bps) bad(`${what}: ${wasted} wasted bits of a ${bps}-bit subframe`);
  }
  const b = bps - wasted;
  if (type === 0) {
    out.fill(r.s(b, `${what} constant value`), 0, n);
  } else if (type === 1) {
    for (let i = 0; i < n; i++) out[i] = r.s(b, `${what} verbatim samples`);
  } else if (type >= 8 && type <= 12) {
    const order = type - 8;
    if (order > n) bad(`${what}: fixed predictor order ${order} > block size ${n}`);
    for (let i = 0; i < order; i++) out[i] = r.s(b, `${what} warm-up samples`);
    residual(r, out, n, order, what, bad);
    const c = FIXED_COEFS[order];
    for (let i = order; i < n; i++) {
      let s = 0;
      for (let j = 0; j < order; j++) s += c[j] * out[i - 1 - j];
      out[i] += s;
    }
  } else if (type >= 32) {
    const order = type - 31;
    if (order > n) bad(`${what}: LPC order ${order} > block size ${n}`);
    for (let i = 0; i < order; i++) out[i] = r.s(b, `${what} warm-up samples`);
    const precision = r.u(4, `${what} LPC precision`) + 1;
    if (precision === 16) bad(`${what}: invalid LPC coefficient precision code 15`);
    const shift = r.s(5, `${what} LPC shift`);
    if (shift < 0) bad(`${what}: negative LPC shift ${shift}`);
    const coef = new Float64Array(order);
    for (let j = 0; j < order; j++) coef[j] = r.s(precision, `${what} LPC coefficients`);
    residual(r, out, n, order, what, bad);
    const div = 2 ** shift;
    for (let i = order; i < n; i++) {
      let s = 0;
      for (let j = 0; j < order; j++) s += coef[j] * out[i - 1 - j];
      out[i] += Math.floor(s / div);
    }
  } else {
    bad(`${what}: reserved subframe type ${type}`);
  }
  // every predicted value must fit the subframe's bit depth (a corrupt residual cannot grow without bound)
  const lim = 2 ** (b - 1);
  for (let i = 0; i < n; i++) if (out[i] < -lim || out[i] >= lim) bad(`${what}: sample ${i} = ${out[i]} outside the ${b}-bit range`);
  if (wasted) { const m = 2 ** wasted; for (let i = 0; i < n; i++) out[i] *= m; }
}

/** Rice-coded residual (RFC 9639 §9.2.7) into out[order..n). */
function residual(r: Bits, out: Float64Array, n: number, order: number, what: string, bad: (m: string) => never): void {
  const method = r.u(2, `${what} residual coding method`);
  if (method > 1) bad(`${what}: reserved residual coding method ${method}`);
  const paramBits = method === 0 ? 4 : 5, escape = (1 << paramBits) - 1;
  const porder = r.u(4, `${what} partition order`);
  const parts = 1 << porder;
  if (n % parts !== 0) bad(`${what}: block size ${n} not divisible into ${parts} partitions`);
  const per = n / parts;
  if (per < order) bad(`${what}: partition of ${per} samples shorter than predictor order ${order}`);
  let i = order;
  for (let part = 0; part < parts; part++) {
    const end = (part + 1) * per;
    const k = r.u(paramBits, `${what} Rice parameter`);
    if (k === escape) {
      const nb = r.u(5, `${what} escape bit count`);
      for (; i < end; i++) out[i] = r.s(nb, `${what} escaped residual`);
    } else {
      const mul = 2 ** k;
      for (; i < end; i++) {
        const q = r.unary(`${what} residual`);
        const v = q * mul + (k ? r.u(k, `${what} residual`) : 0);
        out[i] = v % 2 === 0 ? v / 2 : -(v + 1) / 2;
      }
    }
  }
}
