// Directory implementations for every place a model can come from, browser-clean (no node: imports):
// in memory, a set of Blobs/Files (a browser folder picker), and a base URL (fetch, HTTP Range reads, optional
// Cache Storage). Node folders are in src/node/files.ts. Also the progress event type of model loading.
import { AhamaskError, FormatError } from '../errors.js';
import { BlobSource, checkRange, MemorySource, type ByteSource, type Directory } from './bytes.js';

export type { Directory, ByteSource } from './bytes.js';

/**
 * A loading progress event, shaped like transformers.js' `progress_callback` argument:
 * - `initiate`: `file` is about to be read (`total` bytes when known);
 * - `progress`: `loaded` of `total` bytes of `file` are done, `progress` = 100 * loaded / total;
 * - `done`: `file` is complete;
 * - `ready`: the whole model is loaded; `loaded` = `total` = all weight bytes, `progress` = 100.
 * `overall` is the same ratio over everything the load places on the target (a single progress bar draws it; it
 * never goes back: download events of a cache fill carry the load's current `overall`).
 */
export interface LoadProgress {
  status: 'initiate' | 'progress' | 'done' | 'ready';
  /** The file or folder (as named in the config, relative to the source) this event is about; the model name for `ready`. */
  file: string;
  /** Bytes done / in total for `file` (0 / 0 while unknown). */
  loaded: number;
  total: number;
  /** 100 * loaded / total (0 ... 100). */
  progress: number;
  /** Percentage over the whole load (0 ... 100; exactly 100 at `ready`). */
  overall: number;
  /** The model part being loaded. */
  stage?: 'configs' | 'validate' | 'download' | 'whisper' | 'beats' | 'salmonn' | 'llama';
}

export type ProgressCallback = (p: LoadProgress) => void;

/**
 * Normalises a relative path: '/' separators, no leading './' or '/', '.' segments dropped, '..' applied. A path
 * that climbs above the root throws (a Directory never reads outside itself).
 */
export function normalizeRelPath(rel: string, dirName = '<directory>'): string {
  const out: string[] = [];
  for (const seg of rel.split(/[\\/]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!out.length) throw new FormatError(dirName, `refusing path outside the directory: ${rel}`);
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}

type FileData = Uint8Array | Blob | string;

function toMap(files: Map<string, FileData> | Record<string, FileData> | Iterable<[string, FileData]>): Map<string, Uint8Array | Blob> {
  const entries: Iterable<[string, FileData]> = files instanceof Map ? files.entries() : Symbol.iterator in (files as object) ? (files as Iterable<[string, FileData]>) : Object.entries(files);
  const m = new Map<string, Uint8Array | Blob>();
  for (const [k, v] of entries) m.set(normalizeRelPath(k), typeof v === 'string' ? new TextEncoder().encode(v) : v);
  return m;
}

/** In-memory Directory: path -> bytes (or Blob, or UTF-8 text). Tests, generated files, files already fetched. */
export class MemoryDirectory implements Directory {
  readonly files: Map<string, Uint8Array | Blob>;
  constructor(files: Map<string, FileData> | Record<string, FileData> | Iterable<[string, FileData]> = new Map(), readonly name = '<memory>') {
    this.files = toMap(files);
  }
  private key(rel: string): string {
    return normalizeRelPath(rel, this.name);
  }
  async open(rel: string): Promise<ByteSource> {
    const k = this.key(rel);
    const f = this.files.get(k);
    if (!f) throw new FormatError(joinLabel(this.name, rel), 'no such file');
    const n = joinLabel(this.name, k);
    return f instanceof Uint8Array ? new MemorySource(f, n) : new BlobSource(f, n);
  }
  async exists(rel: string): Promise<boolean> {
    return this.files.has(this.key(rel));
  }
  /** Every file path, sorted. */
  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }
  /** Adds or replaces a file. */
  set(rel: string, data: FileData): this {
    this.files.set(this.key(rel), typeof data === 'string' ? new TextEncoder().encode(data) : data);
    return this;
  }
}

function joinLabel(dir: string, rel: string): string {
  return dir.endsWith('/') ? dir + rel : `${dir}/${rel}`;
}

/** The parts of a browser `File` this module uses (Node 20 has `File` too). */
interface FileLike extends Blob {
  readonly name?: string;
  readonly webkitRelativePath?: string;
}

/**
 * A Directory over Blobs/Files: a browser `FileList` from `<input type="file" webkitdirectory>` (paths from
 * `webkitRelativePath`, the common top folder stripped, so `salmonn/vicuna/config.json` becomes
 * `vicuna/config.json`), an array of Files (their names), or a record of path -> Blob. Reads are lazy
 * (`blob.slice`), so multi-GB checkpoints are never held in memory whole.
 */
export class BlobDirectory extends MemoryDirectory {
  constructor(files: ArrayLike<FileLike> | Iterable<FileLike> | Record<string, Blob> | Map<string, Blob>, name = '<files>') {
    super(BlobDirectory.entries(files), name);
  }

  /** The top folder the paths had in common (stripped), or '' when none. */
  static commonTop(paths: string[]): string {
    if (!paths.length) return '';
    const split = paths.map((p) => normalizeRelPath(p).split('/'));
    const top = split[0][0];
    return split.every((s) => s.length > 1 && s[0] === top) ? top : '';
  }

  private static entries(files: ArrayLike<FileLike> | Iterable<FileLike> | Record<string, Blob> | Map<string, Blob>): Array<[string, Blob]> {
    if (files instanceof Map) return [...files.entries()];
    const isList = Symbol.iterator in (files as object) || typeof (files as ArrayLike<FileLike>).length === 'number';
    if (!isList) return Object.entries(files as Record<string, Blob>);
    const arr: FileLike[] = Symbol.iterator in (files as object) ? [...(files as Iterable<FileLike>)] : Array.from(files as ArrayLike<FileLike>);
    const paths = arr.map((f, i) => {
      const p = f.webkitRelativePath || f.name;
      if (!p) throw new AhamaskError(`BlobDirectory: file ${i} has neither webkitRelativePath nor name`);
      return p;
    });
    const top = BlobDirectory.commonTop(paths);
    return arr.map((f, i) => {
      const p = normalizeRelPath(paths[i]);
      return [top ? p.slice(top.length + 1) : p, f];
    });
  }
}

/** The subset of the Cache Storage API (`caches.open(name)`) UrlDirectory uses; injectable for tests. */
export interface CacheLike {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
}

export interface UrlDirectoryOptions {
  /** `fetch` to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /**
   * Cache fetched files so they are not fetched again: a Cache Storage name (default 'ahamask-models' when
   * `caches` exists, i.e. in browsers and workers), a cache object, or false. Cached files are downloaded whole;
   * without a cache, files are read lazily with HTTP Range requests (whole-file fallback when the server
   * ignores Range).
   */
  cache?: string | CacheLike | false;
  /**
   * The files the base URL holds (relative paths), or the relative path of a JSON manifest listing them
   * (an array of paths, or `{ "files": [...] }`). With it `exists()` needs no request; without it `exists()`
   * sends a HEAD request.
   */
  manifest?: string[] | string;
  /** Download progress of whole-file fetches (cache fills and the no-Range fallback). */
  onProgress?: ProgressCallback;
  /** Aborts pending and later requests. */
  signal?: AbortSignal;
}

/** Reads below this size are served from aligned blocks of BLOCK bytes (checkpoint headers: many tiny reads). */
const SMALL_READ = 64 * 1024;
const BLOCK = 256 * 1024;
const BLOCKS_KEPT = 16;

/**
 * A lazily read file behind a URL: each read is an HTTP Range request (small reads go through a block cache so
 * parsing a zip/pickle header costs a few requests, not hundreds).
 */
export class UrlSource implements ByteSource {
  private blocks = new Map<number, Promise<Uint8Array>>();
  constructor(readonly name: string, readonly url: string, readonly size: number, private readonly get: (start: number, end: number) => Promise<Uint8Array>) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (length === 0) return new Uint8Array(0);
    if (length > SMALL_READ) return this.get(offset, offset + length);
    const first = Math.floor(offset / BLOCK), last = Math.floor((offset + length - 1) / BLOCK);
    const parts: Uint8Array[] = [];
    for (let b = first; b <= last; b++) parts.push(await this.block(b));
    const out = new Uint8Array(length);
    let o = 0;
    for (let b = first; b <= last; b++) {
      const blk = parts[b - first];
      const from = b === first ? offset - b * BLOCK : 0;
      const to = Math.min(blk.length, offset + length - b * BLOCK);
      out.set(blk.subarray(from, to), o);
      o += to - from;
    }
    return out;
  }

  private block(b: number): Promise<Uint8Array> {
    let p = this.blocks.get(b);
    if (p) {
      this.blocks.delete(b); // LRU: re-insert as newest
      this.blocks.set(b, p);
      return p;
    }
    p = this.get(b * BLOCK, Math.min(this.size, (b + 1) * BLOCK));
    p.catch(() => this.blocks.delete(b));
    this.blocks.set(b, p);
    if (this.blocks.size > BLOCKS_KEPT) this.blocks.delete(this.blocks.keys().next().value as number);
    return p;
  }

  async close(): Promise<void> {
    this.blocks.clear();
  }
}

/**
 * A Directory behind a base URL (a Hugging Face `resolve/main/` URL, a static file server, a CDN). See
 * UrlDirectoryOptions for caching, Range reads and `exists()`.
 */
export class UrlDirectory implements Directory {
  readonly name: string;
  readonly base: string;
  private readonly fetchFn: typeof fetch;
  private cachePromise: Promise<CacheLike | null> | null = null;
  private manifestPromise: Promise<Set<string> | null> | null = null;

  constructor(base: string | URL, readonly options: UrlDirectoryOptions = {}) {
    const s = String(base);
    this.base = s.endsWith('/') ? s : `${s}/`;
    this.name = this.base;
    const f = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
    if (!f) throw new AhamaskError('UrlDirectory: no fetch() in this environment; pass options.fetch');
    this.fetchFn = f;
  }

  /** The absolute URL of a relative path. */
  url(rel: string): string {
    return this.base + normalizeRelPath(rel, this.name).split('/').map(encodeURIComponent).join('/');
  }

  private request(url: string, init: RequestInit = {}): Promise<Response> {
    this.options.signal?.throwIfAborted();
    return this.fetchFn(url, { ...init, headers: { ...this.options.headers, ...(init.headers as Record<string, string> | undefined) }, signal: this.options.signal }).catch((e) => {
      if (this.options.signal?.aborted) throw this.options.signal.reason;
      throw new FormatError(url, `fetch failed: ${(e as Error).message}`, { cause: e });
    });
  }

  private cache(): Promise<CacheLike | null> {
    this.cachePromise ??= (async () => {
      const c = this.options.cache;
      if (c === false) return null;
      if (c && typeof c === 'object') return c;
      const storage = (globalThis as { caches?: { open(name: string): Promise<CacheLike> } }).caches;
      if (!storage) return null;
      try {
        return await storage.open(typeof c === 'string' ? c : 'ahamask-models');
      } catch {
        return null; // opaque origins and private modes can refuse Cache Storage: fetch without it
      }
    })();
    return this.cachePromise;
  }

  private manifest(): Promise<Set<string> | null> {
    this.manifestPromise ??= (async () => {
      const m = this.options.manifest;
      if (m === undefined) return null;
      if (Array.isArray(m)) return new Set(m.map((p) => normalizeRelPath(p)));
      const src = await this.open(m);
      const text = new TextDecoder().decode(await src.read(0, src.size));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new FormatError(this.url(m), `invalid JSON manifest: ${(e as Error).message}`);
      }
      const list = Array.isArray(json) ? json : (json as { files?: unknown })?.files;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new FormatError(this.url(m), 'a manifest is an array of paths or {"files": [...]}');
      return new Set((list as string[]).map((p) => normalizeRelPath(p)));
    })();
    return this.manifestPromise;
  }

  async exists(rel: string): Promise<boolean> {
    const key = normalizeRelPath(rel, this.name);
    const man = await this.manifest();
    if (man) return man.has(key);
    const url = this.url(key);
    const cache = await this.cache();
    if (cache && (await cache.match(url))) return true;
    const r = await this.request(url, { method: 'HEAD' });
    await r.body?.cancel();
    return r.ok;
  }

  async list(): Promise<string[]> {
    const man = await this.manifest();
    if (!man) throw new AhamaskError(`${this.name}: listing needs a manifest (UrlDirectory options.manifest)`);
    return [...man].sort();
  }

  async open(rel: string): Promise<ByteSource> {
    const key = normalizeRelPath(rel, this.name);
    const url = this.url(key);
    const cache = await this.cache();
    if (cache) {
      const hit = await cache.match(url);
      if (hit) return new BlobSource(await hit.blob(), url);
      const blob = await this.download(url, key);
      try {
        await cache.put(url, new Response(blob, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) } }));
      } catch {
        // quota exceeded: keep going uncached
      }
      return new BlobSource(blob, url);
    }
    // Lazy: learn the size and whether ranges work from a one-byte Range request.
    const probe = await this.request(url, { headers: { Range: 'bytes=0-0' } });
    if (probe.status === 404) {
      await probe.body?.cancel();
      throw new FormatError(url, 'no such file (HTTP 404)');
    }
    if (!probe.ok) {
      await probe.body?.cancel();
      throw new FormatError(url, `HTTP ${probe.status} ${probe.statusText}`);
    }
    const cr = probe.headers.get('content-range');
    const m = cr ? /\/(\d+)\s*$/.exec(cr) : null;
    if (probe.status === 206 && m) {
      await probe.body?.cancel();
      const size = Number(m[1]);
      return new UrlSource(url, url, size, (start, end) => this.range(url, start, end));
    }
    // The server ignored Range: this response is the whole file.
    return new MemorySource(concat(await this.readChunks(probe, url, key)), url);
  }

  private async range(url: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const r = await this.request(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    if (r.status !== 206) {
      await r.body?.cancel();
      throw new FormatError(url, `expected HTTP 206 for bytes ${start}-${end - 1}, got ${r.status}`);
    }
    const b = new Uint8Array(await r.arrayBuffer());
    if (b.length !== end - start) throw new FormatError(url, `range ${start}-${end - 1}: got ${b.length} byte(s), expected ${end - start}`);
    return b;
  }

  private async download(url: string, key: string): Promise<Blob> {
    const r = await this.request(url);
    if (!r.ok) {
      await r.body?.cancel();
      throw new FormatError(url, r.status === 404 ? 'no such file (HTTP 404)' : `HTTP ${r.status} ${r.statusText}`);
    }
    // a Blob of the received chunks: no second whole-file copy (browsers may keep large Blobs on disk)
    return new Blob(await this.readChunks(r, url, key));
  }

  /** Reads a response body as its chunks, reporting download progress. */
  private async readChunks(r: Response, url: string, key: string): Promise<Array<Uint8Array<ArrayBuffer>>> {
    const on = this.options.onProgress;
    const total = Number(r.headers.get('content-length') ?? 0) || 0;
    const ev = (status: LoadProgress['status'], loaded: number): void => on?.({
      status, file: key, loaded, total: total || loaded, progress: total ? (100 * loaded) / total : status === 'done' ? 100 : 0,
      overall: total ? (100 * loaded) / total : 0, stage: 'download',
    });
    ev('initiate', 0);
    if (!r.body) {
      const b = new Uint8Array(await r.arrayBuffer());
      ev('done', b.length);
      return [b];
    }
    const reader = r.body.getReader();
    const chunks: Array<Uint8Array<ArrayBuffer>> = [];
    let loaded = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value as Uint8Array<ArrayBuffer>);
        loaded += value.length;
        ev('progress', loaded);
      }
    } catch (e) {
      if (this.options.signal?.aborted) throw this.options.signal.reason;
      throw new FormatError(url, `download failed after ${loaded} byte(s): ${(e as Error).message}`, { cause: e });
    }
    if (total && loaded !== total) throw new FormatError(url, `download ended at ${loaded} of ${total} byte(s)`);
    ev('done', loaded);
    return chunks;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
