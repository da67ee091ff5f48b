// `ahamask train -c config.yaml`: AHAMask training (train.py) with the original config schema.
import { open as fsOpen, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { AhamaskError } from '../errors.js';
import { parseTrainConfig, type TrainConfig } from '../io/config.js';
import { MemorySource } from '../io/bytes.js';
import { getDevice } from '../node/gpu.js';
import { checkOutputPath, readTextFile } from '../node/files.js';
import { Salmonn } from '../models/salmonn.js';
import { parseLlmWeightFormat, type LlmWeightFormat } from '../ops/quant.js';
import type { Target } from '../models/weights.js';
import '../autograd/index.js';
import { SpeechCache } from '../train/cache.js';
import { readTrainCheckpoint, type TrainCheckpoint } from '../train/checkpoint.js';
import { sha256Hex } from '../train/fs.js';
import { progressLine, type ProgressInfo } from '../train/log.js';
import { SalmonnSpeechEncoder, salmonnObjective } from '../train/salmonn.js';
import { SpeechSource, type SpeechBatching } from '../train/speech.js';
import { Trainer, checkTrainData, findResumeCheckpoint, type NoiseMode } from '../train/trainer.js';
import { nodeFileSystem, ProgressBar } from './evaluate.js';
import { NodeTrainFs } from './train-fs.js';

const USAGE = `usage: ahamask train -c config.yaml [options]

  -c, --config FILE        AHAMask training config (configs/config.yaml schema); relative paths resolve
                           against the working directory, as train.py does
  --resume [CKPT]          continue from CKPT, or from the latest checkpoint in output_dir
  --init-mask CKPT         start from this mask ({'model': {'tensor'}}, e.g. a released one) instead of N(4, 0.02)
  --max-steps N            stop after N global steps in total (writes checkpoint_latest.pth)
  --dump-dir DIR           per step: weights_tensor_step{k}.npy, grad_step{k}.npy, mask_after_step{k+1}.npy, training.json
  --gumbel-noise-dir DIR   replay the Exp(1) draws DIR/exp_noise_step{k}.npy ([batch, entries])
  --no-gumbel-noise        E = 1 (no Gumbel noise)
  --output-dir DIR         instead of run.output_dir
  --speech-batching MODE   utterance (default: each utterance encoded alone, cached once) or padded_batch
                           (the official collater: audio zero-padded to the batch's longest clip)
  --cache-dir DIR          speech-embedding cache (default <output_dir>/speech_cache); --no-cache: memory only
  --save-every N           also write checkpoint_latest.pth every N steps
  --no-valid               skip the validation loss after each epoch
  --cpu                    CPU reference backend (slow) instead of the GPU
  --llm-weights FMT        fp16, int8 (LLM.int8, as low_resource: True) or q4: overrides the config
  -q, --quiet              no progress bar`;

export interface TrainArgs {
  config: string;
  resume: boolean;
  resumePath?: string;
  initMask?: string;
  maxSteps?: number;
  dumpDir?: string;
  noiseDir?: string;
  noNoise: boolean;
  outputDir?: string;
  batching: SpeechBatching;
  cacheDir?: string;
  noCache: boolean;
  saveEvery: number;
  noValid: boolean;
  cpu: boolean;
  quiet: boolean;
  llmWeights?: LlmWeightFormat;
}

export function parseTrainArgs(argv: string[]): TrainArgs | string {
  const a: Partial<TrainArgs> = { resume: false, noNoise: false, batching: 'utterance', noCache: false, saveEvery: 0, noValid: false, cpu: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new AhamaskError(`${s} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = val();
      if (!/^\d+$/.test(v)) throw new AhamaskError(`${s} needs a non-negative integer, got '${v}'`);
      return Number(v);
    };
    try {
      if (s === '-c' || s === '--config' || s === '--cfg-path') a.config = val();
      else if (s === '--resume') {
        a.resume = true;
        if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('-')) a.resumePath = argv[++i];
      } else if (s === '--init-mask') a.initMask = val();
      else if (s === '--max-steps') a.maxSteps = int();
      else if (s === '--dump-dir') a.dumpDir = val();
      else if (s === '--gumbel-noise-dir') a.noiseDir = val();
      else if (s === '--no-gumbel-noise') a.noNoise = true;
      else if (s === '--output-dir') a.outputDir = val();
      else if (s === '--speech-batching') {
        const v = val();
        if (v !== 'utterance' && v !== 'padded_batch') return `--speech-batching must be utterance or padded_batch, got '${v}'`;
        a.batching = v;
      } else if (s === '--cache-dir') a.cacheDir = val();
      else if (s === '--no-cache') a.noCache = true;
      else if (s === '--save-every') a.saveEvery = int();
      else if (s === '--no-valid') a.noValid = true;
      else if (s === '--cpu') a.cpu = true;
      else if (s === '--llm-weights') {
        const v = val();
        const f = parseLlmWeightFormat(v);
        if (!f) return `--llm-weights must be fp16, int8 or q4, got '${v}'`;
        a.llmWeights = f;
      } else if (s === '-q' || s === '--quiet') a.quiet = true;
      else if (s === '-h' || s === '--help') return '';
      else return `unknown option '${s}'`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!a.config) return 'missing -c config.yaml';
  if (a.noiseDir && a.noNoise) return '--gumbel-noise-dir and --no-gumbel-noise exclude each other';
  if (a.resume && a.initMask) return '--resume and --init-mask exclude each other';
  return a as TrainArgs;
}

/** A cheap fingerprint of a checkpoint file or folder: names, sizes and sha256 of the first and last MiB of each file. */
export async function fingerprint(path: string): Promise<string> {
  if (!path) return '-';
  let files: string[] = [path];
  try {
    if ((await stat(path)).isDirectory()) files = (await readdir(path)).sort().map((f) => join(path, f));
  } catch {
    return `${path}: missing`;
  }
  const parts: string[] = [];
  for (const f of files) {
    const st = await stat(f);
    if (!st.isFile()) continue;
    const fh = await fsOpen(f, 'r');
    try {
      const n = Math.min(st.size, 1 << 20);
      const head = new Uint8Array(n), tail = new Uint8Array(n);
      await fh.read(head, 0, n, 0);
      await fh.read(tail, 0, n, st.size - n);
      parts.push(`${f.split('/').pop()}:${st.size}:${await sha256Hex(head)}:${await sha256Hex(tail)}`);
    } finally {
      await fh.close();
    }
  }
  return parts.join(',');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseTrainArgs(argv);
  if (typeof args === 'string') {
    if (args === '') {
      console.log(USAGE);
      return 0;
    }
    console.error(`ahamask train: ${args}\n\n${USAGE}`);
    return 2;
  }
  const cwd = process.cwd();
  const cfgFile = resolve(cwd, args.config);
  const cfg: TrainConfig = parseTrainConfig(await readTextFile(cfgFile), { file: args.config, cwd });
  const outDir = args.outputDir ? resolve(cwd, args.outputDir) : cfg.run.output_dir;
  await checkOutputPath(outDir, 'dir');
  const tfs = new NodeTrainFs();
  const info = (m: string): void => {
    process.stderr.write(`${m}\n`);
  };
  const warn = (m: string): void => void process.stderr.write(`warning: ${m}\n`);

  // data, prompts and the starting point, before loading anything heavy
  await checkTrainData(cfg, tfs, !args.noValid);
  let resume: TrainCheckpoint | null = null;
  let initLogits: Float32Array | null = null;
  if (args.resume) {
    if (args.resumePath) {
      const p = resolve(cwd, args.resumePath);
      resume = await readTrainCheckpoint(new MemorySource(await tfs.read(p), p));
      info(`resuming from ${p}`);
    } else {
      const r = await findResumeCheckpoint(tfs, outDir);
      if (!r) throw new AhamaskError(`--resume: no checkpoint with training state in ${outDir}`);
      resume = r.ckpt;
      info(`resuming from ${r.path}`);
    }
  } else if (args.initMask) {
    const p = resolve(cwd, args.initMask);
    initLogits = (await readTrainCheckpoint(new MemorySource(await tfs.read(p), p))).logits;
  }

  const target: Target = args.cpu ? 'cpu' : await getDevice();
  const bar = args.quiet ? null : new ProgressBar('loading');
  const model = await Salmonn.load({
    model: cfg.model, fs: nodeFileSystem(cwd), target, mask: null, cwd, warn, llmWeights: args.llmWeights,
    onProgress: (p) => bar?.update(p.done, p.total, p.stage),
  });
  bar?.done();
  const weightsId = [await fingerprint(cfg.model.whisper_path), await fingerprint(cfg.model.beats_path), await fingerprint(cfg.model.ckpt)].join('\n');
  const encoder = new SalmonnSpeechEncoder(model, weightsId);
  const cacheDir = args.noCache ? undefined : args.cacheDir ? resolve(cwd, args.cacheDir) : join(outDir, 'speech_cache');
  const cache = new SpeechCache({ modelId: encoder.id, fs: cacheDir ? tfs : undefined, dir: cacheDir, warn });
  const noise: NoiseMode = args.noNoise ? { kind: 'none' } : args.noiseDir ? { kind: 'replay', dir: isAbsolute(args.noiseDir) ? args.noiseDir : resolve(cwd, args.noiseDir) } : { kind: 'sample' };

  let lastDraw = 0;
  const tty = process.stderr.isTTY && !args.quiet;
  const onProgress = (p: ProgressInfo): void => {
    if (args.quiet) return;
    const line = progressLine(p);
    if (tty) {
      const now = Date.now();
      if (now - lastDraw > 100 || p.stepsLeft === 0) {
        process.stderr.write(`\r${line.padEnd(process.stderr.columns ? Math.min(process.stderr.columns - 1, 160) : 160).slice(0, (process.stderr.columns ?? 161) - 1)}`);
        lastDraw = now;
      }
    } else if (p.iter % Math.max(1, cfg.run.log_freq) === 0 || p.iter === p.itersPerEpoch || p.stepsLeft === 0) {
      process.stderr.write(`${line}\n`);
    }
  };
  const trainer = new Trainer({
    cfg, fs: tfs, outputDir: outDir, initLogits, resume,
    speech: new SpeechSource(tfs, encoder, cache, args.batching),
    objectives: [salmonnObjective(model, cfg.model)],
    maxSteps: args.maxSteps, dumpDir: args.dumpDir ? resolve(cwd, args.dumpDir) : null, noise,
    validate: !args.noValid, saveEverySteps: args.saveEvery,
    onProgress, info: (m) => info(tty ? `\r${m}` : m), warn,
  });
  try {
    const r = await trainer.run();
    if (tty) process.stderr.write('\n');
    const last = r.history[r.history.length - 1];
    const st = cache.stats;
    info(`done: ${r.globalStep} steps` + (last ? `, last loss ${last.loss.toFixed(5)}, ${last.heads_on}/${last.heads_total} heads on` : '') +
      `; speech cache: ${st.memoryHits + st.diskHits} hits, ${st.misses} computed`);
    if (r.checkpoints.length) info(`checkpoints: ${r.checkpoints.join(', ')}`);
    info(`heatmap: ${r.heatmapPath}; log: ${join(outDir, 'log.jsonl')}`);
    return 0;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
