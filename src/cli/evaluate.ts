// `ahamask evaluate -c decode_config.yaml [--dump-dir DIR] [--cpu]`: AHAMask evaluate.py in TypeScript.
// Writes output_path as {"prompt": ..., "prediction": [{"id", "ground_truth", "output"}]} (json.dump indent=4,
// ensure_ascii=False). A missing or corrupt audio file: its output names the error, the rest continues, and the
// exit code is 1 at the end.
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { AhamaskError, FormatError } from '../errors.js';
import type { ByteSource, Directory } from '../io/bytes.js';
import { parseDecodeConfig, resolvePath, type DecodeConfig } from '../io/config.js';
import { TARGET_SAMPLE_RATE, decodeAudio, loadAudio, normalizeLength, resample } from '../io/audio.js';
import { encodeNpy } from '../io/npy.js';
import { generateOptionsFromConfig } from '../models/generate.js';
import { QuantizedWeight, parseLlmWeightFormat, type LlmWeightFormat } from '../ops/quant.js';
import { Salmonn, checkGenerateConfig, type LoadProgress, type StageName } from '../models/salmonn.js';
import { parseAnnotations } from '../train/data.js';
import { checkOutputPath, openFile, readFileBytes, readTextFile, writeFileAtomic } from '../node/files.js';
import { getDevice } from '../node/gpu.js';
import type { Target } from '../models/weights.js';
import type { Tensor } from '../tensor/tensor.js';
import '../index.js';

const USAGE = `usage: ahamask evaluate -c decode_config.yaml [--dump-dir DIR] [--cpu] [--llm-weights fp16|int8|q4]

Runs SALMONN (+ the AHAMask of model.weight_mask_path) over test_data_path and writes output_path as
{"prompt": ..., "prediction": [{"id", "ground_truth", "output"}]}, like AHAMask's evaluate.py.
Relative paths in the config are resolved against the current directory.

  -c, --cfg-path FILE  the decode config (YAML)
  --dump-dir DIR       write each item's intermediate arrays to DIR/<index>/<name>.npy
  --cpu                run on the CPU reference backend (slow) instead of the GPU
  --llm-weights FMT    fp16, int8 (LLM.int8, as low_resource: True) or q4 (4-bit groups): overrides the config`;

/** A Directory over the file system: absolute paths as they are, relative ones against `cwd`. */
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

/** A one-line progress bar on stderr (redrawn in place on a TTY, a few plain lines otherwise). */
export class ProgressBar {
  private last = -1;
  private lastTime = 0;
  constructor(readonly label: string, readonly stream: NodeJS.WriteStream = process.stderr) {}
  update(done: number, total: number, note = ''): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const pct = Math.floor(frac * 100);
    const now = Date.now();
    if (this.stream.isTTY) {
      if (pct === this.last && now - this.lastTime < 200) return;
      const w = 30, fill = Math.round(frac * w);
      this.stream.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${String(pct).padStart(3)}% ${note}`.padEnd(100).slice(0, 100));
      this.last = pct;
      this.lastTime = now;
      return;
    }
    const bucket = Math.floor(pct / 25);
    if (bucket === this.last) return;
    this.last = bucket;
    this.stream.write(`${this.label}: ${pct}% ${note}\n`);
  }
  done(note = ''): void {
    if (this.stream.isTTY) this.stream.write(`\r${`${this.label} [${'#'.repeat(30)}] 100% ${note}`.padEnd(100).slice(0, 100)}\n`);
    else this.stream.write(`${this.label}: done ${note}\n`);
  }
}

export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export interface CommonArgs {
  config?: string;
  dumpDir?: string;
  cpu: boolean;
  /** --llm-weights fp16|int8|q4 (overrides model.llm_weight_format / low_resource). */
  llmWeights?: LlmWeightFormat;
  rest: string[];
}

export function parseCommonArgs(argv: string[], allowDump: boolean): CommonArgs | string {
  const a: CommonArgs = { cpu: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '-c' || s === '--cfg-path' || s === '--config') {
      const v = argv[++i];
      if (!v) return `${s} needs a file`;
      a.config = v;
    } else if (allowDump && s === '--dump-dir') {
      const v = argv[++i];
      if (!v) return '--dump-dir needs a directory';
      a.dumpDir = v;
    } else if (s === '--llm-weights') {
      const v = parseLlmWeightFormat(argv[++i]);
      if (!v) return `--llm-weights must be fp16, int8 or q4, got '${argv[i] ?? ''}'`;
      a.llmWeights = v;
    } else if (s === '--cpu') a.cpu = true;
    else if (s === '-h' || s === '--help') return '';
    else if (s.startsWith('-')) return `unknown option ${s}`;
    else a.rest.push(s);
  }
  if (!a.config) return 'missing -c decode_config.yaml';
  return a;
}

/** Reads the decode config (relative paths against the current directory) and loads SALMONN with progress. */
export async function loadFromConfig(configPath: string, cpu: boolean, rows: 'batch_size_eval' | 1 = 1, llmWeights?: LlmWeightFormat): Promise<{ cfg: DecodeConfig; model: Salmonn; cwd: string; fs: Directory }> {
  const cwd = process.cwd();
  const file = resolve(cwd, configPath);
  const cfg = parseDecodeConfig(await readTextFile(file), { file: configPath, cwd });
  if (rows !== 1) await checkOutputPath(cfg.output_path, 'file');
  const fs = nodeFileSystem(cwd);
  const target: Target = cpu ? 'cpu' : await getDevice();
  const bar = new ProgressBar('loading');
  const model = await Salmonn.load({
    model: cfg.model, fs, target, probThreshold: cfg.prob_threshold, cwd, llmWeights,
    onProgress: (p: LoadProgress) => {
      if (p.total > 0) bar.update(p.done, p.total, p.stage);
    },
  });
  bar.done(`${formatBytes(totalBytes(model))} of weights on ${cpu ? 'the CPU' : 'the GPU'}`);
  try {
    checkGenerateConfig(model, cfg.generate, rows === 1 ? 1 : cfg.batch_size_eval, cfg.prompt);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { cfg, model, cwd, fs };
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

export async function run(argv: string[]): Promise<number> {
  const args = parseCommonArgs(argv, true);
  if (typeof args === 'string') {
    if (args) console.error(`ahamask evaluate: ${args}\n`);
    console.error(USAGE);
    return args ? 2 : 0;
  }
  const { cfg, model, cwd } = await loadFromConfig(args.config!, args.cpu, 'batch_size_eval', args.llmWeights);
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
    const dumpDir = args.dumpDir ? resolve(cwd, args.dumpDir) : null;
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
          console.error(`ahamask evaluate: item ${it.index} (${it.a.path}): ${msg}`);
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
