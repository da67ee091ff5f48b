// Writers for 16-bit mono PCM audio: WAV (RIFF, PCM16) and FLAC (fixed predictors, Rice-coded residuals,
// STREAMINFO with MD5, no other metadata). Both are pure functions of the samples, so a seeded generator gives
// the same bytes on every machine (the `flac` CLI embeds its version in a vendor string). Browser-clean.
import { Md5 } from './audio.js';

/** float samples (nominally [-1, 1)) → int16, scaled like the readers invert it (x·32768, rounded, clamped). */
export function toPcm16(x: ArrayLike<number>): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** A canonical 44-byte-header PCM16 mono WAV file. */
export function encodeWavPcm16(samples: Int16Array, sampleRate: number): Uint8Array {
  const data = samples.length * 2;
  const out = new Uint8Array(44 + data);
  const dv = new DataView(out.buffer);
  const ascii = (o: number, s: string) => { for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i); };
  ascii(0, 'RIFF');
  dv.setUint32(4, 36 + data, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true); // PCM
  dv.setUint16(22, 1, true); // mono
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * 2, true);
  dv.setUint16(32, 2, true);
  dv.setUint16(34, 16, true);
  ascii(36, 'data');
  dv.setUint32(40, data, true);
  for (let i = 0; i < samples.length; i++) dv.setInt16(44 + 2 * i, samples[i], true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// FLAC

class BitWriter {
  buf = new Uint8Array(1 << 16);
  /** Bytes completed. */
  n = 0;
  private acc = 0;
  private bits = 0;
  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  /** Writes the low `k` bits of `v` (k ≤ 24), most significant first. */
  write(v: number, k: number): void {
    if (k === 0) return;
    // Fewer than 8 bits are pending, so pending + k ≤ 31 bits fit the accumulator.
    this.acc = ((this.acc << k) | (v & ((1 << k) - 1))) >>> 0;
    this.bits += k;
    this.ensure(4);
    while (this.bits >= 8) {
      this.bits -= 8;
      this.buf[this.n++] = (this.acc >>> this.bits) & 0xff;
    }
    this.acc &= (1 << this.bits) - 1;
  }
  /** `q` zero bits then a one (Rice quotient). */
  unary(q: number): void {
    while (q >= 16) {
      this.write(0, 16);
      q -= 16;
    }
    this.write(1, q + 1);
  }
  /** Drops everything after byte `n` (only at a byte boundary). */
  truncate(n: number): void {
    if (this.bits !== 0) throw new Error('BitWriter.truncate off a byte boundary');
    this.n = n;
  }
  /** Pads with zeros to a byte boundary. */
  align(): void {
    if (this.bits > 0) this.write(0, 8 - this.bits);
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.write(b[i], 8);
  }
}

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
function crc8(b: Uint8Array, s: number, e: number): number {
  let c = 0;
  for (let i = s; i < e; i++) c = CRC8[c ^ b[i]];
  return c;
}
function crc16(b: Uint8Array, s: number, e: number): number {
  let c = 0;
  for (let i = s; i < e; i++) c = ((c << 8) & 0xffff) ^ CRC16[(c >> 8) ^ b[i]];
  return c;
}

const BLOCK = 4096;
const MAX_PARTITION_ORDER = 6;
const MAX_RICE = 14;
/** Bytes at the end of the last frame (CRC included) kept free of 0xFF. */
const LAST_FRAME_TAIL = 8;

/** Residuals of the fixed predictor of `order` (0..4) for x[order..n). */
function fixedResidual(x: Int32Array, order: number): Int32Array {
  const n = x.length, r = new Int32Array(n - order);
  for (let i = order; i < n; i++) {
    let e: number;
    switch (order) {
      case 0: e = x[i]; break;
      case 1: e = x[i] - x[i - 1]; break;
      case 2: e = x[i] - 2 * x[i - 1] + x[i - 2]; break;
      case 3: e = x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3]; break;
      default: e = x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3] + x[i - 4];
    }
    r[i - order] = e;
  }
  return r;
}

interface RicePlan { bits: number; partitionOrder: number; params: number[] }

/**
 * Cheapest Rice partitioning of the residual (`order` warm-up samples precede it in the block): bit counts per
 * Rice parameter are summed once per finest partition, then merged for the coarser partition orders.
 */
function planRice(res: Int32Array, blockSize: number, order: number): RicePlan {
  let maxPo = 0;
  while (maxPo < MAX_PARTITION_ORDER && blockSize % (1 << (maxPo + 1)) === 0 && blockSize >> (maxPo + 1) > order) maxPo++;
  const parts = 1 << maxPo, plen = blockSize >> maxPo, K = MAX_RICE + 1;
  // sums[p*K + k] = Σ over partition p of (u >> k), u the zigzag-folded residual (< 2^21 for 16-bit input).
  let sums = new Float64Array(parts * K);
  let lens = new Float64Array(parts);
  for (let p = 0, i = 0; p < parts; p++) {
    const len = p === 0 ? plen - order : plen;
    lens[p] = len;
    for (const end = i + len; i < end; i++) {
      const v = res[i];
      let u = v >= 0 ? 2 * v : -2 * v - 1;
      for (let k = 0; k < K && u > 0; k++, u >>>= 1) sums[p * K + k] += u;
    }
  }
  let best: RicePlan | null = null;
  for (let po = maxPo; po >= 0; po--) {
    const n = 1 << po;
    let bits = 0;
    const params: number[] = [];
    for (let p = 0; p < n; p++) {
      let bk = Infinity, bestK = 0;
      for (let k = 0; k < K; k++) {
        const c = lens[p] * (k + 1) + sums[p * K + k];
        if (c < bk) {
          bk = c;
          bestK = k;
        }
      }
      params.push(bestK);
      bits += 4 + bk;
    }
    if (!best || bits <= best.bits) best = { bits, partitionOrder: po, params };
    if (po > 0) {
      const s2 = new Float64Array((n >> 1) * K), l2 = new Float64Array(n >> 1);
      for (let p = 0; p < n; p++) {
        l2[p >> 1] += lens[p];
        for (let k = 0; k < K; k++) s2[(p >> 1) * K + k] += sums[p * K + k];
      }
      sums = s2;
      lens = l2;
    }
  }
  return best!;
}

type Subframe =
  | { kind: 'constant' }
  | { kind: 'verbatim' }
  | { kind: 'fixed'; order: number; residual: Int32Array; plan: RicePlan };

/**
 * Encodings of one block, cheapest first: constant, or the best fixed predictor (verbatim when that is no
 * smaller); then alternatives (the best plan with its last Rice parameter changed, verbatim, other orders).
 */
function subframeEncodings(x: Int32Array, allowConstant: boolean): Subframe[] {
  const bs = x.length;
  const fixed: Array<Extract<Subframe, { kind: 'fixed' }>> = [];
  for (let order = 0; order <= 4 && order < bs; order++) {
    const residual = fixedResidual(x, order);
    fixed.push({ kind: 'fixed', order, residual, plan: planRice(residual, bs, order) });
  }
  const cost = (f: (typeof fixed)[number]) => f.plan.bits + 16 * f.order;
  fixed.sort((a, b) => cost(a) - cost(b) || a.order - b.order);
  const best = fixed[0];
  let constant = allowConstant;
  for (let i = 1; i < bs && constant; i++) if (x[i] !== x[0]) constant = false;
  const out: Subframe[] = [];
  if (constant) out.push({ kind: 'constant' });
  if (!best || cost(best) + 6 >= 16 * bs) out.push({ kind: 'verbatim' });
  if (best) {
    out.push(best);
    const last = best.plan.params.length - 1, k = best.plan.params[last];
    for (const d of [1, 2, -1, 3, -2]) {
      if (k + d < 0 || k + d > MAX_RICE) continue;
      const params = best.plan.params.slice();
      params[last] = k + d;
      out.push({ ...best, plan: { ...best.plan, params } });
    }
    out.push({ kind: 'verbatim' }, ...fixed.slice(1));
  }
  return out;
}

function writeSubframe(w: BitWriter, x: Int32Array, sf: Subframe): void {
  const bs = x.length;
  if (sf.kind === 'constant') {
    w.write(0, 8); // pad bit, type 000000, no wasted bits
    w.write(x[0], 16);
  } else if (sf.kind === 'verbatim') {
    w.write(0x02, 8);
    for (let i = 0; i < bs; i++) w.write(x[i], 16);
  } else {
    const { order, residual, plan } = sf;
    w.write((0x08 | order) << 1, 8); // fixed, order
    for (let i = 0; i < order; i++) w.write(x[i], 16);
    w.write(0, 2); // Rice, 4-bit parameters
    w.write(plan.partitionOrder, 4);
    const plen = bs >> plan.partitionOrder;
    let s = 0;
    plan.params.forEach((k, p) => {
      w.write(k, 4);
      const len = p === 0 ? plen - order : plen;
      for (let i = s; i < s + len; i++) {
        const v = residual[i];
        const u = v >= 0 ? 2 * v : -2 * v - 1;
        w.unary(Math.floor(u / 2 ** k));
        w.write(u % 2 ** k, k);
      }
      s += len;
    });
  }
}

function writeFrameNumber(w: BitWriter, v: number): void {
  // UTF-8-style coding of the frame number (FLAC frame header).
  if (v < 0x80) w.write(v, 8);
  else if (v < 0x800) { w.write(0xc0 | (v >> 6), 8); w.write(0x80 | (v & 0x3f), 8); }
  else if (v < 0x10000) { w.write(0xe0 | (v >> 12), 8); w.write(0x80 | ((v >> 6) & 0x3f), 8); w.write(0x80 | (v & 0x3f), 8); }
  else { w.write(0xf0 | (v >> 18), 8); w.write(0x80 | ((v >> 12) & 0x3f), 8); w.write(0x80 | ((v >> 6) & 0x3f), 8); w.write(0x80 | (v & 0x3f), 8); }
}

const RATE_CODES: Record<number, number> = { 8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10, 96000: 11 };

/**
 * A mono 16-bit FLAC file: fixed blocks of 4096, per block the cheapest of constant / verbatim / fixed
 * predictor orders 0–4 with partitioned Rice coding; STREAMINFO (with the samples' MD5) is the only metadata.
 */
export function encodeFlacPcm16(samples: Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate >= 2 ** 20) throw new RangeError(`encodeFlac: bad sample rate ${sampleRate}`);
  const w = new BitWriter();
  w.bytes([0x66, 0x4c, 0x61, 0x43]); // "fLaC"
  w.write(0x80, 8); // last metadata block, STREAMINFO
  w.write(34, 24);
  const infoAt = w.n;
  for (let i = 0; i < 34; i++) w.write(0, 8); // filled in below
  let minFrame = Infinity, maxFrame = 0;
  const n = samples.length;
  // A last block under 16 samples is legal FLAC but not decoded by every decoder (a 1-sample block is
  // dropped by @wasm-audio-decoders/flac): shorten the fixed block size until the tail is empty or ≥ 16.
  let block = BLOCK;
  while (n > block && n % block > 0 && n % block < 16) block--;
  for (let f = 0, s0 = 0; s0 < n; f++, s0 += block) {
    const bs = Math.min(block, n - s0);
    const x = Int32Array.from(samples.subarray(s0, s0 + bs));
    const start = w.n;
    w.write(0xfff8, 16); // sync, reserved, fixed blocking
    const bsCode = bs === 4096 ? 12 : bs <= 256 ? 6 : 7;
    w.write(bsCode, 4);
    // Rates without a code go at the end of the header (frames stay self-describing: a frame decoder such as
    // @wasm-audio-decoders/flac does not consult STREAMINFO for code 0).
    const rateCode = RATE_CODES[sampleRate] ?? (sampleRate % 1000 === 0 && sampleRate <= 255000 ? 12 : sampleRate < 65536 ? 13 : sampleRate % 10 === 0 && sampleRate < 655360 ? 14 : 0);
    w.write(rateCode, 4);
    w.write(0, 4); // mono
    w.write(4, 3); // 16 bits per sample
    w.write(0, 1);
    writeFrameNumber(w, f);
    if (bsCode === 6) w.write(bs - 1, 8);
    else if (bsCode === 7) w.write(bs - 1, 16);
    if (rateCode === 12) w.write(sampleRate / 1000, 8);
    else if (rateCode === 13) w.write(sampleRate, 16);
    else if (rateCode === 14) w.write(sampleRate / 10, 16);
    w.write(crc8(w.buf, start, w.n), 8);
    const headerEnd = w.n;
    // codec-parser (inside @wasm-audio-decoders/flac) loses the file's last frame when a 0xFF byte sits in its
    // last few bytes (e.g. before the CRC-16, or a false "FF F8" sync there): re-encode that block another valid
    // way until its tail is free of 0xFF.
    // A CONSTANT subframe in the last frame of a multi-frame file is dropped by that decoder too.
    const encodings = subframeEncodings(x, s0 + bs < n || s0 === 0);
    for (let e = 0; ; e++) {
      writeSubframe(w, x, encodings[e]);
      w.align();
      w.write(crc16(w.buf, start, w.n), 16);
      if (s0 + bs < n || e + 1 === encodings.length || !w.buf.subarray(Math.max(headerEnd, w.n - LAST_FRAME_TAIL), w.n).includes(0xff)) break;
      w.truncate(headerEnd);
    }
    const size = w.n - start;
    minFrame = Math.min(minFrame, size);
    maxFrame = Math.max(maxFrame, size);
  }
  const out = w.buf.slice(0, w.n);
  // STREAMINFO.
  const si = new BitWriter();
  const maxBlock = Math.max(16, Math.min(n, block));
  si.write(maxBlock, 16); // the last block does not count for the minimum
  si.write(maxBlock, 16);
  si.write(n === 0 ? 0 : minFrame, 24);
  si.write(maxFrame, 24);
  si.write(sampleRate, 20);
  si.write(0, 3); // channels - 1
  si.write(15, 5); // bits per sample - 1
  si.write(Math.floor(n / 2 ** 32) & 0xf, 4);
  si.write(Math.floor(n / 2 ** 16) & 0xffff, 16);
  si.write(n & 0xffff, 16);
  const pcm = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    pcm[2 * i] = samples[i] & 0xff;
    pcm[2 * i + 1] = (samples[i] >> 8) & 0xff;
  }
  si.bytes(new Md5().update(pcm).digest());
  out.set(si.buf.subarray(0, 34), infoAt);
  return out;
}
