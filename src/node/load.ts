// Node loading helpers: the file system as a Directory, and SALMONN from a decode config on disk. Drawing
// (progress bars) is the CLI's business: these report through callbacks only.
import { stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { ByteSource, Directory } from '../io/bytes.js';
import { parseDecodeConfig, type DecodeConfig } from '../io/config.js';
import type { ProgressCallback } from '../io/directories.js';
import { Salmonn, type MaskSpec } from '../models/salmonn.js';
import { setPretrainedPlatform } from '../models/pretrained.js';
import type { Target, WeightDType } from '../models/weights.js';
import type { LlmWeightFormat } from '../ops/quant.js';
import { openFile, readTextFile } from './files.js';
import { getDevice } from './gpu.js';

/**
 * A Directory over the file system: absolute paths as they are, relative ones against `cwd` ('..' allowed: the
 * original configs point anywhere). `openDirectory()` (src/node/files.ts) is the strict variant that refuses
 * paths outside its folder.
 */
export function nodeFileSystem(cwd: string): Directory {
  const p = (x: string): string => (isAbsolute(x) ? x : join(cwd, x));
  return {
    name: cwd,
    open: (x: string): Promise<ByteSource> => openFile(p(x)),
    exists: async (x: string): Promise<boolean> => {
      try {
        return (await stat(p(x))).isFile();
      } catch {
        return false;
      }
    },
  };
}

export interface LoadFromConfigOptions {
  /** Where the weights go: 'cpu', a Device, or (default) the process-wide GPU device. */
  target?: Target;
  /** Weight precision policy (default 'keep': checkpoint precision). */
  dtype?: WeightDType;
  /** Progress events (transformers.js shape), ending with `ready` at 100 %. Nothing is drawn unless you draw it. */
  onProgress?: ProgressCallback;
  /** Stops loading; weights placed so far are released. */
  signal?: AbortSignal;
  /**
   * The folder relative paths in the config resolve against. Default: the current directory, like
   * evaluate.py/train.py (use `fromPretrained` for config-relative paths).
   */
  cwd?: string;
  /** Overrides the config's mask (null: none). */
  mask?: MaskSpec | null;
  /** LAVIS-style `key.path=value` overrides applied to the YAML before it is read. */
  overrides?: string[];
  /** The LLM's linear weights: fp16, int8 or q4 (default: the config's `model.llm_weight_format`, else int8 when `low_resource`). */
  llmWeights?: LlmWeightFormat;
  /** Runs after the config is read and before any weight is loaded (checks that should fail fast: an output path). */
  beforeLoad?: (cfg: DecodeConfig) => void | Promise<void>;
  warn?: (message: string) => void;
}

/** Reads a decode config (relative paths against `cwd`, default the current directory) and loads SALMONN. */
export async function loadFromConfig(configPath: string, opts: LoadFromConfigOptions = {}): Promise<{ cfg: DecodeConfig; model: Salmonn; cwd: string; fs: Directory }> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const file = resolve(cwd, configPath);
  const cfg = parseDecodeConfig(await readTextFile(file), { file: configPath, cwd, warn: opts.warn, overrides: opts.overrides });
  await opts.beforeLoad?.(cfg);
  const fs = nodeFileSystem(cwd);
  const target: Target = opts.target ?? (await getDevice());
  const model = await Salmonn.load({
    model: cfg.model, fs, target, probThreshold: cfg.prob_threshold, cwd, mask: opts.mask, weightDType: opts.dtype,
    llmWeights: opts.llmWeights, onProgress: opts.onProgress, signal: opts.signal, warn: opts.warn,
  });
  model.decodeConfig = cfg;
  return { cfg, model, cwd, fs };
}

// Salmonn.fromPretrained(path) in Node: a folder or a config file on disk; the default target is the Dawn GPU.
setPretrainedPlatform({
  async openPath(path: string) {
    const abs = resolve(path);
    let st;
    try {
      st = await stat(abs);
    } catch {
      return null;
    }
    if (st.isDirectory()) return { dir: nodeFileSystem(abs), label: abs };
    return { dir: nodeFileSystem(dirname(abs)), config: basename(abs), label: dirname(abs) };
  },
  defaultTarget: () => getDevice(),
});
