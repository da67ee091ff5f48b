// Configs: the original YAML schemas (decode_config.yaml for evaluate/cli, config.yaml for train) with the
// original code's defaults, and typed readers for the model JSON configs (Whisper, BEATs cfg, LLaMA/Vicuna, BERT).
import { parseDocument, LineCounter, isMap, isScalar, type Document } from 'yaml';
import { FormatError } from '../errors.js';
import type { PyValue } from './pickle.js';

export type Warn = (message: string) => void;
const defaultWarn: Warn = (m) => console.warn(`warning: ${m}`);

// ---------------------------------------------------------------------------------------------------------
// Paths (no node:path here: src/io is browser-clean)

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p);
}

/** Joins `p` onto `cwd` the way Python's open() resolves a relative path against the working directory. */
export function resolvePath(cwd: string, p: string): string {
  if (p === '' || isAbsolutePath(p) || !cwd) return p;
  const parts = `${cwd.replace(/[\\/]+$/, '')}/${p}`.split(/[\\/]+/);
  const out: string[] = [];
  for (const s of parts) {
    if (s === '.' || (s === '' && out.length > 0)) continue;
    if (s !== '..') out.push(s);
    else if (out.length && out[out.length - 1] !== '..' && out[out.length - 1] !== '' && !/^[A-Za-z]:$/.test(out[out.length - 1])) out.pop();
    else if (!(out.length && (out[0] === '' || /^[A-Za-z]:$/.test(out[0])))) out.push('..'); // '..' above a relative cwd stays
  }
  return out.join('/') || '/';
}

// ---------------------------------------------------------------------------------------------------------
// YAML layer

interface Ctx {
  file: string;
  doc: Document;
  lc: LineCounter;
  warn: Warn;
}

/** Parses YAML 1.2 (core schema: `1e-6` is a number, `True` a bool). Syntax errors -> FormatError with the line. */
export function parseYaml(text: string, file: string): { value: unknown; doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.2', schema: 'core', lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const lp = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new FormatError(file, `YAML syntax error at line ${lp.line}, column ${lp.col}: ${msg}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new FormatError(file, `YAML error: ${(e as Error).message}`, { cause: e });
  }
  return { value, doc, lineCounter };
}

function lineOf(ctx: Ctx, path: string[]): string {
  const node = ctx.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  let range = node?.range;
  if (!range && path.length) {
    // a key whose value is missing/null: point at the parent map's pair
    const parent = ctx.doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === path[path.length - 1]);
      range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    }
  }
  return range ? `line ${ctx.lc.linePos(range[0]).line}: ` : '';
}

type Obj = Record<string, unknown>;

function section(ctx: Ctx, v: unknown, path: string[], required: boolean): Obj {
  if (v === undefined || v === null) {
    if (required) throw new FormatError(ctx.file, `missing required section '${path.join('.')}'`);
    return {};
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new FormatError(ctx.file, `${lineOf(ctx, path)}'${path.join('.') || '<root>'}' must be a mapping`);
  return v as Obj;
}

function warnUnknown(ctx: Ctx, obj: Obj, known: readonly string[], path: string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) ctx.warn(`${ctx.file}: ${lineOf(ctx, [...path, k])}unknown key '${[...path, k].join('.')}' (ignored)`);
  }
}

type Kind = 'num' | 'int' | 'bool' | 'str' | 'str?';
function get<T>(ctx: Ctx, obj: Obj, path: string[], kind: Kind, def?: T): T {
  const key = path[path.length - 1];
  const v = obj[key];
  const name = path.join('.');
  if (v === undefined || (v === null && kind !== 'str?')) {
    if (def === undefined) throw new FormatError(ctx.file, `${lineOf(ctx, path)}missing required key '${name}'`);
    return def;
  }
  const bad = (what: string): never => {
    throw new FormatError(ctx.file, `${lineOf(ctx, path)}'${name}' must be ${what}, got ${JSON.stringify(v)}`);
  };
  switch (kind) {
    case 'num': if (typeof v !== 'number') bad('a number'); break;
    case 'int': if (typeof v !== 'number' || !Number.isInteger(v)) bad('an integer'); break;
    case 'bool': if (typeof v !== 'boolean') bad('true or false'); break;
    case 'str': if (typeof v !== 'string') bad('a string'); break;
    case 'str?': if (v !== null && typeof v !== 'string') bad('a string or null'); break;
  }
  return v as T;
}

export interface YamlConfigOptions {
  /** File name for messages. */
  file: string;
  /** Working directory that relative paths are resolved against (the original scripts use the process cwd). */
  cwd?: string;
  warn?: Warn;
}

// ---------------------------------------------------------------------------------------------------------
// model: section (SALMONN.from_config defaults)

export interface SalmonnModelConfig {
  /** Resolved paths (relative ones joined onto `cwd`); '' means "not set" where the code allows it. */
  llama_path: string;
  whisper_path: string;
  beats_path: string;
  ckpt: string;
  speech_llama_proj_model: string;
  prompt_path: string;
  test_prompt_path: string;
  /** AHAMask mask checkpoint; null = original SALMONN (no mask). */
  weight_mask_path: string | null;
  freeze_whisper: boolean;
  freeze_beats: boolean;
  use_speech_Qformer: boolean;
  num_speech_query_token: number;
  freeze_speech_QFormer: boolean;
  window_level_Qformer: boolean;
  second_per_window: number;
  second_stride: number;
  freeze_speech_llama_proj: boolean;
  lora: boolean;
  lora_rank: number;
  lora_alpha: number;
  lora_dropout: number;
  multi_prompt: boolean;
  prompt_template: string;
  max_txt_len: number;
  end_sym: string;
  low_resource: boolean;
  device_8bit: number;
  autocast_dtype: 'float16' | 'bfloat16';
  norm_lambda: number;
  use_gumbel: boolean;
  gumbel_hard: boolean;
  shuffle_mask: boolean;
}

const MODEL_KEYS = [
  'llama_path', 'whisper_path', 'beats_path', 'ckpt', 'speech_llama_proj_model', 'prompt_path', 'test_prompt_path',
  'weight_mask_path', 'freeze_whisper', 'freeze_beats', 'use_speech_Qformer', 'num_speech_query_token',
  'freeze_speech_QFormer', 'window_level_Qformer', 'second_per_window', 'second_stride', 'freeze_speech_llama_proj',
  'lora', 'lora_rank', 'lora_alpha', 'lora_dropout', 'multi_prompt', 'prompt_template', 'max_txt_len', 'end_sym',
  'low_resource', 'device_8bit', 'autocast_dtype', 'norm_lambda', 'use_gumbel', 'gumbel_hard', 'shuffle_mask',
] as const;

function parseModel(ctx: Ctx, m: Obj, cwd: string): SalmonnModelConfig {
  const P = ['model'];
  warnUnknown(ctx, m, MODEL_KEYS, P);
  const g = <T>(k: string, kind: Kind, def?: T): T => get<T>(ctx, m, [...P, k], kind, def);
  const path = (k: string, def?: string): string => resolvePath(cwd, g<string>(k, 'str', def));
  const autocast = g<string>('autocast_dtype', 'str', 'float16');
  if (autocast !== 'float16' && autocast !== 'bfloat16') {
    throw new FormatError(ctx.file, `${lineOf(ctx, [...P, 'autocast_dtype'])}'model.autocast_dtype' must be "float16" or "bfloat16", got ${JSON.stringify(autocast)}`);
  }
  const wm = g<string | null>('weight_mask_path', 'str?', null);
  return {
    llama_path: path('llama_path'),
    whisper_path: path('whisper_path'),
    beats_path: path('beats_path', ''),
    ckpt: path('ckpt', ''),
    speech_llama_proj_model: path('speech_llama_proj_model', ''),
    prompt_path: path('prompt_path', ''),
    test_prompt_path: path('test_prompt_path', ''),
    weight_mask_path: wm === null || wm === '' ? null : resolvePath(cwd, wm),
    freeze_whisper: g('freeze_whisper', 'bool', true),
    freeze_beats: g('freeze_beats', 'bool', true),
    use_speech_Qformer: g('use_speech_Qformer', 'bool', true),
    num_speech_query_token: g('num_speech_query_token', 'int', 1),
    freeze_speech_QFormer: g('freeze_speech_QFormer', 'bool', false),
    window_level_Qformer: g('window_level_Qformer', 'bool', true),
    second_per_window: g('second_per_window', 'num', 0.333333),
    second_stride: g('second_stride', 'num', 0.333333),
    freeze_speech_llama_proj: g('freeze_speech_llama_proj', 'bool', false),
    lora: g('lora', 'bool', true),
    lora_rank: g('lora_rank', 'int', 8),
    lora_alpha: g('lora_alpha', 'num', 32),
    lora_dropout: g('lora_dropout', 'num', 0.1),
    multi_prompt: g('multi_prompt', 'bool', false),
    prompt_template: g('prompt_template', 'str', ''),
    max_txt_len: g('max_txt_len', 'int', 128),
    end_sym: g('end_sym', 'str', '</s>'),
    low_resource: g('low_resource', 'bool', false),
    device_8bit: g('device_8bit', 'int', 0),
    autocast_dtype: autocast,
    norm_lambda: g('norm_lambda', 'num', 1e-4),
    use_gumbel: g('use_gumbel', 'bool', true),
    gumbel_hard: g('gumbel_hard', 'bool', true),
    shuffle_mask: g('shuffle_mask', 'bool', false),
  };
}

// ---------------------------------------------------------------------------------------------------------
// generate: section (SALMONN.generate defaults)

export interface GenerateConfig {
  max_new_tokens: number;
  num_beams: number;
  do_sample: boolean;
  min_length: number;
  temperature: number;
  top_p: number;
  repetition_penalty: number;
  length_penalty: number;
}
const GENERATE_KEYS = ['max_new_tokens', 'num_beams', 'do_sample', 'min_length', 'temperature', 'top_p', 'repetition_penalty', 'length_penalty'] as const;

function parseGenerate(ctx: Ctx, o: Obj): GenerateConfig {
  const P = ['generate'];
  warnUnknown(ctx, o, GENERATE_KEYS, P);
  const g = <T>(k: string, kind: Kind, def: T): T => get<T>(ctx, o, [...P, k], kind, def);
  return {
    max_new_tokens: g('max_new_tokens', 'int', 200),
    num_beams: g('num_beams', 'int', 4),
    do_sample: g('do_sample', 'bool', false),
    min_length: g('min_length', 'int', 1),
    temperature: g('temperature', 'num', 1.0),
    top_p: g('top_p', 'num', 0.9),
    repetition_penalty: g('repetition_penalty', 'num', 1.0),
    length_penalty: g('length_penalty', 'num', 1.0),
  };
}

// ---------------------------------------------------------------------------------------------------------
// decode_config.yaml (evaluate.py / cli_inference.py)

export interface DecodeConfig {
  file: string;
  cwd: string;
  /** Test annotation JSON (resolved); null when absent (cli_inference does not need it). */
  test_data_path: string | null;
  /** evaluate.py output JSON (resolved); default 'tmp.json'. */
  output_path: string;
  /** Instruction text; '' with a mask. */
  prompt: string;
  /** Mask threshold on sigmoid(logit) (top-level `prob_threshold`, default 0.5). */
  prob_threshold: number;
  batch_size_eval: number;
  num_workers: number;
  model: SalmonnModelConfig;
  generate: GenerateConfig;
  /** The parsed YAML as is. */
  raw: unknown;
}

const DECODE_KEYS = ['batch_size_eval', 'num_workers', 'test_data_path', 'output_path', 'prompt', 'prob_threshold', 'model', 'generate'] as const;

function makeCtx(text: string, opts: YamlConfigOptions): { ctx: Ctx; root: Obj; raw: unknown } {
  const { value, doc, lineCounter } = parseYaml(text, opts.file);
  const ctx: Ctx = { file: opts.file, doc, lc: lineCounter, warn: opts.warn ?? defaultWarn };
  return { ctx, root: section(ctx, value, [], true), raw: value };
}

/** Parses an AHAMask/SALMONN `decode_config.yaml`. */
export function parseDecodeConfig(text: string, opts: YamlConfigOptions): DecodeConfig {
  const { ctx, root, raw } = makeCtx(text, opts);
  const cwd = opts.cwd ?? '';
  warnUnknown(ctx, root, DECODE_KEYS, []);
  const tdp = get<string | null>(ctx, root, ['test_data_path'], 'str?', null);
  return {
    file: opts.file,
    cwd,
    test_data_path: tdp === null ? null : resolvePath(cwd, tdp),
    output_path: resolvePath(cwd, get(ctx, root, ['output_path'], 'str', 'tmp.json')),
    prompt: get(ctx, root, ['prompt'], 'str', ''),
    prob_threshold: get(ctx, root, ['prob_threshold'], 'num', 0.5),
    batch_size_eval: get(ctx, root, ['batch_size_eval'], 'int', 4),
    num_workers: get(ctx, root, ['num_workers'], 'int', 0),
    model: parseModel(ctx, section(ctx, root.model, ['model'], true), cwd),
    generate: parseGenerate(ctx, section(ctx, root.generate, ['generate'], false)),
    raw,
  };
}

// ---------------------------------------------------------------------------------------------------------
// config.yaml (train.py)

export interface DatasetsConfig {
  train_ann_path: string;
  valid_ann_path: string;
  test_ann_path: string;
  whisper_path: string;
}

export interface OptimsConfig {
  max_epoch: number;
  warmup_steps: number;
  /** As written (-1 when absent: the scheduler then starts warm-up at init_lr). */
  warmup_start_lr: number;
  init_lr: number;
  min_lr: number;
  weight_decay: number;
  beta2: number;
}

export interface RunConfig {
  seed: number;
  output_dir: string;
  evaluate: boolean;
  log_freq: number;
  epoch_based: boolean;
  iters_per_epoch: number;
  accum_grad_iters: number;
  batch_size_train: number;
  batch_size_eval: number;
  num_workers: number;
  device: string;
  use_distributed: boolean;
  amp: boolean;
  world_size: number;
  dist_url: string;
  /** < 1: fraction of max_epoch * iters_per_epoch; >= 1: absolute step count. */
  tau_decay_steps: number;
  tau_temp_begin: number;
  tau_temp_end: number;
  norm_lambda: number;
  optims: OptimsConfig;
}

export interface TrainConfig {
  file: string;
  cwd: string;
  /** model.norm_lambda is overwritten with run.norm_lambda, as train.py does. */
  model: SalmonnModelConfig;
  datasets: DatasetsConfig;
  run: RunConfig;
  raw: unknown;
}

const RUN_KEYS = [
  'seed', 'output_dir', 'evaluate', 'log_freq', 'epoch_based', 'iters_per_epoch', 'accum_grad_iters', 'batch_size_train',
  'batch_size_eval', 'num_workers', 'device', 'use_distributed', 'amp', 'world_size', 'dist_url', 'tau_decay_steps',
  'tau_temp_begin', 'tau_temp_end', 'norm_lambda', 'optims', 'gpu', 'rank',
] as const;
const OPTIMS_KEYS = ['max_epoch', 'warmup_steps', 'warmup_start_lr', 'init_lr', 'min_lr', 'weight_decay', 'beta2'] as const;
const DATASETS_KEYS = ['train_ann_path', 'valid_ann_path', 'test_ann_path', 'whisper_path'] as const;

/** Parses an AHAMask training `config.yaml`. */
export function parseTrainConfig(text: string, opts: YamlConfigOptions): TrainConfig {
  const { ctx, root, raw } = makeCtx(text, opts);
  const cwd = opts.cwd ?? '';
  warnUnknown(ctx, root, ['model', 'datasets', 'run'], []);
  const model = parseModel(ctx, section(ctx, root.model, ['model'], true), cwd);
  const d = section(ctx, root.datasets, ['datasets'], true);
  warnUnknown(ctx, d, DATASETS_KEYS, ['datasets']);
  const dp = (k: string): string => resolvePath(cwd, get<string>(ctx, d, ['datasets', k], 'str'));
  const datasets: DatasetsConfig = {
    train_ann_path: dp('train_ann_path'), valid_ann_path: dp('valid_ann_path'), test_ann_path: dp('test_ann_path'), whisper_path: dp('whisper_path'),
  };
  const r = section(ctx, root.run, ['run'], true);
  warnUnknown(ctx, r, RUN_KEYS, ['run']);
  const g = <T>(k: string, kind: Kind, def?: T): T => get<T>(ctx, r, ['run', k], kind, def);
  const o = section(ctx, r.optims, ['run', 'optims'], true);
  warnUnknown(ctx, o, OPTIMS_KEYS, ['run', 'optims']);
  const go = <T>(k: string, kind: Kind, def?: T): T => get<T>(ctx, o, ['run', 'optims', k], kind, def);
  const batchTrain = g<number>('batch_size_train', 'int');
  const run: RunConfig = {
    seed: g('seed', 'int'),
    output_dir: resolvePath(cwd, g('output_dir', 'str')),
    evaluate: g('evaluate', 'bool', false),
    log_freq: g('log_freq', 'int', 5),
    epoch_based: g('epoch_based', 'bool', false),
    iters_per_epoch: g('iters_per_epoch', 'int'),
    accum_grad_iters: g('accum_grad_iters', 'int', 1),
    batch_size_train: batchTrain,
    batch_size_eval: g('batch_size_eval', 'int', batchTrain),
    num_workers: g('num_workers', 'int', 0),
    device: g('device', 'str', 'cuda'),
    use_distributed: g('use_distributed', 'bool', false),
    amp: g('amp', 'bool', false),
    world_size: g('world_size', 'int', 1),
    dist_url: g('dist_url', 'str', 'env://'),
    tau_decay_steps: g('tau_decay_steps', 'num'),
    tau_temp_begin: g('tau_temp_begin', 'num'),
    tau_temp_end: g('tau_temp_end', 'num'),
    norm_lambda: g('norm_lambda', 'num'),
    optims: {
      max_epoch: go('max_epoch', 'int'),
      warmup_steps: go('warmup_steps', 'int', 0),
      warmup_start_lr: go('warmup_start_lr', 'num', -1),
      init_lr: go('init_lr', 'num'),
      min_lr: go('min_lr', 'num'),
      weight_decay: go('weight_decay', 'num'),
      beta2: go('beta2', 'num', 0.999),
    },
  };
  model.norm_lambda = run.norm_lambda;
  return { file: opts.file, cwd, model, datasets, run, raw };
}

// ---------------------------------------------------------------------------------------------------------
// Model JSON configs

function asObject(src: unknown, file: string): Obj {
  let v = src;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch (e) {
      throw new FormatError(file, `not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  if (v instanceof Map) v = Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FormatError(file, 'config is not an object');
  return v as Obj;
}

function jget<T>(o: Obj, file: string, key: string, kind: 'num' | 'int' | 'bool' | 'str', def?: T): T {
  const v = o[key];
  if (v === undefined || v === null) {
    if (def === undefined) throw new FormatError(file, `missing required key '${key}'`);
    return def;
  }
  const ok = kind === 'num' ? typeof v === 'number' : kind === 'int' ? typeof v === 'number' && Number.isInteger(v) : kind === 'bool' ? typeof v === 'boolean' : typeof v === 'string';
  if (!ok) throw new FormatError(file, `'${key}' must be ${kind === 'num' ? 'a number' : kind === 'int' ? 'an integer' : kind === 'bool' ? 'a boolean' : 'a string'}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** HF WhisperConfig (only what the encoder needs). Defaults are transformers' WhisperConfig defaults. */
export interface WhisperConfig {
  d_model: number;
  encoder_layers: number;
  encoder_attention_heads: number;
  encoder_ffn_dim: number;
  num_mel_bins: number;
  max_source_positions: number;
  activation_function: string;
  scale_embedding: boolean;
}
export function parseWhisperConfig(json: unknown, file = 'whisper config.json'): WhisperConfig {
  const o = asObject(json, file);
  return {
    d_model: jget(o, file, 'd_model', 'int', 256),
    encoder_layers: jget(o, file, 'encoder_layers', 'int', 6),
    encoder_attention_heads: jget(o, file, 'encoder_attention_heads', 'int', 4),
    encoder_ffn_dim: jget(o, file, 'encoder_ffn_dim', 'int', 1536),
    num_mel_bins: jget(o, file, 'num_mel_bins', 'int', 80),
    max_source_positions: jget(o, file, 'max_source_positions', 'int', 1500),
    activation_function: jget(o, file, 'activation_function', 'str', 'gelu'),
    scale_embedding: jget(o, file, 'scale_embedding', 'bool', false),
  };
}

/**
 * The Whisper window from preprocessor_config.json as transformers' WhisperFeatureExtractor reads it: chunk_length
 * (default 30) x sampling_rate samples, // hop_length frames (the stored n_samples / nb_max_frames are recomputed
 * by HF, so a file whose stored values disagree is refused). The front-end is fixed (80 mels, n_fft 400, hop 160,
 * 16 kHz); other values are refused with the field named.
 */
export interface WhisperPreprocessorConfig {
  chunk_length: number;
  n_samples: number;
  nb_max_frames: number;
}
export function parseWhisperPreprocessorConfig(json: unknown, file = 'whisper preprocessor_config.json'): WhisperPreprocessorConfig {
  const o = asObject(json, file);
  const fixed: [string, number][] = [['sampling_rate', 16000], ['hop_length', 160], ['n_fft', 400], ['feature_size', 80]];
  for (const [k, want] of fixed) {
    const v = jget<number>(o, file, k, 'int', want);
    if (v !== want) throw new FormatError(file, `'${k}' is ${v}; only ${want} is supported (Whisper's front-end)`);
  }
  const chunk = jget<number>(o, file, 'chunk_length', 'int', 30);
  if (chunk < 1 || chunk > 30) throw new FormatError(file, `'chunk_length' must be 1..30 seconds, got ${chunk}`);
  const n_samples = chunk * 16000, nb_max_frames = Math.floor(n_samples / 160);
  const ns = jget<number>(o, file, 'n_samples', 'int', n_samples);
  if (ns !== n_samples) throw new FormatError(file, `'n_samples' is ${ns} but chunk_length ${chunk} x 16000 = ${n_samples}`);
  const nf = jget<number>(o, file, 'nb_max_frames', 'int', nb_max_frames);
  if (nf !== nb_max_frames) throw new FormatError(file, `'nb_max_frames' is ${nf} but n_samples ${n_samples} // 160 = ${nb_max_frames}`);
  return { chunk_length: chunk, n_samples, nb_max_frames };
}

/** BEATsConfig: the checkpoint's 'cfg' dict over the BEATsConfig class defaults. */
export interface BeatsConfig {
  input_patch_size: number;
  embed_dim: number;
  conv_bias: boolean;
  encoder_layers: number;
  encoder_embed_dim: number;
  encoder_ffn_embed_dim: number;
  encoder_attention_heads: number;
  activation_fn: string;
  layer_wise_gradient_decay_ratio: number;
  layer_norm_first: boolean;
  deep_norm: boolean;
  dropout: number;
  attention_dropout: number;
  activation_dropout: number;
  encoder_layerdrop: number;
  dropout_input: number;
  conv_pos: number;
  conv_pos_groups: number;
  relative_position_embedding: boolean;
  num_buckets: number;
  max_distance: number;
  gru_rel_pos: boolean;
  finetuned_model: boolean;
  predictor_dropout: number;
  predictor_class: number;
}
const BEATS_DEFAULTS: BeatsConfig = {
  input_patch_size: -1, embed_dim: 512, conv_bias: false, encoder_layers: 12, encoder_embed_dim: 768,
  encoder_ffn_embed_dim: 3072, encoder_attention_heads: 12, activation_fn: 'gelu', layer_wise_gradient_decay_ratio: 1.0,
  layer_norm_first: false, deep_norm: false, dropout: 0.1, attention_dropout: 0.1, activation_dropout: 0.0,
  encoder_layerdrop: 0.0, dropout_input: 0.0, conv_pos: 128, conv_pos_groups: 16, relative_position_embedding: false,
  num_buckets: 320, max_distance: 1280, gru_rel_pos: false, finetuned_model: false, predictor_dropout: 0.1, predictor_class: 527,
};
export function parseBeatsConfig(cfg: PyValue | Obj, file = 'BEATs cfg'): BeatsConfig {
  const o = asObject(cfg, file);
  const out = { ...BEATS_DEFAULTS } as Record<string, unknown>;
  const ints = new Set(['input_patch_size', 'embed_dim', 'encoder_layers', 'encoder_embed_dim', 'encoder_ffn_embed_dim',
    'encoder_attention_heads', 'conv_pos', 'conv_pos_groups', 'num_buckets', 'max_distance', 'predictor_class']);
  for (const [k, def] of Object.entries(BEATS_DEFAULTS)) {
    if (!(k in o)) continue;
    const kind = typeof def === 'boolean' ? 'bool' : typeof def === 'string' ? 'str' : ints.has(k) ? 'int' : 'num';
    out[k] = jget(o, file, k, kind, def);
  }
  return out as unknown as BeatsConfig;
}

/** HF LlamaConfig (Vicuna). */
export interface LlamaConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  rms_norm_eps: number;
  vocab_size: number;
  max_position_embeddings: number;
  rope_theta: number;
  hidden_act: string;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
  tie_word_embeddings: boolean;
  torch_dtype: string;
}
export function parseLlamaConfig(json: unknown, file = 'llama config.json'): LlamaConfig {
  const o = asObject(json, file);
  const heads = jget<number>(o, file, 'num_attention_heads', 'int', 32);
  return {
    hidden_size: jget(o, file, 'hidden_size', 'int', 4096),
    intermediate_size: jget(o, file, 'intermediate_size', 'int', 11008),
    num_hidden_layers: jget(o, file, 'num_hidden_layers', 'int', 32),
    num_attention_heads: heads,
    num_key_value_heads: jget(o, file, 'num_key_value_heads', 'int', heads),
    rms_norm_eps: jget(o, file, 'rms_norm_eps', 'num', 1e-6),
    vocab_size: jget(o, file, 'vocab_size', 'int', 32000),
    max_position_embeddings: jget(o, file, 'max_position_embeddings', 'int', 2048),
    rope_theta: jget(o, file, 'rope_theta', 'num', 10000),
    hidden_act: jget(o, file, 'hidden_act', 'str', 'silu'),
    bos_token_id: jget(o, file, 'bos_token_id', 'int', 1),
    eos_token_id: jget(o, file, 'eos_token_id', 'int', 2),
    pad_token_id: jget(o, file, 'pad_token_id', 'int', 0),
    tie_word_embeddings: jget(o, file, 'tie_word_embeddings', 'bool', false),
    torch_dtype: jget(o, file, 'torch_dtype', 'str', 'float16'),
  };
}

/** HF BertConfig (the Q-Former base; SALMONN overrides num_hidden_layers = 2 and the encoder width). */
export interface BertConfig {
  hidden_size: number;
  num_attention_heads: number;
  intermediate_size: number;
  num_hidden_layers: number;
  hidden_act: string;
  layer_norm_eps: number;
  max_position_embeddings: number;
  vocab_size: number;
  type_vocab_size: number;
  initializer_range: number;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  position_embedding_type: string;
}
export function parseBertConfig(json: unknown, file = 'bert config.json'): BertConfig {
  const o = asObject(json, file);
  return {
    hidden_size: jget(o, file, 'hidden_size', 'int', 768),
    num_attention_heads: jget(o, file, 'num_attention_heads', 'int', 12),
    intermediate_size: jget(o, file, 'intermediate_size', 'int', 3072),
    num_hidden_layers: jget(o, file, 'num_hidden_layers', 'int', 12),
    hidden_act: jget(o, file, 'hidden_act', 'str', 'gelu'),
    layer_norm_eps: jget(o, file, 'layer_norm_eps', 'num', 1e-12),
    max_position_embeddings: jget(o, file, 'max_position_embeddings', 'int', 512),
    vocab_size: jget(o, file, 'vocab_size', 'int', 30522),
    type_vocab_size: jget(o, file, 'type_vocab_size', 'int', 2),
    initializer_range: jget(o, file, 'initializer_range', 'num', 0.02),
    hidden_dropout_prob: jget(o, file, 'hidden_dropout_prob', 'num', 0.1),
    attention_probs_dropout_prob: jget(o, file, 'attention_probs_dropout_prob', 'num', 0.1),
    position_embedding_type: jget(o, file, 'position_embedding_type', 'str', 'absolute'),
  };
}
