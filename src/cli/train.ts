// `ahamask train -c config.yaml`: AHAMask training (train.py) with the original config schema.
import { open as fsOpen, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { AhamaskError } from '../errors.js';
import { parseTrainConfig, type TrainConfig } from '../io/config.js';
import { MemorySource } from '../io/bytes.js';
import { getDevice } from '../node/gpu.js';
import { checkOutputPath, readTextFile } from '../node/files.js';
import { Salmonn } from '../models/salmonn.js';
import type { LlmWeightFormat } from '../ops/quant.js';
import type { Target } from '../models/weights.js';
import '../index.js';
import '../autograd/index.js';
import { SpeechCache } from '../train/cache.js';
import { readTrainCheckpoint, type TrainCheckpoint } from '../train/checkpoint.js';
import { sha256Hex } from '../train/fs.js';
import { progressLine, type ProgressInfo } from '../train/log.js';
import { SalmonnSpeechEncoder, salmonnObjective } from '../train/salmonn.js';
import { SpeechSource, type SpeechBatching } from '../train/speech.js';
import { Trainer, checkTrainData, findResumeCheckpoint, type NoiseMode } from '../train/trainer.js';
import { nodeFileSystem } from '../node/load.js';
import { parseArgs, runCommand, UsageError, OPTIONS_FLAG, type CommandSpec, type FlagValues } from './args.js';
import { printLine, ProgressBar } from './progress.js';

const lineWidth = (): number => Math.max(40, Math.min(160, (process.stderr.columns ?? 161) - 1));
import { NodeTrainFs } from '../node/train-fs.js';

export const spec: CommandSpec = {
  name: 'train',
  summary: 'train an AHAMask',
  description: `AHAMask training (train.py) with the original configs/config.yaml schema; relative paths resolve against
the working directory, as train.py does. Outputs in output_dir: checkpoint_{epoch}.pth (epochs are numbered
from 0, as train.py's files), log.jsonl, mask_heatmap.svg.`,
  flags: [
    { name: 'cfg-path', aliases: ['-c', '--config'], value: 'FILE', help: 'AHAMask training config (configs/config.yaml schema)' },
    OPTIONS_FLAG,
    { name: 'resume', value: 'CKPT', optionalValue: true, help: 'continue from CKPT, or from the latest checkpoint in output_dir' },
    { name: 'init-mask', value: 'CKPT', help: "start from this mask ({'model': {'tensor'}}, e.g. a released one) instead of N(4, 0.02)" },
    { name: 'max-steps', value: 'N', int: true, help: 'stop after N global steps in total (writes checkpoint_latest.pth)' },
    { name: 'dump-dir', value: 'DIR', help: 'per step: weights_tensor_step{k}.npy, grad_step{k}.npy, mask_after_step{k+1}.npy, training.json' },
    { name: 'gumbel-noise-dir', value: 'DIR', help: 'replay the Exp(1) draws DIR/exp_noise_step{k}.npy ([batch, entries])' },
    { name: 'no-gumbel-noise', help: 'E = 1 (no Gumbel noise)' },
    { name: 'output-dir', value: 'DIR', help: 'instead of run.output_dir' },
    { name: 'speech-batching', value: 'MODE', choices: ['utterance', 'padded_batch'], help: "utterance (default: each clip encoded alone, cached once) or padded_batch (the official collater)" },
    { name: 'cache-dir', value: 'DIR', help: 'speech-embedding cache (default <output_dir>/speech_cache)' },
    { name: 'no-cache', help: 'speech-embedding cache in memory only' },
    { name: 'save-every', value: 'N', int: true, help: 'also write checkpoint_latest.pth every N steps' },
    { name: 'no-valid', help: 'skip the validation loss after each epoch' },
    { name: 'cpu', help: 'CPU reference backend (slow) instead of the GPU' },
    { name: 'llm-weights', value: 'FMT', choices: ['fp16', 'int8', 'q4'], help: "the LLM's linear weights: fp16, int8 (LLM.int8, as low_resource: True) or q4; overrides the config" },
    { name: 'quiet', aliases: ['-q'], help: 'no progress bar' },
  ],
};

export interface TrainArgs {
  config: string;
  overrides: string[];
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

/** Checks and converts parsed flags; throws UsageError. */
function trainArgs(f: FlagValues, rest: string[]): TrainArgs {
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (!f.cfgPath) throw new UsageError('missing -c config.yaml');
  const a: TrainArgs = {
    config: f.cfgPath as string,
    overrides: (f.options as string[] | undefined) ?? [],
    resume: f.resume !== undefined,
    resumePath: typeof f.resume === 'string' ? f.resume : undefined,
    initMask: f.initMask as string | undefined,
    maxSteps: f.maxSteps as number | undefined,
    dumpDir: f.dumpDir as string | undefined,
    noiseDir: f.gumbelNoiseDir as string | undefined,
    noNoise: !!f.noGumbelNoise,
    outputDir: f.outputDir as string | undefined,
    batching: (f.speechBatching as SpeechBatching | undefined) ?? 'utterance',
    cacheDir: f.cacheDir as string | undefined,
    noCache: !!f.noCache,
    saveEvery: (f.saveEvery as number | undefined) ?? 0,
    noValid: !!f.noValid,
    cpu: !!f.cpu,
    quiet: !!f.quiet,
    llmWeights: f.llmWeights as LlmWeightFormat | undefined,
  };
  if (a.noiseDir && a.noNoise) throw new UsageError('--gumbel-noise-dir and --no-gumbel-noise exclude each other');
  if (a.resume && a.initMask) throw new UsageError('--resume and --init-mask exclude each other');
  return a;
}

/** The parsed arguments, '' for --help, or a usage error message. */
export function parseTrainArgs(argv: string[]): TrainArgs | string {
  try {
    const p = parseArgs(spec, argv);
    if (p.help) return '';
    return trainArgs(p.flags, p.rest);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
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

export function run(argv: string[]): Promise<number> {
  return runCommand(spec, argv, async ({ flags, rest }) => train(trainArgs(flags, rest)));
}

async function train(args: TrainArgs): Promise<number> {
  const cwd = process.cwd();
  const cfgFile = resolve(cwd, args.config);
  const cfg: TrainConfig = parseTrainConfig(await readTextFile(cfgFile), { file: args.config, cwd, overrides: args.overrides });
  const outDir = args.outputDir ? resolve(cwd, args.outputDir) : cfg.run.output_dir;
  await checkOutputPath(outDir, 'dir');
  const tfs = new NodeTrainFs();
  // every line goes through printLine(): a progress line on screen is erased first, never overwritten halfway
  let barOnScreen = false;
  const clearBar = (): void => {
    if (barOnScreen) process.stderr.write(`\r${' '.repeat(lineWidth())}\r`);
    barOnScreen = false;
  };
  const info = (m: string): void => {
    clearBar();
    printLine(m);
  };
  const warn = (m: string): void => info(`warning: ${m}`);

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
    onProgress: (p) => {
      if (p.status === 'progress') bar?.update(p.overall, 100, p.stage ?? '');
    },
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
        process.stderr.write(`\r${line.slice(0, lineWidth()).padEnd(lineWidth())}`);
        barOnScreen = true;
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
    onProgress, info, warn,
  });
  try {
    const r = await trainer.run();
    clearBar();
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
