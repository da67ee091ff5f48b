// A deterministic corpus of malformed and unusual inputs (issue 10, "Malformed inputs"): checkpoints (torch zip +
// pickle), pickles, safetensors (single and sharded), YAML decode/train configs, model config.json files, data JSON,
// audio, tokenizer.model, .npy, mask checkpoints and output destinations. Each case writes its files into a folder
// and says which entry point reads them and what the one-line error must name (file and key), or that the input is
// valid and must be accepted. test/io/malformed.test.ts runs them.
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FIXTURE } from './paths.js';
import { writeZip } from '../../src/io/zip.js';
import {
  encodePickle, PyFloat, PyGlobal, PyOrderedDict, PyPersistent, PyReduce, PyTuple, type PyValue,
} from '../../src/io/pickle.js';
import { encodeTorchSave, materialize, openTorch, TensorValue } from '../../src/io/torch.js';
import { MemorySource } from '../../src/io/bytes.js';
import { encodeMaskCheckpoint } from '../../src/io/mask.js';
import { encodeNpy } from '../../src/io/npy.js';

/** Which entry point reads the case's files. */
export type Entry =
  | { cli: 'mask'; args: string[] }
  | { cli: 'tokenize'; args: string[] }
  | { cli: 'evaluate'; config: string }
  | { cli: 'train'; config: string; args?: string[] }
  | { lib: 'checkpoint'; path: string }
  | { lib: 'trainCheckpoint'; path: string }
  | { lib: 'audio'; path: string }
  | { lib: 'npy'; path: string }
  | { lib: 'write'; path: string }
  | { lib: 'annotations'; path: string };

export interface Case {
  /** The class: sizes, unbounded-read, parsing, accepted, output, vague, valid. */
  cls: string;
  name: string;
  entry: Entry;
  /**
   * What the single error line must match (file and key); null: the input is valid and must be accepted; 'either':
   * accepted or refused with one clean line naming the file (both are defensible).
   */
  expect: RegExp | null | 'either';
}

const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------
// Pickle and torch zip building blocks

/** Raw pickle bytes from opcodes (numbers) and byte arrays. */
export function rawPickle(...parts: Array<number | Uint8Array | number[]>): Uint8Array {
  return concat(...parts.map((p) => (typeof p === 'number' ? [p] : p)));
}
/** `unit` repeated n times (no spread: 300k arguments overflow the call stack). */
function repeat(unit: ArrayLike<number>, n: number): Uint8Array {
  const out = new Uint8Array(unit.length * n);
  for (let i = 0; i < n; i++) out.set(unit as ArrayLike<number>, i * unit.length);
  return out;
}
function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
const u32 = (v: number): number[] => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
const str = (s: string): number[] => { const b = enc.encode(s); return [0x58, ...u32(b.length), ...b]; }; // BINUNICODE

/** A torch zip around a data.pkl and storages. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, prefix = 'checkpoint'): Uint8Array {
  return writeZip([
    { name: `${prefix}/data.pkl`, data: pkl },
    { name: `${prefix}/byteorder`, data: enc.encode('little') },
    ...Object.entries(storages).map(([k, v]) => ({ name: `${prefix}/data/${k}`, data: v })),
    { name: `${prefix}/version`, data: enc.encode('3\n') },
  ]);
}

/** `_rebuild_tensor_v2(storage(key, type, numel), offset, size, stride)` with any values (floats via PyFloat). */
export function tensorRef(key: string, storageType: string, numel: PyValue, offset: PyValue, size: PyValue[], stride: PyValue[]): PyReduce {
  return new PyReduce(new PyGlobal('torch._utils', '_rebuild_tensor_v2'), new PyTuple([
    new PyPersistent(new PyTuple(['storage', new PyGlobal('torch', storageType), key, 'cpu', numel])),
    offset, new PyTuple(size), new PyTuple(stride), false, new PyOrderedDict(),
  ]));
}

/** A mask checkpoint {'model': {'tensor': t}, ...extra} as torch zip bytes. */
export function maskZip(tensor: PyValue, storages: Record<string, Uint8Array>, extra: Array<[string, PyValue]> = []): Uint8Array {
  const root = new Map<string, PyValue>([['model', new PyOrderedDict([['tensor', tensor]])], ...extra]);
  return torchZip(encodePickle(root), storages);
}

const f32bytes = (a: number[]): Uint8Array => new Uint8Array(Float32Array.from(a).buffer);
/** A valid 2 x (1 + 1) mask tensor (4 logits) and its storage. */
const goodMask = (): [PyValue, Record<string, Uint8Array>] => [tensorRef('0', 'FloatStorage', 4, 0, [4], [1]), { '0': f32bytes([1, -1, 2, 0.5]) }];

/**
 * A pickle whose data.pkl puts `inner` (raw opcodes producing one value) at root['model'] or at root[key] next to
 * a valid mask. `inner` is spliced as raw bytes between the key and SETITEM.
 */
function maskWithRaw(key: string, inner: Uint8Array): Uint8Array {
  const [t, st] = goodMask();
  // the valid part with encodePickle, then a second dict update by hand: PROTO 2, <root dict>, key, inner, SETITEM, STOP
  const base = encodePickle(new Map<string, PyValue>([['model', new PyOrderedDict([['tensor', t]])]]));
  const body = base.subarray(0, base.length - 1); // drop STOP
  return torchZip(rawPickle(body, str(key), inner, 0x73, 0x2e), st);
}

/** AdamW's state_dict with `t` as exp_avg and exp_avg_sq of the mask parameter. */
function optimizer(t: PyValue): PyValue {
  const s0 = new Map<string, PyValue>([['step', 1], ['exp_avg', t], ['exp_avg_sq', t]]);
  return new Map<string, PyValue>([['state', new Map<number, PyValue>([[0, s0]])], ['param_groups', []]]);
}

// ---------------------------------------------------------------------------------------------------------
// Protobuf (tokenizer.model)

function varint(v: number): number[] {
  const out: number[] = [];
  while (v > 127) { out.push((v & 127) | 128); v = Math.floor(v / 128); }
  out.push(v);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// YAML helpers

function yamlSet(text: string, path: string[], value: string): string {
  // replaces `key: ...` at the right indentation of a fixture YAML (sections are 1 level deep, optims 2)
  const indent = '  '.repeat(path.length - 1);
  const key = path[path.length - 1];
  const re = new RegExp(`^${indent}${key}:.*$`, 'm');
  if (re.test(text)) return text.replace(re, `${indent}${key}: ${value}`);
  const section = path.length > 1 ? path[path.length - 2] : null;
  if (!section) return `${key}: ${value}\n${text}`;
  const sre = new RegExp(`^${'  '.repeat(path.length - 2)}${section}:\\s*$`, 'm');
  if (!sre.test(text)) return `${text}\n${section}:\n${indent}${key}: ${value}\n`;
  return text.replace(sre, (m) => `${m}\n${indent}${key}: ${value}`);
}

// ---------------------------------------------------------------------------------------------------------
// The corpus

/**
 * Writes every case's files under `dir` (a fresh temp folder; the fixture is copied into `dir/fx`) and returns
 * the cases. Deterministic: no randomness, same bytes every run.
 */
export async function buildCorpus(dir: string): Promise<Case[]> {
  const fx = join(dir, 'fx');
  cpSync(FIXTURE, fx, { recursive: true });
  const cases: Case[] = [];
  const add = (cls: string, name: string, entry: Entry, expect: RegExp | null | 'either'): void => { cases.push({ cls, name, entry, expect }); };
  const file = (rel: string, data: Uint8Array | string): string => {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    return p;
  };
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = (path: string, ...rest: string[]): RegExp => new RegExp([esc(path), ...rest].join('.*'));

  // absolute-path decode and train configs over the copied fixture
  const abs = (t: string): string => t
    .replace(/^(\s*(?:llama_path|whisper_path|beats_path|ckpt|prompt_path|test_prompt_path|weight_mask_path|test_data_path|train_ann_path|valid_ann_path|test_ann_path|output_path|output_dir)):\s*"([^"]+)"/gm,
      (_m, k: string, v: string) => `${k}: "${v.startsWith('/') ? v : join(fx, v)}"`);
  const decodeBase = abs(readFileSync(join(FIXTURE, 'decode_config.yaml'), 'utf8')).replace(/output_path: ".*"/, `output_path: "${join(dir, 'out.json')}"`);
  const trainBase = abs(readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8')).replace(/output_dir: ".*"/, `output_dir: "${join(dir, 'train-out')}"`);
  let nCfg = 0;
  const decodeCfg = (text: string): string => file(`cfg/decode_${nCfg++}.yaml`, text);
  const trainCfg = (text: string): string => file(`cfg/train_${nCfg++}.yaml`, text);

  // ---- valid inputs: the corpus must not refuse them -------------------------------------------------------
  {
    const [t, st] = goodMask();
    add('valid', 'mask: a plain 4-entry mask', { cli: 'mask', args: ['show', file('valid/mask.pth', maskZip(t, st)), '--layers', '2', '--heads', '1'] }, null);
    add('valid', 'mask: the fixture mask', { cli: 'mask', args: ['show', join(fx, 'masks/tiny_task/checkpoint.pth'), '--json', '--layers', '3'] }, null);
    add('valid', 'checkpoint: whisper safetensors', { lib: 'checkpoint', path: join(fx, 'whisper/model.safetensors') }, null);
    add('valid', 'checkpoint: sharded safetensors folder', { lib: 'checkpoint', path: join(fx, 'vicuna_safetensors') }, null);
    add('valid', 'checkpoint: sharded torch folder', { lib: 'checkpoint', path: join(fx, 'vicuna') }, null);
    add('valid', 'checkpoint: salmonn.pth', { lib: 'checkpoint', path: join(fx, 'salmonn.pth') }, null);
    add('valid', 'tokenizer: fixture', { cli: 'tokenize', args: ['--tokenizer', join(fx, 'vicuna'), 'hello world'] }, null);
    add('valid', 'audio: fixture wav', { lib: 'audio', path: join(fx, 'audio/chirp3s.wav') }, null);
    add('valid', 'npy: small array', { lib: 'npy', path: file('valid/a.npy', encodeNpy(Float32Array.of(1, 2, 3), [3])) }, null);
    // a stride-0 view of a few elements is legal torch (x.expand): accepted while small
    add('valid', 'mask: small stride-0 view', { cli: 'mask', args: ['show', file('valid/expand.pth', maskZip(tensorRef('0', 'FloatStorage', 1, 0, [4], [0]), { '0': f32bytes([1]) })), '--layers', '2', '--heads', '1'] }, null);
    // 300k appends: big but linear, accepted
    const appends = rawPickle(0x5d, 0x28, repeat([0x4b, 1], 300_000), 0x65);
    add('valid', 'pickle: 300k APPENDS next to the mask', { cli: 'mask', args: ['show', file('valid/appends.pth', maskWithRaw('extra', appends)), '--layers', '2', '--heads', '1'] }, null);
    const additems = rawPickle(0x8f, 0x28, repeat([0x4b, 1], 300_000), 0x90);
    add('valid', 'pickle: 300k ADDITEMS next to the mask', { cli: 'mask', args: ['show', file('valid/additems.pth', maskWithRaw('extra', additems)), '--layers', '2', '--heads', '1'] }, null);
    const long4 = rawPickle(0x8b, u32(1 << 20), new Uint8Array(1 << 20).fill(0x5a));
    add('valid', 'pickle: a 1 MB LONG4 integer next to the mask', { cli: 'mask', args: ['show', file('valid/long4.pth', maskWithRaw('extra', long4)), '--layers', '2', '--heads', '1'] }, null);
    add('valid', 'yaml: 100k unknown top-level keys (linear)', { cli: 'evaluate', config: decodeCfg(decodeBase + Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}`).join('\n') + '\nprob_threshold: 7\n') }, /decode_\d+\.yaml.*prob_threshold/);
  }

  // ---- sizes taken on trust -------------------------------------------------------------------------------
  for (const [storage, es] of [['FloatStorage', 4], ['HalfStorage', 2], ['BFloat16Storage', 2], ['DoubleStorage', 8]] as const) {
    for (const n of [2 ** 28, 2 ** 29, 2 ** 30, 2 ** 31 - 1, 2 ** 31]) {
      const p = file(`sizes/mask_${storage}_${n}.pth`, maskZip(tensorRef('0', storage, 1, 0, [n], [0]), { '0': new Uint8Array(es) }));
      add('sizes', `mask: stride-0 view of ${n} ${storage} elements over one element`, { cli: 'mask', args: ['show', p] }, named(p, 'stride-0'));
    }
    const p2 = file(`sizes/mask2d_${storage}.pth`, maskZip(tensorRef('0', storage, 2 ** 15, 0, [2 ** 15, 2 ** 15], [0, 1]), { '0': new Uint8Array(2 ** 15 * es) }));
    add('sizes', `mask: 2-D stride-0 view (2^30 ${storage})`, { cli: 'mask', args: ['show', p2] }, named(p2, 'stride-0'));
  }
  for (const n of [2 ** 28, 2 ** 30, 2 ** 31]) {
    const [t, st] = goodMask();
    const huge = tensorRef('1', 'FloatStorage', 1, 0, [n], [0]);
    const opt = optimizer(huge);
    const p = file(`sizes/opt_${n}.pth`, maskZip(t, { ...st, '1': new Uint8Array(4) }, [['optimizer', opt]]));
    add('sizes', `optimizer: exp_avg stride-0 view of ${n}`, { lib: 'trainCheckpoint', path: p }, named(p, 'stride-0'));
    add('sizes', `train --init-mask: exp_avg stride-0 view of ${n}`, { cli: 'train', config: trainCfg(trainBase), args: ['--init-mask', p] }, named(p, 'stride-0'));
  }
  {
    // a non-overlapping optimizer tensor larger than the mask (storage present): refused before it is read
    const [t, st] = goodMask();
    const big = tensorRef('1', 'FloatStorage', 4096, 0, [4096], [1]);
    const opt = optimizer(big);
    const p = file('sizes/opt_big.pth', maskZip(t, { ...st, '1': new Uint8Array(4096 * 4) }, [['optimizer', opt]]));
    add('sizes', 'optimizer: exp_avg larger than the mask', { lib: 'trainCheckpoint', path: p }, named(p, "optimizer", 'exp_avg', '4096'));
    // a storage numel larger than its zip entry
    const p2 = file('sizes/storage_short.pth', maskZip(tensorRef('0', 'FloatStorage', 2 ** 30, 0, [4], [1]), { '0': f32bytes([1, 2, 3, 4]) }));
    add('sizes', 'mask: storage numel beyond its zip entry', { cli: 'mask', args: ['show', p2] }, named(p2, "storage '0'", 'larger than its zip entry'));
    // a mask far longer than any LLaMA's layers x (heads + 1)
    const n = 1 << 18;
    const p3 = file('sizes/mask_long.pth', maskZip(tensorRef('0', 'FloatStorage', n, 0, [n], [1]), { '0': new Uint8Array(n * 4) }));
    add('sizes', 'mask: 262144 entries', { cli: 'mask', args: ['show', p3] }, named(p3, "\\['model'\\]\\['tensor'\\]", 'at most'));
  }
  // model config.json sizes (whisper, vicuna, bert) through evaluate --cpu
  const withJson = (name: string, rel: string, patch: Record<string, unknown>): string => {
    const d = join(dir, 'models', name);
    const src = join(fx, rel);
    mkdirSync(d, { recursive: true });
    // the weights are links to the fixture copy; only config.json changes
    for (const f of readdirSync(join(src, '..'))) if (f !== 'config.json') symlinkSync(join(src, '..', f), join(d, f));
    const j = JSON.parse(readFileSync(src, 'utf8'));
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...j, ...patch }));
    return d;
  };
  let nModel = 0;
  const jsonCase = (cls: string, what: 'whisper' | 'vicuna' | 'bert', key: string, value: unknown, expect: (cfgPath: string) => RegExp): void => {
    const rel = `${what === 'bert' ? 'bert-base-uncased' : what}/config.json`;
    // bert-base-uncased/ must keep its name: SALMONN reads it from the working directory
    const d = withJson(what === 'bert' ? `bert_${nModel++}/bert-base-uncased` : `${what}_${nModel++}`, rel, { [key]: value });
    const cfgText = what === 'bert' ? decodeBase : decodeBase.replace(new RegExp(`(${what === 'whisper' ? 'whisper_path' : 'llama_path'}): ".*"`), `$1: "${d}"`);
    // bert-base-uncased/config.json is read from the working directory: '#cwd=' tells the runner where to run
    const cfg = decodeCfg(cfgText);
    add(cls, `${what} config.json ${key}: ${JSON.stringify(value)}`, what === 'bert' ? { cli: 'evaluate', config: `${cfg}#cwd=${join(d, '..')}` } : { cli: 'evaluate', config: cfg }, expect(join(d, 'config.json')));
  };
  const huge = [1_000_000, 2 ** 31, 1e300, -1, 0, 1.5, 'many'];
  // a value inside the caps that disagrees with the checkpoint: refused when the shapes are checked, before reading
  const orMismatch = (p: string, k: string, v: unknown): RegExp => new RegExp(`${esc(p)}.*'${k}'|unexpected shapes.*expected \\[[^\\]]*${v}`);
  for (const k of ['encoder_layers', 'd_model', 'encoder_attention_heads', 'encoder_ffn_dim', 'max_source_positions', 'num_mel_bins']) {
    for (const v of huge) jsonCase('sizes', 'whisper', k, v, (p) => orMismatch(p, k, v));
  }
  for (const k of ['num_hidden_layers', 'hidden_size', 'intermediate_size', 'num_attention_heads', 'vocab_size', 'max_position_embeddings']) {
    // (max_position_embeddings shapes no weight: rotary positions are computed as needed, so 1e6 is valid)
    for (const v of huge) if (!(k === 'max_position_embeddings' && v === 1_000_000)) jsonCase('sizes', 'vicuna', k, v, (p) => orMismatch(p, k, v));
  }
  for (const k of ['hidden_size', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings']) {
    for (const v of [1_000_000, 2 ** 31, -1, 0]) jsonCase('sizes', 'bert', k, v, (p) => orMismatch(p, k, v));
  }

  // ---- unbounded reads --------------------------------------------------------------------------------------
  const fifo = join(dir, 'special/fifo');
  mkdirSync(join(dir, 'special'), { recursive: true });
  execFileSync('mkfifo', [fifo]);
  const aDir = join(dir, 'special/a-directory');
  mkdirSync(aDir);
  const zeroLink = join(dir, 'special/zero-link');
  symlinkSync('/dev/zero', zeroLink);
  for (const [what, p, kind] of [['/dev/zero', '/dev/zero', 'character device'], ['a symlink to /dev/zero', zeroLink, 'character device'], ['a FIFO', fifo, 'FIFO'], ['a directory', aDir, 'directory']] as const) {
    const re = named(p, kind);
    add('unbounded-read', `mask show ${what}`, { cli: 'mask', args: ['show', p] }, re);
    add('unbounded-read', `tokenize --tokenizer ${what}`, { cli: 'tokenize', args: ['--tokenizer', kind === 'directory' ? join(dir, 'special') : p, 'x'] }, kind === 'directory' ? /tokenizer\.model/ : re);
    add('unbounded-read', `evaluate -c ${what}`, { cli: 'evaluate', config: p }, re);
    add('unbounded-read', `train -c ${what}`, { cli: 'train', config: p }, re);
    add('unbounded-read', `train --init-mask ${what}`, { cli: 'train', config: trainCfg(trainBase), args: ['--init-mask', p] }, re);
    add('unbounded-read', `test_data_path ${what}`, { lib: 'annotations', path: p }, re);
    add('unbounded-read', `audio ${what}`, { lib: 'audio', path: p }, re);
    add('unbounded-read', `checkpoint ${what}`, { lib: 'checkpoint', path: p }, kind === 'directory' ? /no checkpoint found/ : re);
    add('unbounded-read', `weight_mask_path ${what}`, { cli: 'evaluate', config: decodeCfg(decodeBase.replace(/weight_mask_path: ".*"/, `weight_mask_path: "${p}"`)) }, re);
    add('unbounded-read', `train_ann_path ${what}`, { cli: 'train', config: trainCfg(trainBase.replace(/train_ann_path: ".*"/, `train_ann_path: "${p}"`)) }, re);
  }

  // ---- quadratic or recursive parsing --------------------------------------------------------------------
  {
    const deepList = rawPickle(repeat([0x28], 100_000), repeat([0x6c], 100_000)); // MARK^n LIST^n
    const deepDict = rawPickle(repeat([0x7d, 0x4b, 1], 100_000), 0x4e, repeat([0x73], 100_000)); // {1: {1: ... None}}
    const selfList = rawPickle(0x5d, 0x71, 0, 0x68, 0, 0x61); // l = []; l.append(l)
    const selfDict = rawPickle(0x7d, 0x71, 0, 0x4b, 1, 0x68, 0, 0x73); // d = {}; d[1] = d
    const longText = rawPickle(0x4c, enc.encode('1'.repeat(1 << 20)), 0x0a); // LONG '111...'
    const intText = rawPickle(0x49, enc.encode('9'.repeat(100_000)), 0x0a);
    for (const [what, inner] of [['100k nested lists', deepList], ['100k nested dicts', deepDict], ['a self-containing list', selfList], ['a self-containing dict', selfDict]] as const) {
      for (const key of ['optimizer', 'ahamask_resume']) {
        const p = file(`parse/${key}_${what.replace(/\W+/g, '_')}.pth`, maskWithRaw(key, inner));
        add('parsing', `trainCheckpoint: ${what} at '${key}'`, { lib: 'trainCheckpoint', path: p }, named(p, key, what.includes('self') ? 'contains itself' : 'nested deeper'));
      }
      const p = file(`parse/model_${what.replace(/\W+/g, '_')}.pth`, maskWithRaw('model', inner));
      add('parsing', `mask show: ${what} as 'model'`, { cli: 'mask', args: ['show', p] }, named(p, "'model'"));
      add('parsing', `checkpoint: ${what} as 'model'`, { lib: 'checkpoint', path: p }, what.includes('dict') && !what.includes('self') ? named(p, 'nesting deeper') : null);
    }
    for (const [what, inner] of [['a 1 MB LONG literal', longText], ['a 100k-digit INT literal', intText]] as const) {
      const p = file(`parse/${what.replace(/\W+/g, '_')}.pth`, maskWithRaw('extra', inner));
      add('parsing', `mask show: ${what}`, { cli: 'mask', args: ['show', p, '--layers', '2'] }, named(p, 'digits exceeds'));
    }
    // a huge LONG4 as a tensor size
    const p = file('parse/long4_size.pth', maskZip(new PyReduce(new PyGlobal('torch._utils', '_rebuild_tensor_v2'), new PyTuple([
      new PyPersistent(new PyTuple(['storage', new PyGlobal('torch', 'FloatStorage'), '0', 'cpu', 4])), 0, new PyTuple([2n ** 2000n]), new PyTuple([1]), false, new PyOrderedDict(),
    ])), { '0': f32bytes([1, 2, 3, 4]) }));
    add('parsing', 'mask show: a 2000-bit tensor size', { cli: 'mask', args: ['show', p] }, named(p, 'size is not a tuple of non-negative ints'));
  }
  // tokenizer.model protobuf: nested groups, unterminated, mismatched
  {
    const tok = (name: string, bytes: number[] | Uint8Array): string => {
      const d = join(dir, 'tok', name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'tokenizer.model'), bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
      return d;
    };
    const sg = varint((9 << 3) | 3), eg = varint((9 << 3) | 4);
    const nested = (n: number): Uint8Array => concat(repeat(sg, n), repeat(eg, n));
    const real = readFileSync(join(fx, 'vicuna/tokenizer.model'));
    for (const n of [10, 1000, 100_000]) {
      const d = tok(`nested${n}`, concat(nested(n), real));
      add(n === 100_000 ? 'parsing' : 'valid', `tokenizer.model: ${n} nested groups before the pieces`, { cli: 'tokenize', args: ['--tokenizer', d, 'hello'] }, null);
    }
    for (const [what, bytes] of [
      ['unterminated 100k groups', repeat(sg, 100_000)],
      ['mismatched end group', [...sg, ...varint((8 << 3) | 4)]],
      ['a lone end group', eg],
      ['a length past the end', [0x0a, ...varint(1 << 30)]],
      ['a 11-byte varint', [0x08, ...new Array(10).fill(0xff), 0x01]],
      ['empty', []],
      ['wire type 7', [0x0f]],
    ] as const) {
      const d = tok(what.replace(/\W+/g, '_'), bytes as number[] | Uint8Array);
      add('parsing', `tokenizer.model: ${what}`, { cli: 'tokenize', args: ['--tokenizer', d, 'hello'] }, named(join(d, 'tokenizer.model')));
    }
  }
  // YAML: keys, nesting, aliases
  {
    const deepBlock = 'model:\n' + Array.from({ length: 5000 }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n') + ' 1\n';
    const deepSeq = 'model:\n' + Array.from({ length: 5000 }, (_, i) => `${' '.repeat(i + 2)}-`).join('\n') + ' 1\n';
    const deepFlow = `model: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const deepFlowMap = `model: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`;
    const laughs = 'a: &a [x, x, x, x, x, x, x, x, x]\n' + Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`).join('\n') + '\nmodel: *j\n';
    for (const [what, text, re] of [
      ['5000 nested block maps', deepBlock, /nested deeper than/],
      ['5000 nested sequences', deepSeq, /nested deeper than/],
      ['5000 nested flow lists', deepFlow, /nested deeper than/],
      ['5000 nested flow maps', deepFlowMap, /nested deeper than/],
      ['a self-containing list alias', `${decodeBase}\nloop: &x [1, *x]\n`, /alias '\*x'.*contains/],
      ['a self-containing map alias', `${decodeBase}\nloop: &x {a: *x}\n`, /alias '\*x'.*contains/],
      ['a self-containing alias as the model section', 'model: &m\n  llama_path: *m\n', /alias '\*m'.*contains/],
      ['a billion laughs', laughs, /alias|YAML/],
      ['a duplicate key', `${decodeBase}\nprompt: again\n`, /duplicate key 'prompt'/],
      ['not a mapping', '- a\n- b\n', /'<root>' must be a mapping/],
      ['binary garbage', '\u0000\u0001\u0002: [', /YAML/],
      ['a tab indent', 'model:\n\tllama_path: x\n', /YAML/],
    ] as const) {
      const p = decodeCfg(text);
      add('parsing', `decode config: ${what}`, { cli: 'evaluate', config: p }, new RegExp(`${esc(p)}.*${re.source}`));
      const q = trainCfg(text);
      add('parsing', `train config: ${what}`, { cli: 'train', config: q }, new RegExp(`${esc(q)}.*${re.source}`));
    }
    const p = file('cfg/not_utf8.yaml', Uint8Array.of(0x6d, 0x3a, 0x20, 0xff, 0xfe, 0x0a));
    add('parsing', 'decode config: not UTF-8', { cli: 'evaluate', config: p }, named(p, 'UTF-8'));
  }

  // ---- wrongly accepted -------------------------------------------------------------------------------------
  for (const [storage, bytes] of [['LongStorage', 8], ['IntStorage', 4], ['ByteStorage', 1], ['BoolStorage', 1]] as const) {
    const p = file(`accepted/mask_${storage}.pth`, maskZip(tensorRef('0', storage, 4, 0, [4], [1]), { '0': new Uint8Array(4 * bytes).fill(1) }));
    add('accepted', `mask: ${storage} logits (mask show)`, { cli: 'mask', args: ['show', p, '--layers', '2'] }, named(p, "\\['model'\\]\\['tensor'\\]", 'dtype'));
    add('accepted', `mask: ${storage} logits (weight_mask_path)`, { cli: 'evaluate', config: decodeCfg(decodeBase.replace(/weight_mask_path: ".*"/, `weight_mask_path: "${p}"`)) }, named(p, 'dtype'));
    add('accepted', `mask: ${storage} logits (train --init-mask)`, { cli: 'train', config: trainCfg(trainBase), args: ['--init-mask', p] }, named(p, 'dtype'));
  }
  for (const [what, size, stride, offset, numel] of [
    ['size 4.0', [new PyFloat(4)], [1], 0, 4],
    ['stride 1.0', [4], [new PyFloat(1)], 0, 4],
    ['size 2.5', [new PyFloat(2.5)], [1], 0, 4],
    ['offset 0.0', [4], [1], new PyFloat(0), 4],
    ['storage numel 4.0', [4], [1], 0, new PyFloat(4)],
    ['size -4', [-4], [1], 0, 4],
    ['size "4"', ['4'], [1], 0, 4],
    ['size None', [null], [1], 0, 4],
    ['size True', [true], [1], 0, 4],
    ['rank mismatch', [2, 2], [1], 0, 4],
    ['negative stride', [4], [-1], 0, 4],
    ['offset past the storage', [4], [1], 1, 4],
  ] as Array<[string, PyValue[], PyValue[], PyValue, PyValue]>) {
    const p = file(`accepted/size_${what.replace(/\W+/g, '_')}.pth`, maskZip(tensorRef('0', 'FloatStorage', numel, offset, size, stride), { '0': f32bytes([1, -1, 2, 0.5]) }));
    add('accepted', `mask: tensor ${what}`, { cli: 'mask', args: ['show', p, '--layers', '2'] }, named(p));
  }
  // safetensors: overlap, hole, trailing bytes, header not UTF-8 (single files and shards)
  const st = (header: Record<string, unknown>, data: number, headerBytes?: Uint8Array): Uint8Array => {
    const h = headerBytes ?? enc.encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data);
    new DataView(out.buffer).setUint32(0, h.length, true);
    out.set(h, 8);
    return out;
  };
  const t = (off: [number, number], shape = [(off[1] - off[0]) / 4]): unknown => ({ dtype: 'F32', shape, data_offsets: off });
  const stCases: Array<[string, Uint8Array, RegExp]> = [
    ['overlapping ranges', st({ a: t([0, 16]), b: t([8, 24]) }, 24), /overlap/],
    ['identical ranges', st({ a: t([0, 16]), b: t([0, 16]) }, 16), /overlap/],
    ['a hole', st({ a: t([0, 8]), b: t([16, 24]) }, 24), /hole/],
    ['a hole at the start', st({ a: t([8, 16]) }, 16), /hole/],
    ['trailing bytes', st({ a: t([0, 8]) }, 64), /trailing|cover/],
    ['header not UTF-8', st({}, 0, Uint8Array.of(0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x7b, 0x7d, 0x7d)), /UTF-8/],
    ['header with a lone surrogate byte', st({}, 0, Uint8Array.of(0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x7b, 0x7d, 0x7d)), /UTF-8/],
    ['header length beyond the file', (() => { const b = st({ a: t([0, 4]) }, 4); new DataView(b.buffer).setUint32(0, 1 << 30, true); return b; })(), /header length/],
    ['shape mismatch', st({ a: t([0, 8], [3]) }, 8), /needs 12 bytes/],
    ['a float shape', st({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /bad shape/],
    ['a huge shape', st({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4), /needs|too large/],
    ['an unknown dtype', st({ a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4), /unsupported dtype/],
    ['header not an object', st({}, 0, enc.encode('[1,2]')), /not a JSON object|unknown checkpoint format/],
  ];
  for (const [what, bytes, re] of stCases) {
    const p = file(`safetensors/${what.replace(/\W+/g, '_')}.safetensors`, bytes);
    add('accepted', `safetensors: ${what}`, { lib: 'checkpoint', path: p }, new RegExp(`${esc(p)}.*${re.source}`));
    // the same bytes as the second shard of a sharded folder
    const d = join(dir, 'shards', what.replace(/\W+/g, '_'));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'model-00001-of-00002.safetensors'), st({ x: t([0, 4]) }, 4));
    writeFileSync(join(d, 'model-00002-of-00002.safetensors'), bytes);
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: { x: 'model-00001-of-00002.safetensors', a: 'model-00002-of-00002.safetensors' } }));
    add('accepted', `sharded safetensors: ${what} in shard 2`, { lib: 'checkpoint', path: d }, new RegExp(`${esc(join(d, 'model-00002-of-00002.safetensors'))}.*${re.source}`));
  }
  {
    const d = join(dir, 'shards', 'escape');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: '../../etc/passwd' } }));
    add('accepted', 'sharded safetensors: a shard path outside the folder', { lib: 'checkpoint', path: d }, /bad shard name/);
  }
  // model configs: unsupported activations, BEATs cfg values
  for (const v of ['gelu', 'relu', 'swish', 'tanh', '']) jsonCase('accepted', 'vicuna', 'hidden_act', v, (p) => named(p, "'hidden_act'", 'silu'));
  for (const v of ['relu', 'silu', 'gelu_new']) jsonCase('accepted', 'whisper', 'activation_function', v, (p) => named(p, "'activation_function'", 'gelu'));
  for (const v of ['relu', 'silu']) jsonCase('accepted', 'bert', 'hidden_act', v, (p) => named(p, "'hidden_act'", 'gelu'));
  jsonCase('accepted', 'whisper', 'num_mel_bins', 128, (p) => named(p, "'num_mel_bins' is 128", '80-bin'));
  jsonCase('vague', 'vicuna', 'num_attention_heads', 3, (p) => named(p, "'num_attention_heads' = 3 does not divide 'hidden_size'"));
  jsonCase('vague', 'whisper', 'encoder_attention_heads', 5, (p) => named(p, "'encoder_attention_heads' = 5 does not divide 'd_model'"));
  jsonCase('vague', 'bert', 'num_attention_heads', 7, (p) => named(p, "'num_attention_heads' = 7 does not divide 'hidden_size'"));
  {
    // BEATs cfg inside beats.pt: re-saved with one value changed
    const ck = await openTorch(new MemorySource(new Uint8Array(readFileSync(join(fx, 'beats.pt'))), 'beats.pt'));
    const root = (await materialize(ck.root)) as Map<string, PyValue>;
    const cfg0 = root.get('cfg') as Map<string, PyValue>;
    const beatsCase = (cls: string, key: string, value: PyValue, re: string): void => {
      const cfg = new Map(cfg0);
      cfg.set(key, value);
      const r = new Map(root);
      r.set('cfg', cfg);
      const p = file(`beats/${key}_${String(value instanceof PyFloat ? value.value : value).replace(/\W+/g, '_')}.pt`, encodeTorchSave(r, { archiveName: 'beats' }));
      add(cls, `BEATs cfg ${key}: ${value instanceof PyFloat ? value.value : JSON.stringify(value)}`, { cli: 'evaluate', config: decodeCfg(decodeBase.replace(/beats_path: ".*"/, `beats_path: "${p}"`)) }, named(p, 'cfg', `'${key}'`, re));
    };
    for (const v of [-1, -1280, 0, 1]) beatsCase('accepted', 'max_distance', v, 'must be >');
    for (const v of ['relu', 'swish']) beatsCase('accepted', 'activation_fn', v, 'gelu');
    for (const v of [1_000_000, 2 ** 31, -1, 0]) beatsCase('sizes', 'encoder_layers', v, 'must be');
    for (const v of [1_000_000, 0]) beatsCase('sizes', 'encoder_embed_dim', v, 'must be');
    for (const v of [0, 1_000_000]) beatsCase('sizes', 'num_buckets', v, 'must be');
    beatsCase('vague', 'encoder_attention_heads', 7, 'does not divide');
    beatsCase('accepted', 'dropout', -0.5, 'must be');
    // no cfg at all
    const r = new Map(root);
    r.delete('cfg');
    const p = file('beats/nocfg.pt', encodeTorchSave(r, { archiveName: 'beats' }));
    add('accepted', 'BEATs checkpoint without cfg', { cli: 'evaluate', config: decodeCfg(decodeBase.replace(/beats_path: ".*"/, `beats_path: "${p}"`)) }, named(p, 'cfg'));
  }
  // train config values and the data JSON
  for (const [k, v] of [['iters_per_epoch', '0'], ['iters_per_epoch', '-3'], ['iters_per_epoch', '1.5'], ['iters_per_epoch', '"ten"'], ['iters_per_epoch', '1e400']]) {
    const p = trainCfg(yamlSet(trainBase, ['run', k], v));
    add('accepted', `train config run.${k}: ${v}`, { cli: 'train', config: p }, named(p, `'run.${k}'`));
  }
  for (const [what, ew] of [['a string', '"a.wav"'], ['a number', '3'], ['an object', '{"a": 1}'], ['a list of numbers', '[1, 2]'], ['true', 'true']]) {
    const data = JSON.parse(readFileSync(join(fx, 'data/test.json'), 'utf8'));
    data.annotation[0].expand_wav = JSON.parse(ew);
    const p = file(`data/expand_${what.replace(/\W+/g, '_')}.json`, JSON.stringify(data));
    add('accepted', `evaluate data: expand_wav ${what}`, { lib: 'annotations', path: p }, named(p, 'annotation\\[0\\]\\.expand_wav'));
    const q = trainCfg(trainBase.replace(/train_ann_path: ".*"/, `train_ann_path: "${p}"`));
    add('accepted', `train data: expand_wav ${what}`, { cli: 'train', config: q }, named(p, 'annotation\\[0\\]\\.expand_wav'));
  }
  for (const [what, text, re] of [
    ['no annotation list', '{"x": []}', "'annotation'"],
    ['annotation not a list', '{"annotation": {"a": 1}}', "'annotation'"],
    ['an item that is a string', '{"annotation": ["a.wav"]}', 'annotation\\[0\\]'],
    ['path a number', '{"annotation": [{"path": 3, "text": "x"}]}', 'annotation\\[0\\]\\.path'],
    ['no path', '{"annotation": [{"text": "x"}]}', "annotation\\[0\\] has no 'path'"],
    ['text a list', '{"annotation": [{"path": "a.wav", "text": ["x"]}]}', 'annotation\\[0\\]\\.text'],
    ['truncated JSON', '{"annotation": [', 'not valid JSON'],
    ['deeply nested JSON', '{"annotation": ' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', 'annotation\\[0\\]'],
  ]) {
    const p = file(`data/${what.replace(/\W+/g, '_')}.json`, text);
    add('accepted', `data JSON: ${what}`, { lib: 'annotations', path: p }, named(p, re));
  }
  // audio
  {
    const wav = readFileSync(join(fx, 'audio/chirp3s.wav'));
    const mut = (f: (b: Uint8Array, dv: DataView) => void): Uint8Array => { const b = new Uint8Array(wav); f(b, new DataView(b.buffer)); return b; };
    for (const [what, bytes] of [
      ['empty', new Uint8Array(0)],
      ['RIFF only', enc.encode('RIFF')],
      ['channels 0', mut((_b, dv) => dv.setUint16(22, 0, true))],
      ['sample rate 0', mut((_b, dv) => dv.setUint32(24, 0, true))],
      ['sample rate 4e9', mut((_b, dv) => dv.setUint32(24, 4e9, true))],
      ['bits per sample 0', mut((_b, dv) => dv.setUint16(34, 0, true))],
      ['bits per sample 7', mut((_b, dv) => dv.setUint16(34, 7, true))],
      ['format tag 2 (ADPCM)', mut((_b, dv) => dv.setUint16(20, 2, true))],
      ['data chunk size 4 GiB', mut((_b, dv) => dv.setUint32(40, 0xffffffff, true))],
      ['fmt chunk size 4 GiB', mut((_b, dv) => dv.setUint32(16, 0xfffffff0, true))],
      ['truncated header', wav.subarray(0, 30)],
      ['not audio', enc.encode('hello world, not a wave file at all')],
    ] as const) {
      const p = file(`audio/${what.replace(/\W+/g, '_')}.wav`, bytes);
      // a data size past the end is read to the end (as libsndfile); 7 valid bits in a 16-bit container are legal
      add('accepted', `audio: ${what}`, { lib: 'audio', path: p }, what === 'data chunk size 4 GiB' || what === 'bits per sample 7' ? 'either' : named(p));
    }
  }
  // FLAC containers (the decoder itself is tested with real encoders in test/io/audio.test.ts)
  for (const [what, bytes] of [
    ['fLaC and nothing else', enc.encode('fLaC')],
    ['fLaC with a truncated STREAMINFO', Uint8Array.of(0x66, 0x4c, 0x61, 0x43, 0x80, 0x00, 0x00, 0x22, 0x10, 0x00)],
    ['fLaC with a 16 MB metadata block length', Uint8Array.of(0x66, 0x4c, 0x61, 0x43, 0x80, 0xff, 0xff, 0xff, 0x10, 0x00)],
  ] as const) {
    const p = file(`audio/${what.replace(/\W+/g, '_')}.flac`, bytes);
    add('accepted', `audio: ${what}`, { lib: 'audio', path: p }, named(p));
  }
  // the training prompt JSON
  for (const [what, text, re] of [
    ['not an object', '["<SpeechHere>"]', 'expected an object'],
    ['a task with numbers', '{"asr": [1, 2]}', "'asr' must be a list of strings"],
    ['truncated', '{"asr": [', 'not valid JSON'],
    ['deeply nested', '{"asr": ' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', "'asr' must be a list of strings"],
  ] as const) {
    const p = file(`prompts/${what.replace(/\W+/g, '_')}.json`, text);
    add('accepted', `train prompt_path: ${what}`, { cli: 'train', config: trainCfg(trainBase.replace(/prompt_path: ".*"/, `prompt_path: "${p}"`)) }, named(p, re));
  }
  add('unbounded-read', 'train prompt_path: a FIFO', { cli: 'train', config: trainCfg(trainBase.replace(/(\n\s*)prompt_path: ".*"/, `$1prompt_path: "${fifo}"`)) }, named(fifo, 'FIFO'));

  // .npy
  for (const [what, hdr] of [
    ['a huge shape', "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }"],
    ['a float shape', "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }"],
    ['an object dtype', "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"],
    ['big-endian', "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }"],
    ['no shape', "{'descr': '<f4', 'fortran_order': False}"],
    ['data beyond the file', "{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }"],
  ]) {
    const h = enc.encode(hdr.padEnd(118, ' ') + '\n');
    const b = new Uint8Array(10 + h.length + 12);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(b.buffer).setUint16(8, h.length, true);
    b.set(h, 10);
    const p = file(`npy/${what.replace(/\W+/g, '_')}.npy`, b);
    add('accepted', `npy: ${what}`, { lib: 'npy', path: p }, named(p));
  }

  // ---- output paths -----------------------------------------------------------------------------------------
  {
    const dev = join(dir, 'special/nulldev');
    execFileSync('mknod', [dev, 'c', '1', '3']);
    const existingDir = join(dir, 'special/out-dir');
    mkdirSync(existingDir);
    const linkToDev = join(dir, 'special/link-to-dev');
    symlinkSync(dev, linkToDev);
    for (const [what, p, re] of [
      ['/proc/self/ahamask-out.json', '/proc/self/ahamask-out.json', 'refusing to write under /proc'],
      ['/proc/sys/kernel/ahamask', '/proc/sys/kernel/ahamask', 'refusing to write under /proc'],
      ['/sys/ahamask.json', '/sys/ahamask.json', 'refusing to write under /sys'],
      ['a character device', dev, 'character device'],
      ['a symlink to a device', linkToDev, 'character device'],
      ['an existing directory', existingDir, 'directory'],
      ['a FIFO', fifo, 'FIFO'],
      ['a file whose folder is a file', join(dir, 'valid/a.npy/out.json'), 'not a directory|cannot create'],
    ] as const) {
      add('output', `write: ${what}`, { lib: 'write', path: p }, new RegExp(`${esc(p)}.*(${re})`));
      add('output', `evaluate output_path: ${what}`, { cli: 'evaluate', config: decodeCfg(decodeBase.replace(/output_path: ".*"/, `output_path: "${p}"`)) }, new RegExp(`${esc(p)}.*(${re})`));
      const [mt, ms] = goodMask();
      add('output', `mask show --svg ${what}`, { cli: 'mask', args: ['show', file(`out/mask_${cases.length}.pth`, maskZip(mt, ms)), '--layers', '2', '--svg', p] }, new RegExp(`${esc(p)}.*(${re})`));
    }
    for (const [what, p, re] of [
      ['under /proc', '/proc/self/ahamask-train', 'refusing to write under /proc'],
      ['a character device', dev, 'character device'],
      ['a regular file', join(dir, 'valid/a.npy'), 'not a directory'],
    ] as const) {
      add('output', `train output_dir: ${what}`, { cli: 'train', config: trainCfg(trainBase.replace(/output_dir: ".*"/, `output_dir: "${p}"`)) }, new RegExp(`${esc(p)}.*(${re})`));
    }
  }

  // ---- vague messages: config values that break the model ----------------------------------------------------
  const decodeKeys: Array<[string[], string[]]> = [
    [['model', 'second_stride'], ['0', '-0.5', '1e-9', '31', '.nan', '"x"']],
    [['model', 'second_per_window'], ['0', '-1', '1e-9', '100', '.inf']],
    [['model', 'lora_rank'], ['0', '-8', '2.5', '100000000']],
    [['model', 'num_speech_query_token'], ['0', '-1', '100000']],
    [['model', 'lora_dropout'], ['1', '-0.1']],
    [['model', 'max_txt_len'], ['0']],
    [['generate', 'num_beams'], ['0', '-1', '100000', '1e400']],
    [['generate', 'max_new_tokens'], ['0', '-5', '1e8', '1e20']],
    [['generate', 'temperature'], ['0', '-1']],
    [['generate', 'top_p'], ['0', '1.5']],
    [['generate', 'min_length'], ['-1']],
    [['generate', 'repetition_penalty'], ['0']],
    [['prob_threshold'], ['-0.5', '2', '.nan']],
    [['batch_size_eval'], ['0', '-1']],
    [['num_workers'], ['-1']],
  ];
  for (const [path, values] of decodeKeys) {
    for (const v of values) {
      const p = decodeCfg(yamlSet(decodeBase, path, v));
      const key = path.join('.');
      add('vague', `decode config ${key}: ${v}`, { cli: 'evaluate', config: p }, named(p, `'${key}'`));
    }
  }
  const trainKeys: Array<[string[], string[]]> = [
    [['run', 'batch_size_train'], ['0', '-2']],
    [['run', 'tau_temp_begin'], ['-1', '0']],
    [['run', 'tau_temp_end'], ['0']],
    [['run', 'tau_decay_steps'], ['0', '-0.3']],
    [['run', 'accum_grad_iters'], ['0']],
    [['run', 'log_freq'], ['0']],
    [['run', 'norm_lambda'], ['-1', '.nan']],
    [['run', 'world_size'], ['0']],
    [['run', 'optims', 'max_epoch'], ['0', '-1']],
    [['run', 'optims', 'init_lr'], ['-0.01', '.inf']],
    [['run', 'optims', 'min_lr'], ['-1']],
    [['run', 'optims', 'warmup_steps'], ['-5']],
    [['run', 'optims', 'warmup_start_lr'], ['-0.5']],
    [['run', 'optims', 'beta2'], ['1', '1.5']],
    [['run', 'optims', 'weight_decay'], ['-0.05']],
    [['model', 'second_stride'], ['0']],
    [['model', 'lora_rank'], ['0']],
  ];
  for (const [path, values] of trainKeys) {
    for (const v of values) {
      const p = trainCfg(yamlSet(trainBase, path, v));
      add('vague', `train config ${path.join('.')}: ${v}`, { cli: 'train', config: p }, named(p, `'${path.join('.')}'`));
    }
  }
  // memory: what is needed and the adapter's limit
  for (const [k, v] of [['num_beams', '100000'], ['max_new_tokens', '100000000']]) {
    const p = decodeCfg(yamlSet(decodeBase, ['generate', k], v));
    add('vague', `decode config generate.${k}: ${v} (memory)`, { cli: 'evaluate', config: p }, named(p, `'generate.${k}'`, 'needs a KV cache', 'largest tensor', 'at most'));
  }
  return cases;
}
