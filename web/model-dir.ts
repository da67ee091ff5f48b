// Directories the page reads a SALMONN folder through: a folder the user picked (browser Files), and a wrapper that
// resolves the config's paths the way a researcher means them whatever folder the config was written from.
import { BlobSource, type ByteSource, type Directory } from '../src/io/bytes.js';
import { FormatError } from '../src/errors.js';

/** A picked folder (`<input webkitdirectory>`): paths relative to the folder itself (its own name dropped). */
export class FileListDirectory implements Directory {
  readonly files = new Map<string, Blob>();
  constructor(entries: Iterable<{ path: string; file: Blob }>, readonly name = '<picked folder>', readonly onOpen?: (rel: string, size: number) => void) {
    for (const e of entries) this.files.set(e.path, e.file);
  }
  async open(rel: string): Promise<ByteSource> {
    const f = this.files.get(rel);
    if (!f) throw new FormatError(`${this.name}/${rel}`, 'no such file');
    this.onOpen?.(rel, f.size);
    return new BlobSource(f, `${this.name}/${rel}`);
  }
  async exists(rel: string): Promise<boolean> {
    return this.files.has(rel);
  }
  list(): string[] {
    return [...this.files.keys()].sort();
  }
}

/**
 * Drops the top folder of `webkitRelativePath` ("demo/vicuna/config.json" -> "vicuna/config.json").
 */
export function pickedEntries(files: ArrayLike<File>): { path: string; file: File }[] {
  const out: { path: string; file: File }[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    out.push({ path: rel.split('/').slice(1).join('/') || f.name, file: f });
  }
  return out;
}

/**
 * Config paths are relative to the directory the official scripts ran in: the fixture's to its own folder
 * ("vicuna"), the demo model's to the repository root ("checkpoints/demo/vicuna"). A folder served or picked on
 * its own holds "vicuna/...", so a path that is missing is retried without its leading folders, one at a time.
 */
export class LenientDirectory implements Directory {
  private readonly resolved = new Map<string, Promise<string | null>>();
  constructor(readonly inner: Directory) {}
  get name(): string {
    return this.inner.name;
  }
  private resolve(rel: string): Promise<string | null> {
    let p = this.resolved.get(rel);
    if (!p) {
      p = (async () => {
        const parts = rel.replace(/^\.\//, '').split('/').filter((s) => s !== '' && s !== '.');
        for (let k = 0; k < parts.length; k++) {
          const cand = parts.slice(k).join('/');
          if (await this.inner.exists(cand)) return cand;
        }
        return null;
      })();
      this.resolved.set(rel, p);
    }
    return p;
  }
  /** Every file, when the inner directory can list them (a picked folder can; a URL cannot). */
  list(): string[] {
    return (this.inner as { list?: () => string[] }).list?.() ?? [];
  }
  async exists(rel: string): Promise<boolean> {
    return (await this.resolve(rel)) !== null;
  }
  async open(rel: string): Promise<ByteSource> {
    const r = await this.resolve(rel);
    if (r === null) throw new FormatError(`${this.inner.name}${rel}`, 'no such file');
    return this.inner.open(r);
  }
}
