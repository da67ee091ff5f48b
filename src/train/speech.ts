// Speech side of training: reading each utterance's audio (dataset.py semantics, expand_wav included), the
// content hash that keys the cache, and speech embeddings through the cache so the frozen encoders run once per
// utterance. Unreadable audio is reported by probe() and the entry is skipped by the trainer.
import { decodeAudio, loadAudioF64, normalizeLength, resample, TARGET_SAMPLE_RATE, MAX_SAMPLES } from '../io/audio.js';
import { FormatError } from '../errors.js';
import type { Annotation } from './data.js';
import { SpeechCache, type SpeechEmbeds } from './cache.js';
import { sha256Hex, type TrainFs } from './fs.js';

/**
 * What the trainer needs from the frozen speech stack (Whisper + BEATs + Q-Former + projection).
 * `encode` returns one [tokens, dim] array per waveform; `padTo` is the sample count each waveform was
 * zero-padded to in its batch (its own length: no padding, batch-size-1 semantics).
 */
export interface SpeechEncoder {
  /** Identity of weights + config + code (part of every cache key). */
  readonly id: string;
  encode(waves: Float64Array[], padTo: number[]): Promise<SpeechEmbeds[]>;
}

/**
 * How utterances of a batch are encoded:
 *  - 'utterance' (default): each alone, as cli_inference / batch-size-1 evaluate do; cached once per utterance.
 *  - 'padded_batch': as the official collater, raw audio zero-padded to the batch's longest clip (changes BEATs
 *    features of shorter clips); cached per (utterance, padded length).
 */
export type SpeechBatching = 'utterance' | 'padded_batch';

export interface ProbedEntry {
  entry: Annotation;
  /** sha256 of the audio bytes (and of each expand_wav file). */
  hash: string;
  /** Samples after length normalisation (1 s .. 30 s at 16 kHz). */
  samples: number;
}

const EXPAND_GAP = 1600;

/** dataset.py: load, resample to 16 kHz, channel 0, expand_wav (after 0.1 s of silence, not resampled), pad/truncate. */
export async function loadEntryAudio(fs: TrainFs, e: Annotation): Promise<{ wave: Float64Array; hash: string }> {
  const bytes = await fs.read(e.path);
  if (e.expandWav.length === 0) return { wave: await loadAudioF64(bytes, e.path), hash: await sha256Hex(bytes) };
  const a = await decodeAudio(bytes, e.path, { firstChannelOnly: true });
  let wave = a.sampleRate === TARGET_SAMPLE_RATE ? a.channels[0] : Float64Array.from(resample(a.channels[0], a.sampleRate, TARGET_SAMPLE_RATE, MAX_SAMPLES));
  const hashes = [await sha256Hex(bytes)];
  for (const p of e.expandWav) {
    const xb = await fs.read(p);
    const x = (await decodeAudio(xb, p, { firstChannelOnly: true })).channels[0];
    const out = new Float64Array(wave.length + EXPAND_GAP + x.length);
    out.set(wave);
    out.set(x, wave.length + EXPAND_GAP);
    wave = out;
    hashes.push(await sha256Hex(xb));
  }
  return { wave: normalizeLength(wave), hash: await sha256Hex(hashes.join('+')) };
}

export class SpeechSource {
  constructor(
    private readonly fs: TrainFs,
    readonly encoder: SpeechEncoder,
    readonly cache: SpeechCache,
    readonly batching: SpeechBatching = 'utterance',
  ) {}

  /** Reads and decodes the entry's audio (throws a FormatError naming the file when it cannot). */
  async probe(e: Annotation): Promise<ProbedEntry> {
    try {
      const { wave, hash } = await loadEntryAudio(this.fs, e);
      return { entry: e, hash, samples: wave.length };
    } catch (err) {
      if (err instanceof FormatError) throw err;
      throw new FormatError(e.path, (err as Error).message, { cause: err });
    }
  }

  private keyOf(p: ProbedEntry, padTo: number): string {
    return SpeechCache.key(p.hash, p.samples, padTo);
  }

  /**
   * Speech embeddings of a batch, cache first. The missing ones are computed in one encoder call; in
   * padded-batch mode a miss re-encodes the whole batch (each item's features depend on the batch's longest clip).
   */
  async embeds(items: ProbedEntry[]): Promise<SpeechEmbeds[]> {
    const longest = Math.max(...items.map((p) => p.samples));
    const padTo = items.map((p) => (this.batching === 'padded_batch' ? longest : p.samples));
    const out: (SpeechEmbeds | null)[] = await Promise.all(items.map((p, i) => this.cache.get(this.keyOf(p, padTo[i]))));
    let missing = out.map((e, i) => (e ? -1 : i)).filter((i) => i >= 0);
    if (missing.length && this.batching === 'padded_batch') missing = items.map((_, i) => i);
    if (missing.length) {
      const waves: Float64Array[] = [];
      for (const i of missing) {
        const { wave } = await loadEntryAudio(this.fs, items[i].entry);
        if (wave.length !== items[i].samples) throw new FormatError(items[i].entry.path, 'audio changed on disk during training');
        waves.push(wave);
      }
      const enc = await this.encoder.encode(waves, missing.map((i) => padTo[i]));
      for (let k = 0; k < missing.length; k++) {
        const i = missing[k];
        out[i] = enc[k];
        await this.cache.put(this.keyOf(items[i], padTo[i]), enc[k]);
      }
    }
    return out as SpeechEmbeds[];
  }
}
