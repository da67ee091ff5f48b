// Node adapter for files: a lazy ByteSource over a file handle, directories, atomic writes.
import { open, stat, rename, unlink, mkdir, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, basename, join, resolve, isAbsolute, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkRange, MemorySource, type ByteSource, type Directory } from '../io/bytes.js';
import { FormatError } from '../errors.js';
import { encodeMaskCheckpoint, readMaskCheckpoint, type MaskCheckpoint, type MaskCheckpointExtras } from '../io/mask.js';
import { openCheckpoint, type Checkpoint, type OpenCheckpointOptions } from '../io/checkpoint.js';

/** Largest single fs read (Node limits one read to < 2 GiB). */
const MAX_CHUNK = 1 << 30;

/**
 * A ByteSource over an open file handle. Reads only the ranges asked for, with positional reads, so files of
 * many GB work (offsets are numbers, exact up to 2^53). Close it when done (`close()`).
 */
export class FileSource implements ByteSource {
  private closed = false;
  private constructor(readonly name: string, readonly size: number, private readonly fh: FileHandle) {}

  static async open(path: string): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new FormatError(path, `cannot open: ${(e as Error).message}`, { cause: e });
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new FormatError(path, 'not a regular file');
    }
    return new FileSource(path, st.size, fh);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (this.closed) throw new FormatError(this.name, `read at offset ${offset} after close()`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = Math.min(MAX_CHUNK, length - done);
      const { bytesRead } = await this.fh.read(out, done, n, offset + done);
      if (bytesRead === 0) {
        throw new FormatError(this.name, `file ended at offset ${offset + done} while reading ${length} byte(s) at ${offset} (changed on disk?)`);
      }
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** Opens a file as a lazy ByteSource. */
export function openFile(path: string): Promise<FileSource> {
  return FileSource.open(path);
}

/** Runs `fn` with an open file and closes it afterwards. */
export async function withFile<T>(path: string, fn: (src: FileSource) => Promise<T>): Promise<T> {
  const src = await openFile(path);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

/** Reads a whole file into memory (small files: configs, JSON, masks). */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new FormatError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
}

export async function readTextFile(path: string): Promise<string> {
  const bytes = await readFileBytes(path);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new FormatError(path, 'not valid UTF-8 text', { cause: e });
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A Directory over a folder on disk; `open()` returns FileSources (the caller closes them, or closes via Checkpoint.close()). */
export class NodeDirectory implements Directory {
  constructor(readonly name: string) {}
  private path(rel: string): string {
    // an absolute path inside the folder is fine (a config parsed with its full path); anything outside is refused
    const r = isAbsolute(rel) ? relative(this.name, rel) : rel;
    if (isAbsolute(r) || r.split(/[\\/]/).includes('..')) throw new FormatError(this.name, `refusing path outside the directory: ${rel}`);
    return join(this.name, r);
  }
  async open(rel: string): Promise<ByteSource> {
    return FileSource.open(this.path(rel));
  }
  async exists(rel: string): Promise<boolean> {
    try {
      return (await stat(this.path(rel))).isFile();
    } catch {
      return false;
    }
  }
}

export function openDirectory(path: string): Directory {
  return new NodeDirectory(resolve(path));
}

/**
 * Writes `data` atomically: a temp file in the same directory, fsync, rename over `path` (and fsync the
 * directory where the platform allows). Readers never see a partial file.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(resolve(path));
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, off, Math.min(MAX_CHUNK, bytes.length - off), off);
      off += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // directory fsync is not supported everywhere (e.g. Windows); the rename itself is atomic.
  }
}

/**
 * Writes an AHAMask mask checkpoint atomically (torch.load-compatible; the archive folder is named after the file,
 * as torch.save does).
 */
export async function writeMaskCheckpoint(path: string, logits: Float32Array, extras: MaskCheckpointExtras = {}): Promise<void> {
  const archiveName = basename(path).replace(/\.[^.]*$/, '') || 'archive';
  await writeFileAtomic(path, encodeMaskCheckpoint(logits, extras, { archiveName }));
}

/** Reads an AHAMask mask checkpoint from disk (whole file in memory: masks are small, and `root` stays readable). */
export async function readMaskCheckpointFile(path: string): Promise<MaskCheckpoint> {
  return readMaskCheckpoint(new MemorySource(await readFileBytes(path), path));
}

/** Opens a checkpoint file or folder (see openCheckpoint); close() it when done. */
export async function openCheckpointPath(path: string, opts: OpenCheckpointOptions = {}): Promise<Checkpoint> {
  if (await isDirectory(path)) return openCheckpoint(openDirectory(path), opts);
  const src = await openFile(path);
  try {
    return await openCheckpoint(src, opts);
  } catch (e) {
    await src.close();
    throw e;
  }
}
