// Messages between the page (main.ts) and the engine worker (worker.ts).
import type { FileProgress } from './model-dir.js';
import type { RunOptions, TrainOptions, TrainStep } from './engine.js';

export type Backend = 'auto' | 'cpu' | 'webgpu';

export type ModelSource =
  | { kind: 'url'; base: string; cache: boolean }
  | { kind: 'files'; name: string; entries: { path: string; file: File }[] };

export type Request = { id: number } & (
  | { t: 'init'; backend: Backend }
  | { t: 'load'; backend: Backend; source: ModelSource; config: string }
  | { t: 'run'; opts: RunOptions }
  | { t: 'train'; opts: TrainOptions }
  | { t: 'readMask'; path: string }
  | { t: 'readMaskBytes'; bytes: Uint8Array; name: string }
  | { t: 'encodeMask'; logits: Float32Array }
  | { t: 'readFile'; path: string }
);

export interface DeviceInfo {
  backend: 'webgpu' | 'cpu';
  adapter?: string;
  features?: string[];
  f16?: boolean;
  subgroups?: boolean;
  maxBufferMiB?: number;
  /** Why the CPU backend is used. */
  message?: string;
}

export type WorkerEvent =
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: string }
  | { t: 'file'; p: FileProgress }
  /** Weight placement: bytes so far / in total, or (newer library) one file's bytes and an overall percentage. */
  | { t: 'stage'; stage: string; done: number; total: number; overall?: number; file?: string }
  | { t: 'text'; id: number; text: string }
  | { t: 'step'; id: number; s: TrainStep };
