// Directories the page reads a SALMONN folder through: a folder the user picked (browser Files), and a wrapper that
// resolves the config's paths the way a researcher means them whatever folder the config was written from.
import { joinName, type ByteSource, type Directory } from '../src/io/bytes.js';
import { FormatError } from '../src/errors.js';

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
  /** Every file, when the inner directory can list them (a picked folder can; a URL without a manifest cannot). */
  async list(): Promise<string[]> {
    try {
      return (await this.inner.list?.()) ?? [];
    } catch {
      return [];
    }
  }
  async exists(rel: string): Promise<boolean> {
    return (await this.resolve(rel)) !== null;
  }
  async open(rel: string): Promise<ByteSource> {
    const r = await this.resolve(rel);
    if (r === null) throw new FormatError(joinName(this.inner.name, rel), 'no such file');
    return this.inner.open(r);
  }
}

/** Per-file progress the page shows (bytes read of each file). */
export interface FileProgress {
  file: string;
  loaded: number;
  /** -1 while unknown. */
  total: number;
  done: boolean;
}

/**
 * Reports every opened file once it is readable (its size), so files that need no download (a picked folder,
 * a Cache Storage hit, lazy Range reads) show up in the per-file list as well as downloaded ones.
 */
export class ReportingDirectory implements Directory {
  constructor(readonly inner: Directory, readonly onFile: (p: FileProgress) => void) {}
  get name(): string {
    return this.inner.name;
  }
  exists(rel: string): Promise<boolean> {
    return this.inner.exists(rel);
  }
  async list(): Promise<string[]> {
    return (await this.inner.list?.()) ?? [];
  }
  async open(rel: string): Promise<ByteSource> {
    const src = await this.inner.open(rel);
    this.onFile({ file: rel, loaded: src.size, total: src.size, done: true });
    return src;
  }
}
