// Speech-embedding cache. Everything before the LLM (Whisper, BEATs, Q-Former, projection) is frozen and does not
// depend on the mask, so each utterance's [88, D] speech embeddings are computed once: kept in memory (LRU with a
// byte budget) and on disk as .npy, keyed by the audio file's content hash, the model identity and, in padded-batch
// mode, the length the waveform was zero-padded to (the official collater pads raw audio to the batch's longest
// clip, which changes BEATs features of shorter clips).
import { encodeNpy, parseNpy } from '../io/npy.js';
import { sha256Hex, type TrainFs } from './fs.js';

/** Bumped when the meaning of cached embeddings changes (front-end or encoder semantics). */
export const SPEECH_CACHE_VERSION = 1;

export interface SpeechEmbeds {
  /** Row-major [tokens, dim]. */
  data: Float32Array;
  tokens: number;
  dim: number;
}

export interface CacheStats {
  memoryHits: number;
  diskHits: number;
  misses: number;
  diskWriteErrors: number;
}

export interface SpeechCacheOptions {
  /** Identity of the frozen speech stack (weights + config + code version); part of every key. */
  modelId: string;
  /** Disk store; none: memory only. */
  fs?: TrainFs;
  /** Folder for the .npy files (required with fs). */
  dir?: string;
  /** Memory budget in bytes (default 1 GiB); least recently used entries are evicted. */
  maxMemoryBytes?: number;
  /** Called once per failed disk write (the cache goes on in memory). */
  warn?: (msg: string) => void;
}

export class SpeechCache {
  private readonly mem = new Map<string, SpeechEmbeds>();
  private memBytes = 0;
  private readonly maxBytes: number;
  private modelHash = '';
  readonly stats: CacheStats = { memoryHits: 0, diskHits: 0, misses: 0, diskWriteErrors: 0 };

  constructor(private readonly opts: SpeechCacheOptions) {
    this.maxBytes = opts.maxMemoryBytes ?? 1 << 30;
  }

  /** Short hash of the model identity (the disk sub-folder). */
  async modelKey(): Promise<string> {
    if (!this.modelHash) this.modelHash = (await sha256Hex(`v${SPEECH_CACHE_VERSION}\n${this.opts.modelId}`)).slice(0, 16);
    return this.modelHash;
  }

  /**
   * Key of an utterance: its content hash, plus the padded sample count when it was zero-padded in a batch
   * (`padTo` > its own length); unpadded items share one key whatever the batch.
   */
  static key(audioHash: string, length: number, padTo: number): string {
    return padTo > length ? `${audioHash}_pad${padTo}` : audioHash;
  }

  private async diskPath(key: string): Promise<string | null> {
    if (!this.opts.fs || !this.opts.dir) return null;
    return this.opts.fs.join(this.opts.dir, await this.modelKey(), key.slice(0, 2), `${key}.npy`);
  }

  private remember(key: string, e: SpeechEmbeds): void {
    const old = this.mem.get(key);
    if (old) {
      this.mem.delete(key);
      this.memBytes -= old.data.byteLength;
    }
    if (e.data.byteLength > this.maxBytes) return;
    this.mem.set(key, e);
    this.memBytes += e.data.byteLength;
    for (const [k, v] of this.mem) {
      if (this.memBytes <= this.maxBytes) break;
      this.mem.delete(k);
      this.memBytes -= v.data.byteLength;
    }
  }

  /** Memory, then disk; null on a miss (a corrupt disk entry counts as a miss). */
  async get(key: string): Promise<SpeechEmbeds | null> {
    const m = this.mem.get(key);
    if (m) {
      this.mem.delete(key);
      this.mem.set(key, m);
      this.stats.memoryHits++;
      return m;
    }
    const p = await this.diskPath(key);
    if (p) {
      try {
        const bytes = await this.opts.fs!.readIfExists(p);
        if (bytes) {
          const a = parseNpy(bytes, p);
          if (a.dtype === 'f4' && a.shape.length === 2) {
            const e = { data: a.data, tokens: a.shape[0], dim: a.shape[1] };
            this.remember(key, e);
            this.stats.diskHits++;
            return e;
          }
        }
      } catch {
        // unreadable entry: recompute and overwrite
      }
    }
    this.stats.misses++;
    return null;
  }

  async put(key: string, e: SpeechEmbeds): Promise<void> {
    this.remember(key, e);
    const p = await this.diskPath(key);
    if (!p) return;
    try {
      await this.opts.fs!.writeAtomic(p, encodeNpy(e.data, [e.tokens, e.dim]));
    } catch (err) {
      this.stats.diskWriteErrors++;
      if (this.stats.diskWriteErrors === 1) this.opts.warn?.(`speech cache: cannot write ${p}: ${(err as Error).message} (continuing in memory)`);
    }
  }

  get memoryBytes(): number {
    return this.memBytes;
  }
  get memoryEntries(): number {
    return this.mem.size;
  }
}
