// What the trainer needs from a file system, so src/train stays browser-clean. The Node implementation is in
// src/node/train-fs.ts; an in-memory one (tests, browsers) is below.

export interface TrainFs {
  /** Whole file; throws (naming the path) when it cannot be read. */
  read(path: string): Promise<Uint8Array>;
  /** Null when the file does not exist (other errors throw). */
  readIfExists(path: string): Promise<Uint8Array | null>;
  /** Writes atomically (temp file + rename): readers never see a partial file. Creates parent folders. */
  writeAtomic(path: string, data: Uint8Array | string): Promise<void>;
  /** Appends text (creates the file and its folders). */
  append(path: string, text: string): Promise<void>;
  /** File names in a folder ([] when it does not exist). */
  list(dir: string): Promise<string[]>;
  /** Joins path segments with '/'. */
  join(...parts: string[]): string;
}

/** SHA-256 hex digest (WebCrypto: Node >= 19 and browsers). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error('sha256Hex: WebCrypto (crypto.subtle) is not available');
  const d = await subtle.digest('SHA-256', bytes as unknown as ArrayBuffer);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** An in-memory TrainFs (tests; browsers without a file system). */
export class MemoryFs implements TrainFs {
  readonly files = new Map<string, Uint8Array>();
  private norm(p: string): string {
    return p.replace(/\/+/g, '/').replace(/\/$/, '');
  }
  async read(path: string): Promise<Uint8Array> {
    const f = this.files.get(this.norm(path));
    if (!f) throw new Error(`${path}: no such file`);
    return f;
  }
  async readIfExists(path: string): Promise<Uint8Array | null> {
    return this.files.get(this.norm(path)) ?? null;
  }
  async writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
    this.files.set(this.norm(path), typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
  }
  async append(path: string, text: string): Promise<void> {
    const old = this.files.get(this.norm(path)) ?? new Uint8Array(0);
    const add = new TextEncoder().encode(text);
    const out = new Uint8Array(old.length + add.length);
    out.set(old);
    out.set(add, old.length);
    this.files.set(this.norm(path), out);
  }
  async list(dir: string): Promise<string[]> {
    const d = this.norm(dir) + '/';
    const out = new Set<string>();
    for (const k of this.files.keys()) if (k.startsWith(d)) out.add(k.slice(d.length).split('/')[0]);
    return [...out].sort();
  }
  join(...parts: string[]): string {
    return this.norm(parts.filter((p) => p !== '').join('/'));
  }
  text(path: string): string {
    const f = this.files.get(this.norm(path));
    return f ? new TextDecoder().decode(f) : '';
  }
}
