// Configs: the original YAML schemas (decode_config.yaml for evaluate/cli, config.yaml for train) with the
// original code's defaults, and typed readers for the model JSON configs (Whisper, BEATs cfg, LLaMA/Vicuna, BERT).
import { parseDocument, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';
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
  /** Keys set by --options (their errors name the option, not a line of the file). */
  overridden?: Set<string>;
  file: string;
  doc: Document;
  lc: LineCounter;
  warn: Warn;
}

/** Deepest YAML nesting accepted (the configs nest 3 levels; the yaml library recurses per level). */
export const MAX_YAML_DEPTH = 64;

/** Parses YAML 1.2 (core schema: `1e-6` is a number, `True` a bool). Syntax errors -> FormatError with the line. */
export function parseYaml(text: string, file: string): { value: unknown; doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const where = (pos: number): string => `line ${lineCounter.linePos(pos).line}`;
  preCheckNesting(text, file);
  // uniqueKeys is checked below in linear time (the library compares each key with every earlier one)
  let doc: Document;
  try {
    doc = parseDocument(text, { version: '1.2', schema: 'core', lineCounter, prettyErrors: false, uniqueKeys: false });
  } catch (e) {
    if (e instanceof RangeError) throw new FormatError(file, `YAML nesting too deep (at most ${MAX_YAML_DEPTH} levels)`, { cause: e });
    throw e;
  }
  if (doc.errors.length) {
    const e = doc.errors[0];
    const lp = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new FormatError(file, `YAML syntax error at line ${lp.line}, column ${lp.col}: ${msg}`);
  }
  // nesting depth and duplicate keys, walking the nodes without recursion
  const todo: Array<[unknown, number]> = [[doc.contents, 0]];
  while (todo.length) {
    const [node, depth] = todo.pop()!;
    if (isMap(node) || isSeq(node)) {
      const pos = (node as { range?: [number, number, number] }).range?.[0] ?? 0;
      if (depth >= MAX_YAML_DEPTH) throw new FormatError(file, `${where(pos)}: YAML nested deeper than ${MAX_YAML_DEPTH} levels`);
      const seen = isMap(node) ? new Set<string>() : null;
      for (const it of node.items as unknown[]) {
        if (isPair(it)) {
          if (seen && isScalar(it.key)) {
            const k = String(it.key.value);
            if (seen.has(k)) {
              const lp = lineCounter.linePos(it.key.range?.[0] ?? pos);
              throw new FormatError(file, `YAML syntax error at line ${lp.line}, column ${lp.col}: map keys must be unique (duplicate key '${k.slice(0, 80)}')`);
            }
            seen.add(k);
          }
          todo.push([it.key, depth + 1], [it.value, depth + 1]);
        } else todo.push([it, depth + 1]);
      }
    }
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new FormatError(file, `YAML error: ${(e as Error).message}`, { cause: e });
  }
  checkAcyclic(value, file, doc);
  return { value, doc, lineCounter };
}

/**
 * A cheap linear bound on flow nesting ([ and {) before the parser sees the text: the library's parser and
 * composer recurse per level. Brackets inside quoted strings count too, so the bound is generous.
 */
function preCheckNesting(text: string, file: string): void {
  // block nesting: a stack of indentation widths (each deeper line opens a level; '- ' items open one more each)
  const indents: number[] = [];
  let ln = 0;
  for (const raw of text.split('\n')) {
    ln++;
    const m = /^( *)((?:- +)*)(.?)/.exec(raw)!;
    if (m[3] === '' && !m[2]) continue;
    if (m[3] === '#') continue;
    const ind = m[1].length;
    while (indents.length && indents[indents.length - 1] > ind) indents.pop();
    if (!indents.length || indents[indents.length - 1] < ind) indents.push(ind);
    const dashes = m[2] ? m[2].split('-').length - 1 : 0;
    if (indents.length + dashes > 4 * MAX_YAML_DEPTH) throw new FormatError(file, `line ${ln}: YAML nested deeper than ${MAX_YAML_DEPTH} levels`);
  }
  let depth = 0, line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 91 || c === 123) {
      if (++depth > 4 * MAX_YAML_DEPTH) throw new FormatError(file, `line ${line}: YAML nested deeper than ${MAX_YAML_DEPTH} levels`);
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
}

/** An alias inside its own anchor builds a value that contains itself: refused, naming the anchor. */
function checkAcyclic(value: unknown, file: string, doc: Document): void {
  const onPath = new Set<object>();
  const stack: Array<[unknown, boolean]> = [[value, false]];
  while (stack.length) {
    const [v, leaving] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (leaving) {
      onPath.delete(v);
      continue;
    }
    if (onPath.has(v)) {
      let anchor = '';
      visitAliases(doc, (name) => { anchor ||= name; });
      throw new FormatError(file, `YAML alias${anchor ? ` '*${anchor}'` : ''} refers to a node that contains it (a self-containing value)`);
    }
    onPath.add(v);
    stack.push([v, true]);
    for (const x of Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v)) stack.push([x, false]);
  }
}

function visitAliases(doc: Document, fn: (name: string) => void): void {
  const todo: unknown[] = [doc.contents];
  while (todo.length) {
    const n = todo.pop();
    if (isAlias(n)) fn(n.source);
    else if (isMap(n) || isSeq(n)) for (const it of n.items as unknown[]) todo.push(...(isPair(it) ? [it.key, it.value] : [it]));
  }
}

function lineOf(ctx: Ctx, path: string[]): string {
  if (ctx.overridden?.has(path.join('.'))) return '--options: ';
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
  // a few lines at most: finding a key's line is a linear search, so warning about each of 100k keys is quadratic
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  for (const k of unknown.slice(0, 10)) ctx.warn(`${ctx.file}: ${lineOf(ctx, [...path, k])}unknown key '${[...path, k].join('.')}' (ignored)`);
  if (unknown.length > 10) ctx.warn(`${ctx.file}: ${unknown.length - 10} more unknown key(s) in '${path.join('.') || '<root>'}' (ignored)`);
}

type Kind = 'num' | 'int' | 'bool' | 'str' | 'str?';

/** Allowed values of a number: inclusive min/max, exclusive gt/lt, and why (what the value is for). */
export interface Range {
  min?: number;
  max?: number;
  gt?: number;
  lt?: number;
  /** Other allowed values outside the range (e.g. -1 for "not set"). */
  also?: number[];
}

export function rangeText(r: Range): string {
  const parts: string[] = [];
  if (r.gt !== undefined) parts.push(`> ${r.gt}`);
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.lt !== undefined) parts.push(`< ${r.lt}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return parts.join(' and ') + (r.also?.length ? ` (or ${r.also.join(', ')})` : '');
}

export function inRange(v: number, r: Range): boolean {
  if (r.also?.includes(v)) return true;
  return !((r.min !== undefined && v < r.min) || (r.max !== undefined && v > r.max) || (r.gt !== undefined && v <= r.gt) || (r.lt !== undefined && v >= r.lt));
}

function get<T>(ctx: Ctx, obj: Obj, path: string[], kind: Kind, def?: T, range?: Range): T {
  const key = path[path.length - 1];
  const v = obj[key];
  const name = path.join('.');
  if (v === undefined || (v === null && kind !== 'str?')) {
    if (def === undefined) throw new FormatError(ctx.file, `${lineOf(ctx, path)}missing required key '${name}'`);
    return def;
  }
  const bad = (what: string): never => {
    throw new FormatError(ctx.file, `${lineOf(ctx, path)}'${name}' must be ${what}, got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
  };
  switch (kind) {
    case 'num': if (typeof v !== 'number' || !Number.isFinite(v)) bad('a finite number'); break;
    case 'int': if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad('an integer'); break;
    case 'bool': if (typeof v !== 'boolean') bad('true or false'); break;
    case 'str': if (typeof v !== 'string') bad('a string'); break;
    case 'str?': if (v !== null && typeof v !== 'string') bad('a string or null'); break;
  }
  if (range && typeof v === 'number' && !inRange(v, range)) bad(rangeText(range));
  return v as T;
}

/** Where each parsed section came from (file, YAML nodes), so later checks can name the file, line and key. */
const SECTION_SOURCE = new WeakMap<object, { ctx: Ctx; path: string[] }>();

/**
 * A FormatError naming the config file, the key's line and the key, for a check made after parsing (a value that
 * does not fit the loaded model): `section` is a parsed section (`cfg.model`, `cfg.generate`, `cfg.run`).
 */
export function configKeyError(section: object, key: string, message: string): FormatError {
  const src = SECTION_SOURCE.get(section);
  if (!src) return new FormatError('config', `'${key}' ${message}`);
  const path = [...src.path, key];
  return new FormatError(src.ctx.file, `${lineOf(src.ctx, path)}'${path.join('.')}' ${message}`);
}

function registered<T extends object>(ctx: Ctx, path: string[], section: T): T {
  SECTION_SOURCE.set(section, { ctx, path });
  return section;
}

export interface YamlConfigOptions {
  /** File name for messages. */
  file: string;
  /**
   * Working directory that relative paths are resolved against (the original scripts use the process cwd; the
   * CLI passes it). Default: the folder of `file` ('' for a bare file name: paths stay relative, to be opened
   * through a Directory rooted at the config's folder).
   */
  cwd?: string;
  warn?: Warn;
  /**
   * LAVIS-style overrides (`--options model.ckpt=x.pth run.max_epoch=3` of evaluate.py/train.py): dotted keys
   * into the YAML, values parsed as YAML scalars ('3' is a number, 'true' a bool, 'null' null, '[1, 2]' a list).
   */
  overrides?: string[];
}

// ---------------------------------------------------------------------------------------------------------
// model: section (SALMONN.from_config defaults)

export interface SalmonnModelConfig {
  /** The folder relative paths were resolved against ('' when they stay relative). */
  cwd?: string;
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
  /** LLM linear weights: 'fp16' (checkpoint precision), 'int8' (LLM.int8; what low_resource: True means), 'q4'; null: not set. */
  llm_weight_format: 'fp16' | 'int8' | 'q4' | null;
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
  'low_resource', 'llm_weight_format', 'device_8bit', 'autocast_dtype', 'norm_lambda', 'use_gumbel', 'gumbel_hard', 'shuffle_mask',
] as const;

function parseModel(ctx: Ctx, m: Obj, cwd: string): SalmonnModelConfig {
  const P = ['model'];
  warnUnknown(ctx, m, MODEL_KEYS, P);
  const g = <T>(k: string, kind: Kind, def?: T, range?: Range): T => get<T>(ctx, m, [...P, k], kind, def, range);
  const path = (k: string, def?: string): string => resolvePath(cwd, g<string>(k, 'str', def));
  const autocast = g<string>('autocast_dtype', 'str', 'float16');
  if (autocast !== 'float16' && autocast !== 'bfloat16') {
    throw new FormatError(ctx.file, `${lineOf(ctx, [...P, 'autocast_dtype'])}'model.autocast_dtype' must be "float16" or "bfloat16", got ${JSON.stringify(autocast)}`);
  }
  const wm = g<string | null>('weight_mask_path', 'str?', null);
  const lwf = g<string | null>('llm_weight_format', 'str?', null);
  if (lwf !== null && lwf !== 'fp16' && lwf !== 'int8' && lwf !== 'q4') {
    throw new FormatError(ctx.file, `${lineOf(ctx, [...P, 'llm_weight_format'])}'model.llm_weight_format' must be "fp16", "int8" or "q4", got ${JSON.stringify(lwf)}`);
  }
  return registered(ctx, P, {
    cwd,
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
    num_speech_query_token: g('num_speech_query_token', 'int', 1, { min: 1, max: 4096 }),
    freeze_speech_QFormer: g('freeze_speech_QFormer', 'bool', false),
    window_level_Qformer: g('window_level_Qformer', 'bool', true),
    second_per_window: g('second_per_window', 'num', 0.333333, { gt: 0, max: 30 }),
    second_stride: g('second_stride', 'num', 0.333333, { gt: 0, max: 30 }),
    freeze_speech_llama_proj: g('freeze_speech_llama_proj', 'bool', false),
    lora: g('lora', 'bool', true),
    lora_rank: g('lora_rank', 'int', 8, { min: 1, max: 65536 }),
    lora_alpha: g('lora_alpha', 'num', 32),
    lora_dropout: g('lora_dropout', 'num', 0.1, { min: 0, lt: 1 }),
    multi_prompt: g('multi_prompt', 'bool', false),
    prompt_template: g('prompt_template', 'str', ''),
    max_txt_len: g('max_txt_len', 'int', 128, { min: 1 }),
    end_sym: g('end_sym', 'str', '</s>'),
    low_resource: g('low_resource', 'bool', false),
    llm_weight_format: lwf,
    device_8bit: g('device_8bit', 'int', 0, { min: 0 }),
    autocast_dtype: autocast,
    norm_lambda: g('norm_lambda', 'num', 1e-4, { min: 0 }),
    use_gumbel: g('use_gumbel', 'bool', true),
    gumbel_hard: g('gumbel_hard', 'bool', true),
    shuffle_mask: g('shuffle_mask', 'bool', false),
  });
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
  const g = <T>(k: string, kind: Kind, def: T, range?: Range): T => get<T>(ctx, o, [...P, k], kind, def, range);
  return registered(ctx, P, {
    max_new_tokens: g('max_new_tokens', 'int', 200, { min: 1 }),
    num_beams: g('num_beams', 'int', 4, { min: 1 }),
    do_sample: g('do_sample', 'bool', false),
    min_length: g('min_length', 'int', 1, { min: 0 }),
    temperature: g('temperature', 'num', 1.0, { gt: 0 }),
    top_p: g('top_p', 'num', 0.9, { gt: 0, max: 1 }),
    repetition_penalty: g('repetition_penalty', 'num', 1.0, { gt: 0 }),
    length_penalty: g('length_penalty', 'num', 1.0),
  });
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

/** Applies `key.path=value` overrides to a parsed YAML document (see YamlConfigOptions.overrides). */
export function applyOverrides(doc: Document, overrides: string[], file: string): string[] {
  const keys: string[] = [];
  for (const o of overrides) {
    const eq = o.indexOf('=');
    const key = eq > 0 ? o.slice(0, eq).trim() : '';
    if (!key || key.split('.').some((k) => k === '')) throw new FormatError(file, `--options ${JSON.stringify(o)}: expected key.path=value`);
    const text = o.slice(eq + 1);
    let value: unknown;
    if (text.trim() === '') value = '';
    else {
      const d = parseDocument(text, { version: '1.2', schema: 'core' });
      if (d.errors.length) throw new FormatError(file, `--options ${key}: cannot parse value ${JSON.stringify(text)}: ${d.errors[0].message.split('\n')[0]}`);
      value = d.toJS();
    }
    const path = key.split('.');
    for (let i = 1; i < path.length; i++) {
      const parent = doc.getIn(path.slice(0, i), true);
      if (parent !== undefined && parent !== null && !isMap(parent) && !(isScalar(parent) && parent.value === null)) {
        throw new FormatError(file, `--options ${key}: '${path.slice(0, i).join('.')}' is not a mapping`);
      }
    }
    doc.setIn(path, doc.createNode(value));
    keys.push(key);
  }
  return keys;
}

function makeCtx(text: string, opts: YamlConfigOptions): { ctx: Ctx; root: Obj; raw: unknown } {
  let { value, doc, lineCounter } = parseYaml(text, opts.file);
  let overridden: Set<string> | undefined;
  if (opts.overrides?.length) {
    overridden = new Set(applyOverrides(doc, opts.overrides, opts.file));
    value = doc.toJS({ maxAliasCount: 1000 });
  }
  const ctx: Ctx = { file: opts.file, doc, lc: lineCounter, warn: opts.warn ?? defaultWarn, overridden };
  return { ctx, root: section(ctx, value, [], true), raw: value };
}

/** The folder part of a path ('' for a bare name): the default `cwd` of a config. */
export function configFolder(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i < 0 ? '' : i === 0 ? '/' : file.slice(0, i);
}

/** Parses an AHAMask/SALMONN `decode_config.yaml`. */
export function parseDecodeConfig(text: string, opts: YamlConfigOptions): DecodeConfig {
  const { ctx, root, raw } = makeCtx(text, opts);
  const cwd = opts.cwd ?? configFolder(opts.file);
  warnUnknown(ctx, root, DECODE_KEYS, []);
  const tdp = get<string | null>(ctx, root, ['test_data_path'], 'str?', null);
  return {
    file: opts.file,
    cwd,
    test_data_path: tdp === null ? null : resolvePath(cwd, tdp),
    output_path: resolvePath(cwd, get(ctx, root, ['output_path'], 'str', 'tmp.json')),
    prompt: get(ctx, root, ['prompt'], 'str', ''),
    prob_threshold: get(ctx, root, ['prob_threshold'], 'num', 0.5, { min: 0, max: 1 }),
    batch_size_eval: get(ctx, root, ['batch_size_eval'], 'int', 4, { min: 1 }),
    num_workers: get(ctx, root, ['num_workers'], 'int', 0, { min: 0 }),
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
  const cwd = opts.cwd ?? configFolder(opts.file);
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
  const g = <T>(k: string, kind: Kind, def?: T, range?: Range): T => get<T>(ctx, r, ['run', k], kind, def, range);
  const o = section(ctx, r.optims, ['run', 'optims'], true);
  warnUnknown(ctx, o, OPTIMS_KEYS, ['run', 'optims']);
  const go = <T>(k: string, kind: Kind, def?: T, range?: Range): T => get<T>(ctx, o, ['run', 'optims', k], kind, def, range);
  const batchTrain = g<number>('batch_size_train', 'int', undefined, { min: 1 });
  const run: RunConfig = {
    seed: g('seed', 'int'),
    output_dir: resolvePath(cwd, g('output_dir', 'str')),
    evaluate: g('evaluate', 'bool', false),
    log_freq: g('log_freq', 'int', 5, { min: 1 }),
    epoch_based: g('epoch_based', 'bool', false),
    iters_per_epoch: g<number>('iters_per_epoch', 'int', undefined, { min: 1 }),
    accum_grad_iters: g('accum_grad_iters', 'int', 1, { min: 1 }),
    batch_size_train: batchTrain,
    batch_size_eval: g('batch_size_eval', 'int', batchTrain, { min: 1 }),
    num_workers: g('num_workers', 'int', 0, { min: 0 }),
    device: g('device', 'str', 'cuda'),
    use_distributed: g('use_distributed', 'bool', false),
    amp: g('amp', 'bool', false),
    world_size: g('world_size', 'int', 1, { min: 1 }),
    dist_url: g('dist_url', 'str', 'env://'),
    tau_decay_steps: g<number>('tau_decay_steps', 'num', undefined, { gt: 0 }),
    tau_temp_begin: g<number>('tau_temp_begin', 'num', undefined, { gt: 0 }),
    tau_temp_end: g<number>('tau_temp_end', 'num', undefined, { gt: 0 }),
    norm_lambda: g<number>('norm_lambda', 'num', undefined, { min: 0 }),
    optims: {
      max_epoch: go<number>('max_epoch', 'int', undefined, { min: 1 }),
      warmup_steps: go('warmup_steps', 'int', 0, { min: 0 }),
      warmup_start_lr: go('warmup_start_lr', 'num', -1, { min: 0, also: [-1] }),
      init_lr: go<number>('init_lr', 'num', undefined, { min: 0 }),
      min_lr: go<number>('min_lr', 'num', undefined, { min: 0 }),
      weight_decay: go<number>('weight_decay', 'num', undefined, { min: 0 }),
      beta2: go('beta2', 'num', 0.999, { min: 0, lt: 1 }),
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

function jget<T>(o: Obj, file: string, key: string, kind: 'num' | 'int' | 'bool' | 'str', def?: T, range?: Range): T {
  const v = o[key];
  if (v === undefined || v === null) {
    if (def === undefined) throw new FormatError(file, `missing required key '${key}'`);
    return def;
  }
  const ok = kind === 'num' ? typeof v === 'number' && Number.isFinite(v) : kind === 'int' ? typeof v === 'number' && Number.isSafeInteger(v) : kind === 'bool' ? typeof v === 'boolean' : typeof v === 'string';
  if (!ok) throw new FormatError(file, `'${key}' must be ${kind === 'num' ? 'a finite number' : kind === 'int' ? 'an integer' : kind === 'bool' ? 'a boolean' : 'a string'}, got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
  if (range && typeof v === 'number' && !inRange(v, range)) throw new FormatError(file, `'${key}' must be ${rangeText(range)}, got ${v}`);
  return v as T;
}

/** A string key with a fixed set of values this implementation runs (e.g. the activation its kernels fuse). */
function jenum(o: Obj, file: string, key: string, allowed: readonly string[], def: string): string {
  const v = jget<string>(o, file, key, 'str', def);
  if (!allowed.includes(v)) throw new FormatError(file, `'${key}' is ${JSON.stringify(v)}; this implementation supports ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  return v;
}

/** `heads` must divide `width` (each head gets width / heads channels). */
function checkDivides(file: string, widthKey: string, width: number, headsKey: string, heads: number): void {
  if (width % heads !== 0) {
    const fits: number[] = [];
    for (let h = 1; h <= Math.min(width, 1024) && fits.length < 64; h++) if (width % h === 0) fits.push(h);
    const near = fits.sort((a, b) => Math.abs(a - heads) - Math.abs(b - heads)).slice(0, 4).sort((a, b) => a - b);
    throw new FormatError(file, `'${headsKey}' = ${heads} does not divide '${widthKey}' = ${width} (each head needs ${widthKey} / ${headsKey} channels; e.g. ${near.join(', ')} would)`);
  }
}

/** Bounds on model sizes in JSON configs: far above real models, low enough that nothing absurd is allocated. */
const WIDTH: Range = { min: 1, max: 1 << 16 };
const FFN: Range = { min: 1, max: 1 << 18 };
const LAYERS: Range = { min: 1, max: 1024 };
const HEADS: Range = { min: 1, max: 1024 };
const POSITIONS: Range = { min: 1, max: 1 << 20 };

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
  const c: WhisperConfig = {
    d_model: jget(o, file, 'd_model', 'int', 256, WIDTH),
    encoder_layers: jget(o, file, 'encoder_layers', 'int', 6, LAYERS),
    encoder_attention_heads: jget(o, file, 'encoder_attention_heads', 'int', 4, HEADS),
    encoder_ffn_dim: jget(o, file, 'encoder_ffn_dim', 'int', 1536, FFN),
    num_mel_bins: jget(o, file, 'num_mel_bins', 'int', 80, { min: 1, max: 1024 }),
    max_source_positions: jget(o, file, 'max_source_positions', 'int', 1500, POSITIONS),
    activation_function: jenum(o, file, 'activation_function', ['gelu'], 'gelu'),
    scale_embedding: jget(o, file, 'scale_embedding', 'bool', false),
  };
  checkDivides(file, 'd_model', c.d_model, 'encoder_attention_heads', c.encoder_attention_heads);
  // the features are Whisper large-v2's 80-bin log-mel (SALMONN's encoder); large-v3's 128 bins are not computed
  if (c.num_mel_bins !== 80) throw new FormatError(file, `'num_mel_bins' is ${c.num_mel_bins}; this implementation computes Whisper's 80-bin log-mel (large-v2, as SALMONN uses)`);
  return c;
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
  const ranges: Record<string, Range> = {
    input_patch_size: { min: 1, max: 1024, also: [-1] }, embed_dim: WIDTH, encoder_layers: LAYERS, encoder_embed_dim: WIDTH,
    encoder_ffn_embed_dim: FFN, encoder_attention_heads: HEADS, conv_pos: { min: 1, max: 4096 }, conv_pos_groups: { min: 1, max: 1 << 16 },
    num_buckets: { min: 4, max: 1 << 16 }, predictor_class: { min: 0, max: 1 << 20 }, layer_wise_gradient_decay_ratio: { min: 0 },
    dropout: { min: 0, max: 1 }, attention_dropout: { min: 0, max: 1 }, activation_dropout: { min: 0, max: 1 },
    encoder_layerdrop: { min: 0, max: 1 }, dropout_input: { min: 0, max: 1 }, predictor_dropout: { min: 0, max: 1 },
  };
  for (const [k, def] of Object.entries(BEATS_DEFAULTS)) {
    if (!(k in o)) continue;
    if (k === 'activation_fn') { out[k] = jenum(o, file, k, ['gelu'], 'gelu'); continue; }
    const kind = typeof def === 'boolean' ? 'bool' : typeof def === 'string' ? 'str' : ints.has(k) ? 'int' : 'num';
    out[k] = jget(o, file, k, kind, def, ranges[k]);
  }
  const c = out as unknown as BeatsConfig;
  // the relative position buckets take log(max_distance / max_exact): it must exceed max_exact = num_buckets / 4
  const maxExact = Math.floor(Math.floor(c.num_buckets / 2) / 2);
  if (!(c.max_distance > maxExact)) throw new FormatError(file, `'max_distance' must be > ${maxExact} (num_buckets / 4 with num_buckets = ${c.num_buckets}), got ${c.max_distance}`);
  checkDivides(file, 'encoder_embed_dim', c.encoder_embed_dim, 'encoder_attention_heads', c.encoder_attention_heads);
  checkDivides(file, 'encoder_embed_dim', c.encoder_embed_dim, 'conv_pos_groups', c.conv_pos_groups);
  return c;
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
  const heads = jget<number>(o, file, 'num_attention_heads', 'int', 32, HEADS);
  const c: LlamaConfig = {
    hidden_size: jget(o, file, 'hidden_size', 'int', 4096, WIDTH),
    intermediate_size: jget(o, file, 'intermediate_size', 'int', 11008, FFN),
    num_hidden_layers: jget(o, file, 'num_hidden_layers', 'int', 32, LAYERS),
    num_attention_heads: heads,
    num_key_value_heads: jget(o, file, 'num_key_value_heads', 'int', heads, HEADS),
    rms_norm_eps: jget(o, file, 'rms_norm_eps', 'num', 1e-6, { gt: 0 }),
    vocab_size: jget(o, file, 'vocab_size', 'int', 32000, { min: 1, max: 1 << 22 }),
    max_position_embeddings: jget(o, file, 'max_position_embeddings', 'int', 2048, POSITIONS),
    rope_theta: jget(o, file, 'rope_theta', 'num', 10000, { gt: 0 }),
    hidden_act: jenum(o, file, 'hidden_act', ['silu'], 'silu'),
    bos_token_id: jget(o, file, 'bos_token_id', 'int', 1),
    eos_token_id: jget(o, file, 'eos_token_id', 'int', 2),
    pad_token_id: jget(o, file, 'pad_token_id', 'int', 0),
    tie_word_embeddings: jget(o, file, 'tie_word_embeddings', 'bool', false),
    torch_dtype: jget(o, file, 'torch_dtype', 'str', 'float16'),
  };
  checkDivides(file, 'hidden_size', c.hidden_size, 'num_attention_heads', heads);
  return c;
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
  const c: BertConfig = {
    hidden_size: jget(o, file, 'hidden_size', 'int', 768, WIDTH),
    num_attention_heads: jget(o, file, 'num_attention_heads', 'int', 12, HEADS),
    intermediate_size: jget(o, file, 'intermediate_size', 'int', 3072, FFN),
    num_hidden_layers: jget(o, file, 'num_hidden_layers', 'int', 12, LAYERS),
    hidden_act: jenum(o, file, 'hidden_act', ['gelu'], 'gelu'),
    layer_norm_eps: jget(o, file, 'layer_norm_eps', 'num', 1e-12, { gt: 0 }),
    max_position_embeddings: jget(o, file, 'max_position_embeddings', 'int', 512, POSITIONS),
    vocab_size: jget(o, file, 'vocab_size', 'int', 30522, { min: 1, max: 1 << 22 }),
    type_vocab_size: jget(o, file, 'type_vocab_size', 'int', 2, { min: 0, max: 1 << 16 }),
    initializer_range: jget(o, file, 'initializer_range', 'num', 0.02),
    hidden_dropout_prob: jget(o, file, 'hidden_dropout_prob', 'num', 0.1),
    attention_probs_dropout_prob: jget(o, file, 'attention_probs_dropout_prob', 'num', 0.1),
    position_embedding_type: jget(o, file, 'position_embedding_type', 'str', 'absolute'),
  };
  checkDivides(file, 'hidden_size', c.hidden_size, 'num_attention_heads', c.num_attention_heads);
  return c;
}
