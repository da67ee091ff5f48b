// A Directory over HTTP (a model folder served by `npm run web` or any static host). Temporary local shim until
// helper `lib`'s UrlDirectory (src/io/directories.ts, with Cache Storage) is merged: it fetches whole files with
// per-file byte progress and keeps each file's bytes for the rest of the load (readers open some files twice).
import { FormatError } from '../src/errors.js';
import { MemorySource, type ByteSource, type Directory } from '../src/io/bytes.js';

export interface FileProgress {
  file: string;
  loaded: number;
  /** Content-Length when the server sent one, else -1. */
  total: number;
  done: boolean;
}

export class FetchDirectory implements Directory {
  private readonly bytes = new Map<string, Promise<Uint8Array>>();
  private readonly heads = new Map<string, Promise<boolean>>();

  constructor(readonly base: string, readonly onProgress?: (p: FileProgress) => void, readonly name = base) {
    if (!base.endsWith('/')) this.base = base + '/';
  }

  private url(rel: string): string {
    return new URL(rel.split('/').map(encodeURIComponent).join('/'), new URL(this.base, (globalThis as { location?: { href: string } }).location?.href)).href;
  }

  exists(rel: string): Promise<boolean> {
    if (this.bytes.has(rel)) return Promise.resolve(true);
    let p = this.heads.get(rel);
    if (!p) {
      p = fetch(this.url(rel), { method: 'HEAD' }).then((r) => r.ok, () => false);
      this.heads.set(rel, p);
    }
    return p;
  }

  async open(rel: string): Promise<ByteSource> {
    let p = this.bytes.get(rel);
    if (!p) {
      p = this.download(rel);
      this.bytes.set(rel, p);
      p.catch(() => this.bytes.delete(rel));
    }
    return new MemorySource(await p, `${this.name}${rel}`);
  }

  /** Drops the kept bytes (after a load: the weights now live on the device). */
  forget(): void {
    this.bytes.clear();
  }

  private async download(rel: string): Promise<Uint8Array> {
    const name = `${this.name}${rel}`;
    let res: Response;
    try {
      res = await fetch(this.url(rel));
    } catch (e) {
      throw new FormatError(name, `cannot fetch: ${(e as Error).message}`);
    }
    if (!res.ok) throw new FormatError(name, res.status === 404 ? 'no such file' : `HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length') ?? -1);
    if (!res.body) {
      const b = new Uint8Array(await res.arrayBuffer());
      this.onProgress?.({ file: rel, loaded: b.length, total: b.length, done: true });
      return b;
    }
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0, last = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      const now = Date.now();
      if (now - last > 100) {
        last = now;
        this.onProgress?.({ file: rel, loaded, total, done: false });
      }
    }
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) out.set(c, (o += c.length) - c.length);
    this.onProgress?.({ file: rel, loaded, total: loaded, done: true });
    return out;
  }
}
