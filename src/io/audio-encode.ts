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
    this.acc = (this.acc * 2 ** k + (v & (2 ** k - 1))) % 2 ** 32;
    this.bits += k;
    this.ensure(4);
    while (this.bits >= 8) {
      this.bits -= 8;
      this.buf[this.n++] = Math.floor(this.acc / 2 ** this.bits) & 0xff;
    }
    this.acc %= 2 ** this.bits;
  }
  /** `q` zero bits then a one (Rice quotient). */
  unary(q: number): void {
    while (q >= 16) {
      this.write(0, 16);
      q -= 16;
    }
    this.write(1, q + 1);
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

/** Cheapest Rice partitioning of the residual (`order` warm-up samples precede it in the block). */
function planRice(res: Int32Array, blockSize: number, order: number): RicePlan {
  const folded = new Float64Array(res.length);
  for (let i = 0; i < res.length; i++) folded[i] = res[i] >= 0 ? 2 * res[i] : -2 * res[i] - 1;
  let best: RicePlan | null = null;
  for (let po = 0; po <= MAX_PARTITION_ORDER; po++) {
    if (blockSize % (1 << po) !== 0) break;
    const plen = blockSize >> po;
    if (plen <= order) break;
    let bits = 0;
    const params: number[] = [];
    let s = 0;
    for (let p = 0; p < 1 << po; p++) {
      const len = p === 0 ? plen - order : plen;
      let bk = Infinity, bestK = 0;
      for (let k = 0; k <= MAX_RICE; k++) {
        let sum = len * (k + 1);
        for (let i = s; i < s + len; i++) sum += Math.floor(folded[i] / 2 ** k);
        if (sum < bk) {
          bk = sum;
          bestK = k;
        }
      }
      params.push(bestK);
      bits += 4 + bk;
      s += len;
    }
    if (!best || bits < best.bits) best = { bits, partitionOrder: po, params };
  }
  return best!;
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
    w.write(RATE_CODES[sampleRate] ?? 0, 4);
    w.write(0, 4); // mono
    w.write(4, 3); // 16 bits per sample
    w.write(0, 1);
    writeFrameNumber(w, f);
    if (bsCode === 6) w.write(bs - 1, 8);
    else if (bsCode === 7) w.write(bs - 1, 16);
    w.write(crc8(w.buf, start, w.n), 8);
    // Subframe.
    let constant = true;
    for (let i = 1; i < bs; i++) if (x[i] !== x[0]) { constant = false; break; }
    if (constant) {
      w.write(0, 8); // pad bit, type 000000, no wasted bits
      w.write(x[0], 16);
    } else {
      let bestOrder = -1, bestPlan: RicePlan | null = null, bestRes: Int32Array | null = null;
      for (let order = 0; order <= 4 && order < bs; order++) {
        const res = fixedResidual(x, order);
        const plan = planRice(res, bs, order);
        const bits = plan.bits + 16 * order;
        if (!bestPlan || bits < bestPlan.bits + 16 * bestOrder) {
          bestOrder = order;
          bestPlan = plan;
          bestRes = res;
        }
      }
      if (!bestPlan || bestPlan.bits + 16 * bestOrder + 6 >= 16 * bs) {
        w.write(0x02, 8); // verbatim
        for (let i = 0; i < bs; i++) w.write(x[i], 16);
      } else {
        w.write((0x08 | bestOrder) << 1, 8); // fixed, order
        for (let i = 0; i < bestOrder; i++) w.write(x[i], 16);
        w.write(0, 2); // Rice, 4-bit parameters
        w.write(bestPlan.partitionOrder, 4);
        const res = bestRes!;
        const plen = bs >> bestPlan.partitionOrder;
        let s = 0;
        bestPlan.params.forEach((k, p) => {
          w.write(k, 4);
          const len = p === 0 ? plen - bestOrder : plen;
          for (let i = s; i < s + len; i++) {
            const v = res[i];
            const u = v >= 0 ? 2 * v : -2 * v - 1;
            w.unary(Math.floor(u / 2 ** k));
            w.write(u % 2 ** k, k);
          }
          s += len;
        });
      }
    }
    w.align();
    w.write(crc16(w.buf, start, w.n), 16);
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
