// `ahamask evaluate -c decode_config.yaml [--dump-dir DIR] [--cpu] [--llm-weights fp16|int8|q4]`: AHAMask evaluate.py in TypeScript.
// Writes output_path as {"prompt": ..., "prediction": [{"id", "ground_truth", "output"}]} (json.dump indent=4,
// ensure_ascii=False). A missing or corrupt audio file: its output names the error, the rest continues, and the
// exit code is 1 at the end.
import { join, resolve } from 'node:path';
import { AhamaskError, FormatError } from '../errors.js';
import { resolvePath } from '../io/config.js';
import { TARGET_SAMPLE_RATE, decodeAudio, loadAudio, normalizeLength, resample } from '../io/audio.js';
import { encodeNpy } from '../io/npy.js';
import { generateOptionsFromConfig } from '../models/generate.js';
import { QuantizedWeight, type LlmWeightFormat } from '../ops/quant.js';
import { checkGenerateConfig, type Salmonn, type StageName } from '../models/salmonn.js';
import { parseAnnotations } from '../train/data.js';
import { checkOutputPath, readFileBytes, readTextFile, writeFileAtomic } from '../node/files.js';
import { getDevice } from '../node/gpu.js';
import { loadFromConfig as loadModel, type LoadFromConfigOptions } from '../node/load.js';
import type { DecodeConfig } from '../io/config.js';
import type { Directory } from '../io/bytes.js';
import type { Tensor } from '../tensor/tensor.js';
import { OPTIONS_FLAG, runCommand, UsageError, type CommandSpec, type Flag } from './args.js';
import { formatBytes, printLine, ProgressBar } from './progress.js';
import '../index.js';

// moved to src/node/load.ts and src/cli/progress.ts; re-exported for older imports (bench/)
export { nodeFileSystem } from '../node/load.js';
export { ProgressBar, formatBytes } from './progress.js';

/** Flags shared by the commands that read a decode config (evaluate, cli). */
export const DECODE_FLAGS: Flag[] = [
  { name: 'cfg-path', aliases: ['-c', '--config'], value: 'FILE', help: 'the decode config (YAML; the AHAMask/SALMONN decode_config.yaml schema)' },
  OPTIONS_FLAG,
  { name: 'cpu', help: 'run on the CPU reference backend (slow) instead of the GPU' },
  { name: 'llm-weights', value: 'FMT', choices: ['fp16', 'int8', 'q4'], help: "the LLM's linear weights: fp16, int8 (LLM.int8, as low_resource: True) or q4 (4-bit groups); overrides the config" },
];

export const spec: CommandSpec = {
  name: 'evaluate',
  summary: 'SALMONN + AHAMask over a data set',
  description: `Runs SALMONN (+ the AHAMask of model.weight_mask_path) over test_data_path and writes output_path as
{"prompt": ..., "prediction": [{"id", "ground_truth", "output"}]}, like AHAMask's evaluate.py. Relative paths
in the config resolve against the current directory. A missing or corrupt audio item is reported, its output
names the error, and the exit status is 1 at the end.`,
  flags: [...DECODE_FLAGS, { name: 'dump-dir', value: 'DIR', help: "write each item's intermediate arrays to DIR/<index>/<name>.npy" }],
};

/**
 * Loads SALMONN for a CLI command: a progress bar on stderr, the weights' size when done. `rows`
 * 'batch_size_eval' (evaluate) checks output_path before loading; the generate: section is checked against the
 * device's memory after loading (rows per generate call: batch_size_eval or 1).
 */
export async function loadFromConfig(configPath: string, opts: { cpu: boolean; overrides?: string[]; llmWeights?: LlmWeightFormat; rows?: 'batch_size_eval' | 1 }): Promise<{ cfg: DecodeConfig; model: Salmonn; cwd: string; fs: Directory }> {
  const bar = new ProgressBar('loading');
  const o: LoadFromConfigOptions = {
    target: opts.cpu ? 'cpu' : await getDevice(),
    overrides: opts.overrides,
    llmWeights: opts.llmWeights,
    beforeLoad: opts.rows === 'batch_size_eval' ? (cfg) => checkOutputPath(cfg.output_path, 'file') : undefined,
    warn: (m) => printLine(`warning: ${m}`),
    onProgress: (p) => {
      if (p.status === 'progress') bar.update(p.overall, 100, p.stage ?? '');
    },
  };
  const r = await loadModel(configPath, o);
  bar.done(`${formatBytes(totalBytes(r.model))} of weights on ${opts.cpu ? 'the CPU' : 'the GPU'}`);
  try {
    checkGenerateConfig(r.model, r.cfg.generate, opts.rows === 'batch_size_eval' ? r.cfg.batch_size_eval : 1, r.cfg.prompt);
  } catch (e) {
    r.model.dispose();
    throw e;
  }
  return r;
}

function totalBytes(m: Salmonn): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (v instanceof QuantizedWeight) n += v.bytes;
    else if (v && typeof v === 'object' && 'storage' in (v as object) && 'shape' in (v as object)) {
      const t = v as Tensor;
      n += t.size * (t.dtype === 'f16' ? 2 : 4);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(walk);
  };
  walk([m.whisper.p, m.beats?.p, m.qformer.p, m.p, { ...m.llama.p, lmHead: m.llama.p.lmHead === m.llama.p.embed ? null : m.llama.p.lmHead }]);
  return n;
}

/** The decode-config flags of evaluate/cli as plain values. */
export interface DecodeArgs {
  config: string;
  cpu: boolean;
  overrides: string[];
  /** --llm-weights fp16|int8|q4 (overrides model.llm_weight_format / low_resource). */
  llmWeights?: LlmWeightFormat;
}

export function decodeArgs(f: Record<string, unknown>, rest: string[], allowRest = false): DecodeArgs {
  if (!f.cfgPath) throw new UsageError('missing -c decode_config.yaml');
  if (rest.length && !allowRest) throw new UsageError(`unexpected argument '${rest[0]}'`);
  return { config: f.cfgPath as string, cpu: !!f.cpu, overrides: (f.options as string[] | undefined) ?? [], llmWeights: f.llmWeights as LlmWeightFormat | undefined };
}

interface Annotation {
  path: string;
  text: string;
  task?: string;
  Q?: string;
  expand_wav?: string[];
}

/** The annotation JSON, validated by the training data parser (paths kept as written: `path` is the output id). */
export async function readAnnotations(path: string): Promise<Annotation[]> {
  return parseAnnotations(await readTextFile(path), path).map((a) => ({ path: a.id, text: a.text, task: a.task, Q: a.Q, expand_wav: a.expandWav }));
}

/**
 * dataset.py: the waveform (16 kHz, channel 0), then each expand_wav clip (channel 0, not resampled) after 1600
 * zero samples, then pad to 1 s / cut to 30 s.
 */
export async function loadItemAudio(cwd: string, a: Annotation): Promise<Float32Array> {
  const p = resolvePath(cwd, a.path);
  if (!a.expand_wav?.length) return loadAudio(await readFileBytes(p), a.path);
  const main = await decodeAudio(await readFileBytes(p), a.path, { firstChannelOnly: true });
  const parts: ArrayLike<number>[] = [main.sampleRate === TARGET_SAMPLE_RATE ? main.channels[0] : resample(main.channels[0], main.sampleRate, TARGET_SAMPLE_RATE)];
  for (const e of a.expand_wav) {
    parts.push(new Float64Array(1600));
    parts.push((await decodeAudio(await readFileBytes(resolvePath(cwd, e)), e, { firstChannelOnly: true })).channels[0]);
  }
  const all = new Float64Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) {
    all.set(x, o);
    o += x.length;
  }
  return Float32Array.from(normalizeLength(all));
}

/** Python json.dumps(indent=4, ensure_ascii=False). */
export function pyJsonDump(v: unknown): string {
  return JSON.stringify(v, null, 4);
}

export function run(argv: string[]): Promise<number> {
  return runCommand(spec, argv, async ({ flags, rest }) => evaluate(decodeArgs(flags, rest), flags.dumpDir as string | undefined));
}

async function evaluate(args: DecodeArgs, dumpDirArg?: string): Promise<number> {
  const { cfg, model, cwd } = await loadFromConfig(args.config, { ...args, rows: 'batch_size_eval' });
  try {
    if (!cfg.test_data_path) throw new AhamaskError(`${cfg.file}: test_data_path is not set`);
    const items = await readAnnotations(cfg.test_data_path);
    const pct = model.maskPercentOn();
    if (pct !== null) console.log(`${pct.toFixed(4)}% of attention heads will be activated`);
    const gen = generateOptionsFromConfig(cfg.generate);
    const predictions: Array<{ id: string; ground_truth: string; output: string }> = [];
    let failures = 0;
    const bs = Math.max(1, cfg.batch_size_eval);
    const bar = new ProgressBar('evaluating');
    const dumpDir = dumpDirArg ? resolve(cwd, dumpDirArg) : null;
    for (let start = 0; start < items.length; start += bs) {
      const batch = items.slice(start, start + bs).map((a, j) => ({ a, index: start + j }));
      const outputs = new Map<number, string>();
      const ok: Array<{ a: Annotation; index: number; wav: Float32Array }> = [];
      for (const it of batch) {
        try {
          ok.push({ ...it, wav: await loadItemAudio(cwd, it.a) });
        } catch (e) {
          failures++;
          const msg = e instanceof Error ? e.message : String(e);
          outputs.set(it.index, `ERROR: ${msg}`);
          printLine(`ahamask evaluate: item ${it.index} (${it.a.path}): ${msg}`);
        }
      }
      if (ok.length) {
        const dump = dumpDir ? dumper(dumpDir, ok.map((x) => x.index)) : undefined;
        if (dump) for (let j = 0; j < ok.length; j++) await dump.write(j, 'waveform', ok[j].wav, [ok[j].wav.length]);
        const r = await model.generate({ wavs: ok.map((x) => x.wav) }, { prompt: cfg.prompt, generate: gen, onStage: dump?.hook });
        ok.forEach((x, j) => outputs.set(x.index, r.outputs[j]));
      }
      for (const it of batch) predictions.push({ id: it.a.path, ground_truth: it.a.text ?? '', output: outputs.get(it.index) ?? '' });
      bar.update(Math.min(items.length, start + bs), items.length, `${Math.min(items.length, start + bs)}/${items.length}`);
    }
    bar.done(`${items.length} item(s)`);
    await writeFileAtomic(cfg.output_path, pyJsonDump({ prompt: cfg.prompt, prediction: predictions }));
    console.log(`wrote ${cfg.output_path}`);
    if (failures) console.error(`ahamask evaluate: ${failures} item(s) failed`);
    return failures ? 1 : 0;
  } finally {
    model.dispose();
  }
}

/** Writes the --dump-dir arrays of one batch: DIR/<index>/<name>.npy with the batch dimension dropped. */
function dumper(dir: string, indices: number[]): { hook: (name: StageName, t: Tensor) => Promise<void>; write: (row: number, name: string, v: Float32Array, shape: number[]) => Promise<void> } {
  const write = async (row: number, name: string, v: Float32Array, shape: number[]): Promise<void> => {
    await writeFileAtomic(join(dir, String(indices[row]), `${name}.npy`), encodeNpy(v, shape));
  };
  const hook = async (name: StageName, t: Tensor): Promise<void> => {
    const data = (await t.data()) as Float32Array;
    const [B, ...rest] = t.shape;
    const per = data.length / B;
    for (let b = 0; b < Math.min(B, indices.length); b++) await write(b, name, data.slice(b * per, (b + 1) * per), rest);
  };
  return { hook, write };
}
