// Node implementation of the trainer's file system (src/train/fs.ts): atomic writes through src/node/files.ts.
import { appendFile, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkWritableDestination, readFileBytes, writeFileAtomic } from '../node/files.js';
import { FormatError } from '../errors.js';
import type { TrainFs } from '../train/fs.js';

export class NodeTrainFs implements TrainFs {
  /** Regular files only, read to their stat size (a FIFO or /dev/zero is refused, not read forever). */
  read(path: string): Promise<Uint8Array> {
    return readFileBytes(path);
  }
  async readIfExists(path: string): Promise<Uint8Array | null> {
    try {
      await stat(path);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw new FormatError(path, `cannot read: ${(e as Error).message}`, { cause: e });
    }
    return readFileBytes(path);
  }
  writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
    return writeFileAtomic(path, data);
  }
  async append(path: string, text: string): Promise<void> {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (e) {
      throw new FormatError(path, `cannot create its folder: ${(e as Error).message}`, { cause: e });
    }
    // the same destination rules as atomic writes: no device, FIFO or directory, nothing under /proc, /sys, /dev
    await checkWritableDestination(path, dirname(path));
    try {
      await appendFile(path, text);
    } catch (e) {
      throw new FormatError(path, `cannot append: ${(e as Error).message}`, { cause: e });
    }
  }
  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).sort();
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return [];
      throw e;
    }
  }
  join(...parts: string[]): string {
    return join(...parts);
  }
}
