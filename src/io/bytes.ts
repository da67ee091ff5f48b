// Random-access byte sources. Library code reads files through this interface only (browser-clean):
// Node file handles live in src/node/files.ts, in-memory bytes and browser Blobs/Files are here.
import { FormatError } from '../errors.js';

/** A random-access reader over one file-like object. Offsets are plain numbers (exact up to 2^53). */
export interface ByteSource {
  /** File name or path, used in error messages. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Reads exactly `length` bytes at `offset`. The caller must not modify the result (it may be a view
   * into a shared buffer). Out-of-range requests throw a FormatError naming the file and offset.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying handle (optional; idempotent). */
  close?(): Promise<void>;
}

/** Throws a FormatError when [offset, offset + length) is not inside the source. */
export function checkRange(src: { name: string; size: number }, offset: number, length: number, what = 'read'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(src.name, `${what}: invalid range offset ${offset}, length ${length}`);
  }
  if (offset + length > src.size) {
    throw new FormatError(
      src.name,
      `${what}: ${length} byte(s) at offset ${offset} go beyond the end of the file (size ${src.size}); truncated file?`,
    );
  }
}

/** In-memory source over a Uint8Array (no copy). */
export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(readonly bytes: Uint8Array, readonly name = '<memory>') {
    this.size = bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
  async close(): Promise<void> {}
}

/** Browser `Blob` / `File` source: reads ranges with `blob.slice(...).arrayBuffer()`. */
export class BlobSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  constructor(readonly blob: Blob, name?: string) {
    this.size = blob.size;
    this.name = name ?? ((blob as { name?: string }).name || '<blob>');
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
  async close(): Promise<void> {}
}

export function memorySource(bytes: Uint8Array, name?: string): ByteSource {
  return new MemorySource(bytes, name);
}

export function blobSource(blob: Blob, name?: string): ByteSource {
  return new BlobSource(blob, name);
}

/** A window [start, start+size) of another source, seen as a source of its own. */
export class SliceSource implements ByteSource {
  constructor(readonly parent: ByteSource, readonly start: number, readonly size: number, readonly name = parent.name) {
    checkRange(parent, start, size, 'slice');
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.parent.read(this.start + offset, length);
  }
}

/**
 * A directory of files (a HF model folder, a fixture folder). Implementations: MemoryDirectory, BlobDirectory,
 * UrlDirectory (src/io/directories.ts); Node folders: `openDirectory()` in src/node/files.ts.
 */
export interface Directory {
  /** Directory path or label, used in error messages. */
  readonly name: string;
  /** Opens `rel` (a relative path with '/' separators). Throws when it does not exist. */
  open(rel: string): Promise<ByteSource>;
  /** Whether `rel` exists as a regular file. */
  exists(rel: string): Promise<boolean>;
  /** Every file's relative path, where the directory can list itself (optional). */
  list?(): Promise<string[]>;
}

/** Opens `rel` in `dir` and runs `fn` on it; the source is closed if `fn` throws (on success `fn` owns it). */
export async function openOwned<T>(dir: Directory, rel: string, fn: (src: ByteSource) => Promise<T>): Promise<T> {
  const src = await dir.open(rel);
  try {
    return await fn(src);
  } catch (e) {
    await src.close?.().catch(() => {});
    throw e;
  }
}

/** Reads a whole (small) source into memory. */
export async function readAll(src: ByteSource): Promise<Uint8Array> {
  return src.read(0, src.size);
}

/** Reads a whole source and decodes it as UTF-8 (fatal on invalid bytes -> FormatError). */
export async function readText(src: ByteSource): Promise<string> {
  const bytes = await readAll(src);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new FormatError(src.name, 'not valid UTF-8 text', { cause: e });
  }
}

/** Joins a directory label and a relative path for messages. */
export function joinName(dir: string, rel: string): string {
  return dir.endsWith('/') ? dir + rel : `${dir}/${rel}`;
}

/** Little-endian reader over a byte array that throws FormatError (file + offset) instead of RangeError. */
export class LEReader {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly file: string, readonly base = 0) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(off: number, n: number): void {
    if (off < 0 || off + n > this.bytes.length) {
      throw new FormatError(this.file, `unexpected end of data at offset ${this.base + off} (need ${n} byte(s))`);
    }
  }
  u8(off: number): number { this.need(off, 1); return this.bytes[off]; }
  u16(off: number): number { this.need(off, 2); return this.dv.getUint16(off, true); }
  u32(off: number): number { this.need(off, 4); return this.dv.getUint32(off, true); }
  i32(off: number): number { this.need(off, 4); return this.dv.getInt32(off, true); }
  /** Unsigned 64-bit as a number; throws when above 2^53 - 1. */
  u64(off: number): number {
    this.need(off, 8);
    const lo = this.dv.getUint32(off, true), hi = this.dv.getUint32(off + 4, true);
    if (hi > 0x1fffff) throw new FormatError(this.file, `64-bit value at offset ${this.base + off} is too large`);
    return hi * 0x100000000 + lo;
  }
  f64be(off: number): number { this.need(off, 8); return this.dv.getFloat64(off, false); }
  slice(off: number, n: number): Uint8Array { this.need(off, n); return this.bytes.subarray(off, off + n); }
}
