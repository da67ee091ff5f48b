// Node implementation of the trainer's file system (src/train/fs.ts): atomic writes through src/node/files.ts.
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './files.js';
import { FormatError } from '../errors.js';
import type { TrainFs } from '../train/fs.js';

export class NodeTrainFs implements TrainFs {
  async read(path: string): Promise<Uint8Array> {
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      throw new FormatError(path, `cannot read: ${(e as Error).message}`, { cause: e });
    }
  }
  async readIfExists(path: string): Promise<Uint8Array | null> {
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw new FormatError(path, `cannot read: ${(e as Error).message}`, { cause: e });
    }
  }
  writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
    return writeFileAtomic(path, data);
  }
  async append(path: string, text: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, text);
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
