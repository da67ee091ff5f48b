// Shared helpers for the SALMONN parity tests over ../shared/fixtures/tiny-salmonn (copied in test/shared).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNpy } from '../../src/io/npy.js';
import { parseDecodeConfig, type DecodeConfig } from '../../src/index.js';
import { Salmonn } from '../../src/index.js';
import { nodeFileSystem } from '../../src/node/index.js';
import type { Target } from '../../src/index.js';
import { FIXTURE } from '../helpers/paths.js';

export const EXP = join(FIXTURE, 'expected');
export const AUDIOS = ['chirp3s', 'speech_espeak'] as const;
export const ASR_PROMPT = 'Recognize the speech and give me the transcription.';

export function npy(rel: string): { data: Float32Array; shape: number[] } {
  const a = parseNpy(new Uint8Array(readFileSync(join(EXP, rel))), rel);
  return { data: Float32Array.from(a.data as ArrayLike<number>), shape: a.shape };
}

export function json(rel: string): any {
  return JSON.parse(readFileSync(join(EXP, rel), 'utf8'));
}

export function decodeConfig(name = 'decode_config.yaml', cwd = FIXTURE): DecodeConfig {
  return parseDecodeConfig(readFileSync(join(cwd, name), 'utf8'), { file: name, cwd });
}

export async function loadTiny(target: Target, opts: { llamaPath?: string; config?: string } = {}): Promise<{ model: Salmonn; cfg: DecodeConfig }> {
  const cfg = decodeConfig(opts.config);
  const model = { ...cfg.model };
  if (opts.llamaPath) model.llama_path = join(FIXTURE, opts.llamaPath);
  const s = await Salmonn.load({ model, fs: nodeFileSystem(FIXTURE), target, cwd: FIXTURE, probThreshold: cfg.prob_threshold, warn: () => {} });
  return { model: s, cfg };
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Records the max error of each comparison (printed at the end of a file for the report). */
export const errors: Record<string, number> = {};
export function close(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number): number {
  const e = maxAbs(actual, expected);
  errors[what] = Math.max(errors[what] ?? 0, e);
  if (!(e <= atol)) throw new Error(`${what}: max |diff| ${e} > atol ${atol}`);
  return e;
}
export function argmax(x: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}
