// ZIP reader (central directory, zip64, stored + deflate entries) and a torch-style ZIP writer
// (stored entries, 64-byte aligned data, data descriptors, zip64 end records — the layout of torch.save).
import { FormatError } from '../errors.js';
import { checkRange, LEReader, type ByteSource } from './bytes.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;
/** Largest entry inflated in memory (torch stores tensors uncompressed; compressed entries are small metadata). */
const MAX_INFLATE = 1 << 30;

export interface ZipEntry {
  /** Full path inside the archive ('/' separators). */
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly flags: number;
  /** Offset of the local file header. */
  readonly localHeaderOffset: number;
}

export class ZipArchive {
  private readonly dataOffsets = new Map<string, Promise<number>>();
  private constructor(readonly source: ByteSource, readonly entries: Map<string, ZipEntry>) {}

  get name(): string {
    return this.source.name;
  }

  /** Parses the central directory (the only part read eagerly). */
  static async open(source: ByteSource): Promise<ZipArchive> {
    return new ZipArchive(source, await readCentralDirectory(source));
  }

  /** Entry names in central-directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new FormatError(this.source.name, `zip entry '${name}' not found`);
    return e;
  }

  /** Absolute offset of an entry's data in the file (reads its local header once). */
  dataOffset(entry: ZipEntry | string): Promise<number> {
    const e = typeof entry === 'string' ? this.entry(entry) : entry;
    let p = this.dataOffsets.get(e.name);
    if (!p) {
      p = this.computeDataOffset(e);
      this.dataOffsets.set(e.name, p);
      p.catch(() => this.dataOffsets.delete(e.name));
    }
    return p;
  }

  private async computeDataOffset(e: ZipEntry): Promise<number> {
    const src = this.source;
    checkRange(src, e.localHeaderOffset, 30, `local header of '${e.name}'`);
    const h = new LEReader(await src.read(e.localHeaderOffset, 30), src.name, e.localHeaderOffset);
    if (h.u32(0) !== SIG_LOCAL) {
      throw new FormatError(src.name, `bad local header signature for '${e.name}' at offset ${e.localHeaderOffset}`);
    }
    const start = e.localHeaderOffset + 30 + h.u16(26) + h.u16(28);
    checkRange(src, start, e.compressedSize, `data of '${e.name}'`);
    return start;
  }

  /**
   * Reads `length` bytes at `offset` inside a *stored* entry (lazy tensor reads). Deflated entries can only be
   * read whole (`read`).
   */
  async readRange(entry: ZipEntry | string, offset: number, length: number): Promise<Uint8Array> {
    const e = typeof entry === 'string' ? this.entry(entry) : entry;
    if (e.method !== 0) throw new FormatError(this.source.name, `zip entry '${e.name}' is compressed (method ${e.method}); ranged reads need stored entries`);
    if (offset < 0 || length < 0 || offset + length > e.size) {
      throw new FormatError(this.source.name, `read of ${length} byte(s) at offset ${offset} is outside zip entry '${e.name}' (size ${e.size})`);
    }
    return this.source.read((await this.dataOffset(e)) + offset, length);
  }

  /** Reads and (if needed) inflates a whole entry. */
  async read(entry: ZipEntry | string): Promise<Uint8Array> {
    const e = typeof entry === 'string' ? this.entry(entry) : entry;
    const raw = await this.source.read(await this.dataOffset(e), e.compressedSize);
    if (e.method === 0) {
      if (e.compressedSize !== e.size) throw new FormatError(this.source.name, `stored zip entry '${e.name}' has compressed size ${e.compressedSize} != size ${e.size}`);
      return raw;
    }
    if (e.method === 8) {
      // deflate expands at most ~1032x; refuse absurd declared sizes before allocating
      if (e.size > e.compressedSize * 1032 + 1024 || e.size > MAX_INFLATE) {
        throw new FormatError(this.source.name, `zip entry '${e.name}' declares ${e.size} bytes from ${e.compressedSize} compressed bytes (implausible or too large to inflate in memory)`);
      }
      return inflateRaw(raw, e.size, `${this.source.name}: zip entry '${e.name}'`);
    }
    throw new FormatError(this.source.name, `zip entry '${e.name}' uses unsupported compression method ${e.method}`);
  }

  async readText(entry: ZipEntry | string): Promise<string> {
    return new TextDecoder().decode(await this.read(entry));
  }
}

export function openZip(source: ByteSource): Promise<ZipArchive> {
  return ZipArchive.open(source);
}

async function inflateRaw(raw: Uint8Array, size: number, what: string): Promise<Uint8Array> {
  const DS = (globalThis as { DecompressionStream?: typeof DecompressionStream }).DecompressionStream;
  if (!DS) throw new FormatError(what, 'is deflate-compressed and this platform has no DecompressionStream');
  const out = new Uint8Array(size);
  let n = 0;
  try {
    const stream = new Blob([raw as BlobPart]).stream().pipeThrough(new DS('deflate-raw'));
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > size) {
        await reader.cancel();
        throw new FormatError(what, `inflates to more than the declared ${size} bytes`);
      }
      out.set(value, n);
      n += value.length;
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(what, `bad deflate data: ${(e as Error).message}`, { cause: e });
  }
  if (n !== size) throw new FormatError(what, `inflates to ${n} bytes, declared ${size}`);
  return out;
}

function findEocd(tail: Uint8Array, t: LEReader): number {
  let found = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
      if (i + 22 + t.u16(i + 20) === tail.length) return i;
      if (found < 0) found = i; // tolerate trailing garbage, keep looking for an exact match
    }
  }
  return found;
}

async function readCentralDirectory(src: ByteSource): Promise<Map<string, ZipEntry>> {
  const file = src.name;
  if (src.size < 22) throw new FormatError(file, `not a zip file: ${src.size} bytes is shorter than an end-of-central-directory record`);
  // Look for the end record in a small tail first (no comment: the usual case), then in the largest possible one.
  let tailStart = 0, eocd = -1;
  let tail: Uint8Array = new Uint8Array(0);
  let t = new LEReader(tail, file);
  for (const want of [Math.min(src.size, 22 + 20 + 1024), Math.min(src.size, 22 + 0xffff + 20)]) {
    if (want <= tail.length) break;
    tailStart = src.size - want;
    tail = await src.read(tailStart, want);
    t = new LEReader(tail, file, tailStart);
    eocd = findEocd(tail, t);
    if (eocd >= 0) break;
  }
  if (eocd < 0) throw new FormatError(file, 'not a zip file (no end-of-central-directory record; truncated?)');
  let count = t.u16(eocd + 10);
  let cdSize = t.u32(eocd + 12);
  let cdOffset = t.u32(eocd + 16);
  const eocdAbs = tailStart + eocd;

  // zip64: the locator sits right before the EOCD record.
  if (eocdAbs >= 20) {
    const loc = await src.read(eocdAbs - 20, 20);
    const l = new LEReader(loc, file, eocdAbs - 20);
    if (l.u32(0) === SIG_ZIP64_LOCATOR) {
      const z64 = l.u64(8);
      checkRange(src, z64, 56, 'zip64 end-of-central-directory record');
      const r = new LEReader(await src.read(z64, 56), file, z64);
      if (r.u32(0) !== SIG_ZIP64_EOCD) throw new FormatError(file, `bad zip64 end-of-central-directory signature at offset ${z64}`);
      count = r.u64(32);
      cdSize = r.u64(40);
      cdOffset = r.u64(48);
    }
  }
  if (cdOffset + cdSize > src.size) {
    throw new FormatError(file, `central directory at offset ${cdOffset} (size ${cdSize}) goes beyond the end of the file (size ${src.size}); truncated zip?`);
  }
  if (count * 46 > cdSize) throw new FormatError(file, `central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const cd = new LEReader(await src.read(cdOffset, cdSize), file, cdOffset);
  const entries = new Map<string, ZipEntry>();
  const dec = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (cd.u32(p) !== SIG_CENTRAL) throw new FormatError(file, `bad central directory entry signature at offset ${cdOffset + p}`);
    const flags = cd.u16(p + 8);
    const method = cd.u16(p + 10);
    const crc32 = cd.u32(p + 16);
    let compressedSize = cd.u32(p + 20);
    let size = cd.u32(p + 24);
    const nameLen = cd.u16(p + 28), extraLen = cd.u16(p + 30), commentLen = cd.u16(p + 32);
    let localHeaderOffset = cd.u32(p + 42);
    const name = dec.decode(cd.slice(p + 46, nameLen));
    const extra = cd.slice(p + 46 + nameLen, extraLen);
    if (size === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      const x = new LEReader(extra, file, cdOffset + p + 46 + nameLen);
      let q = 0;
      let found = false;
      while (q + 4 <= extra.length) {
        const id = x.u16(q), len = x.u16(q + 2);
        if (id === 0x0001) {
          let r = q + 4;
          const end = r + len;
          const next = (): number => {
            if (r + 8 > end) throw new FormatError(file, `zip64 extra field of '${name}' is too short`);
            const v = x.u64(r);
            r += 8;
            return v;
          };
          if (size === 0xffffffff) size = next();
          if (compressedSize === 0xffffffff) compressedSize = next();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
          found = true;
          break;
        }
        q += 4 + len;
      }
      if (!found) throw new FormatError(file, `zip entry '${name}' needs a zip64 extra field, none found`);
    }
    if (localHeaderOffset + 30 + compressedSize > src.size) {
      throw new FormatError(file, `zip entry '${name}': local header offset ${localHeaderOffset} + ${compressedSize} data bytes go beyond the end of the file (size ${src.size}); truncated zip?`);
    }
    if (method === 0 && compressedSize !== size) throw new FormatError(file, `stored zip entry '${name}' has compressed size ${compressedSize} != size ${size}`);
    entries.set(name, { name, method, compressedSize, size, crc32, flags, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------------
// CRC-32 and the writer

let CRC_TABLE: Uint32Array | undefined;
export function crc32(data: Uint8Array, crc = 0): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
}

/**
 * Writes a ZIP the way torch.save (PyTorchStreamWriter / miniz) does: stored entries, each local header with an
 * 'FB' extra field padding the data to a multiple of `align` (64), general-purpose flags 0x0808 (data descriptor,
 * UTF-8), zeroed times, a data descriptor after each entry, then the central directory, a zip64 end record, the
 * zip64 locator and the classic end record. Archives up to 4 GiB.
 */
export function writeZip(entries: ZipWriteEntry[], align = 64): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let cursor = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const size = e.data.length;
    if (size >= 0xffffffff || cursor >= 0xffffffff) throw new RangeError('writeZip: archives above 4 GiB are not supported');
    const start = cursor + 30 + name.length + 4;
    const pad = (align - (start % align)) % align;
    const extraLen = pad + 4;
    const crc = crc32(e.data);
    const lh = new Uint8Array(30 + name.length + extraLen);
    const l = new DataView(lh.buffer);
    l.setUint32(0, SIG_LOCAL, true);
    l.setUint16(4, 0, true); // version needed
    l.setUint16(6, 0x0808, true); // flags: data descriptor + UTF-8
    l.setUint16(8, 0, true); // stored
    // time, date, crc, sizes: 0 (sizes and crc follow in the data descriptor)
    l.setUint16(26, name.length, true);
    l.setUint16(28, extraLen, true);
    lh.set(name, 30);
    lh[30 + name.length] = 0x46; // 'F'
    lh[31 + name.length] = 0x42; // 'B'
    l.setUint16(32 + name.length, pad, true);
    lh.fill(0x5a, 34 + name.length); // 'Z'
    const dd = new Uint8Array(16);
    const d = new DataView(dd.buffer);
    d.setUint32(0, SIG_DATA_DESCRIPTOR, true);
    d.setUint32(4, crc, true);
    d.setUint32(8, size, true);
    d.setUint32(12, size, true);
    parts.push(lh, e.data, dd);

    const ch = new Uint8Array(46 + name.length);
    const c = new DataView(ch.buffer);
    c.setUint32(0, SIG_CENTRAL, true);
    c.setUint16(8, 0x0808, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, size, true);
    c.setUint32(24, size, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, cursor, true);
    ch.set(name, 46);
    central.push(ch);
    cursor += lh.length + size + dd.length;
  }
  const cdOffset = cursor;
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const z64 = new Uint8Array(56 + 20 + 22);
  const z = new DataView(z64.buffer);
  z.setUint32(0, SIG_ZIP64_EOCD, true);
  z.setBigUint64(4, 44n, true);
  z.setUint16(12, 0x031e, true); // made by
  z.setUint16(14, 45, true); // needed
  z.setBigUint64(24, BigInt(entries.length), true);
  z.setBigUint64(32, BigInt(entries.length), true);
  z.setBigUint64(40, BigInt(cdSize), true);
  z.setBigUint64(48, BigInt(cdOffset), true);
  z.setUint32(56, SIG_ZIP64_LOCATOR, true);
  z.setBigUint64(64, BigInt(cdOffset + cdSize), true);
  z.setUint32(72, 1, true);
  z.setUint32(76, SIG_EOCD, true);
  z.setUint16(84, entries.length, true);
  z.setUint16(86, entries.length, true);
  z.setUint32(88, cdSize, true);
  z.setUint32(92, cdOffset, true);
  const all = [...parts, ...central, z64];
  const out = new Uint8Array(all.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of all) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
