// Node adapter for files: a lazy ByteSource over a file handle, directories, atomic writes.
import { open, stat, lstat, rename, unlink, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, basename, join, resolve, isAbsolute } from 'node:path';
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
    const fh = await openRegular(path);
    return new FileSource(path, (await fh.stat()).size, fh);
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

/** What a path is when it is not a regular file, for messages. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isSymbolicLink(): boolean }): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
}

/**
 * Opens `path` for reading only when it is a regular file: a directory, FIFO, device (/dev/zero) or socket is refused
 * before any read, so no read is unbounded and none blocks. O_NONBLOCK keeps open() itself from waiting for a FIFO's
 * writer (it has no effect on regular files); the type is checked again on the open handle.
 */
async function openRegular(path: string): Promise<FileHandle> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new FormatError(path, `cannot open: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isFile()) throw new FormatError(path, `is ${kindOf(st)}, not a regular file`);
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new FormatError(path, `cannot open: ${(e as Error).message}`, { cause: e });
  }
  const st2 = await fh.stat();
  if (!st2.isFile()) {
    await fh.close();
    throw new FormatError(path, `is ${kindOf(st2)}, not a regular file`);
  }
  return fh;
}

/** Largest file `readFileBytes` reads whole (configs, JSON, masks, audio clips, tokenizers). */
export const MAX_WHOLE_FILE = 2 ** 31 - 1;

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
export async function readFileBytes(path: string, maxBytes = MAX_WHOLE_FILE): Promise<Uint8Array> {
  const src = await FileSource.open(path);
  try {
    if (src.size > maxBytes) throw new FormatError(path, `is ${src.size} bytes, more than the ${maxBytes} this reader accepts`);
    return await src.read(0, src.size);
  } finally {
    await src.close();
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
    if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) throw new FormatError(this.name, `refusing path outside the directory: ${rel}`);
    return join(this.name, rel);
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

/** Output under procfs, sysfs or devfs is refused (/dev/shm, a tmpfs, is allowed). */
function refusePseudoFs(path: string): void {
  const abs = resolve(path);
  if (/^\/(proc|sys|dev)(\/|$)/.test(abs) && !/^\/dev\/shm\//.test(abs)) throw new FormatError(path, `refusing to write under /${abs.split('/')[1]} (not a place for output files)`);
}

/**
 * An early check of an output destination (before hours of work): `kind` 'file' refuses an existing directory,
 * device, FIFO or socket at `path`; 'dir' refuses an existing non-directory; both refuse /proc, /sys and /dev.
 * The writers check again when they write.
 */
export async function checkOutputPath(path: string, kind: 'file' | 'dir'): Promise<void> {
  refusePseudoFs(path);
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw new FormatError(path, `cannot write there: ${(e as Error).message}`, { cause: e });
  }
  if (!st) {
    // the nearest existing folder above must be a directory (mkdir -p creates the rest)
    let up = dirname(resolve(path));
    for (;;) {
      const u = await stat(up).catch(() => null);
      if (u) {
        if (!u.isDirectory()) throw new FormatError(path, `cannot write there: ${up} is ${kindOf(u)}, not a directory`);
        return;
      }
      if (dirname(up) === up) return;
      up = dirname(up);
    }
  }
  if (kind === 'file' && !st.isFile()) throw new FormatError(path, `exists and is ${kindOf(st)}; refusing to replace it with a file`);
  if (kind === 'dir' && !st.isDirectory()) throw new FormatError(path, `exists and is ${kindOf(st)}, not a directory for the outputs`);
}

/**
 * Refuses a destination that a rename would destroy or that cannot hold a file: an existing directory, device,
 * FIFO or socket at `path` (running as root, a rename over /dev/null replaces the device node), a folder that is
 * not a directory, or a pseudo file system (procfs, sysfs) where writes never complete.
 */
export async function checkWritableDestination(path: string, dir: string): Promise<void> {
  refusePseudoFs(path);
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw new FormatError(path, `cannot check the destination: ${(e as Error).message}`, { cause: e });
  }
  if (st && !st.isFile() && !st.isSymbolicLink()) throw new FormatError(path, `exists and is ${kindOf(st)}; refusing to replace it with a file`);
  if (st?.isSymbolicLink()) {
    // the rename replaces the link itself; refuse when it points at something that is not a regular file
    const target = await stat(path).catch(() => null);
    if (target && !target.isFile()) throw new FormatError(path, `is a symbolic link to ${kindOf(target)}; refusing to replace it with a file`);
  }
  const d = await stat(dir).catch(() => null);
  if (!d || !d.isDirectory()) throw new FormatError(path, `its folder ${dir} is not a directory`);
}

/**
 * Writes `data` atomically: a temp file in the same directory, fsync, rename over `path` (and fsync the
 * directory where the platform allows). Readers never see a partial file.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(resolve(path));
  refusePseudoFs(path);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new FormatError(path, `cannot create its folder: ${(e as Error).message}`, { cause: e });
  }
  await checkWritableDestination(path, dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, off, Math.min(MAX_CHUNK, bytes.length - off), off);
      // a file system that accepts nothing (procfs, a full pseudo file) would otherwise loop forever
      if (bytesWritten <= 0) throw new FormatError(path, `writing stopped at byte ${off} of ${bytes.length} (the file system accepts no more data)`);
      off += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    // checked again right before the rename: something may have appeared at `path` meanwhile
    await checkWritableDestination(path, dir);
    await rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    if (e instanceof FormatError) throw e;
    throw new FormatError(path, `cannot write: ${(e as Error).message}`, { cause: e });
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
