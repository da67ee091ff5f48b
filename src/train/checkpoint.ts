// Training checkpoints: `checkpoint_{epoch}.pth` as AHAMask's runner saves them,
//   {'model': OrderedDict({'tensor': float32[L*(H+1)]}), 'optimizer': AdamW.state_dict(), 'config': dict,
//    'scaler': None, 'epoch': int}
// plus one extra key, 'ahamask_resume', holding what an exact resume needs beyond the optimizer (RNG and loader
// states, the global step). torch.load reads it as plain dicts/lists; `ahamask evaluate` reads ['model']['tensor'].
import { FormatError } from '../errors.js';
import type { ByteSource } from '../io/bytes.js';
import { encodeMaskCheckpoint, readMaskCheckpoint } from '../io/mask.js';
import { PyTuple, pyFloat, type PyValue } from '../io/pickle.js';
import { isStoredTensor, materialize, TensorValue } from '../io/torch.js';
import type { TrainFs } from './fs.js';
import type { LoaderState, RngState } from './data.js';

/** AdamW state of the single mask parameter (torch semantics). */
export interface AdamState {
  /** Optimizer steps taken (torch's state['step']). */
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Weight decay of the mask's group (0: the 1-D mask is in LAVIS's no-decay group). */
  weightDecay: number;
  /** The config's weight_decay (only the empty >= 2-D group gets it). */
  configWeightDecay: number;
}

export interface ResumeState {
  version: 1;
  /** Global steps completed. */
  globalStep: number;
  /** Epochs completed (the checkpoint's 'epoch' + 1). */
  epochsDone: number;
  rng: Record<string, RngState>;
  loader: LoaderState;
  /** Data-parallel world size the run used (informational). */
  worldSize: number;
  /** Running sums of the epoch in progress (for its mean train loss). */
  epochStats?: { loss: number; ce: number; n: number };
}

export interface TrainCheckpoint {
  logits: Float32Array;
  adam: AdamState | null;
  /** Hyper-parameters of the mask's param group as saved. */
  hyper: Partial<AdamHyper>;
  epoch: number | null;
  config: unknown;
  resume: ResumeState | null;
}

/** torch.optim.AdamW.state_dict() for LAVIS's two groups: [{wd: cfg, params: []}, {wd: 0, params: [0]}]. */
export function adamStateDict(adam: AdamState | null, h: AdamHyper): Map<string, PyValue> {
  const group = (wd: number, params: number[]): Map<string, PyValue> =>
    new Map<string, PyValue>([
      ['lr', pyFloat(h.lr)],
      ['betas', new PyTuple([pyFloat(h.beta1), pyFloat(h.beta2)])],
      ['eps', pyFloat(h.eps)],
      ['weight_decay', wd],
      ['amsgrad', false],
      ['foreach', null],
      ['maximize', false],
      ['capturable', false],
      ['differentiable', false],
      ['fused', null],
      ['params', params],
    ]);
  const state = new Map<number, PyValue>();
  if (adam) {
    state.set(0, new Map<string, PyValue>([
      ['step', new TensorValue('f32', [], Float32Array.of(adam.step))],
      ['exp_avg', new TensorValue('f32', [adam.expAvg.length], Float32Array.from(adam.expAvg))],
      ['exp_avg_sq', new TensorValue('f32', [adam.expAvgSq.length], Float32Array.from(adam.expAvgSq))],
    ]));
  }
  return new Map<string, PyValue>([
    ['state', state],
    ['param_groups', [group(h.configWeightDecay, []), group(h.weightDecay, [0])]],
  ]);
}

/** A JSON-like value (YAML config) as pickle-able dicts/lists; non-integral numbers stay floats. */
function toPy(v: unknown): PyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? v : pyFloat(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toPy);
  if (typeof v === 'object') {
    const m = new Map<string, PyValue>();
    for (const [k, x] of Object.entries(v as object)) m.set(k, toPy(x));
    return m;
  }
  return String(v);
}

function rngToPy(s: RngState): PyValue {
  return s.map((x) => (Number.isInteger(x) ? x : pyFloat(x)));
}

function resumeToPy(r: ResumeState): PyValue {
  const rng = new Map<string, PyValue>();
  for (const [k, v] of Object.entries(r.rng)) rng.set(k, rngToPy(v));
  return new Map<string, PyValue>([
    ['version', r.version],
    ['global_step', r.globalStep],
    ['epochs_done', r.epochsDone],
    ['world_size', r.worldSize],
    ['epoch_stats', r.epochStats ? [pyFloat(r.epochStats.loss), pyFloat(r.epochStats.ce), r.epochStats.n] : null],
    ['rng', rng],
    ['loader', new Map<string, PyValue>([
      ['n', r.loader.n ?? null],
      ['pass', r.loader.pass],
      ['pos', r.loader.pos],
      ['pass_rng', r.loader.passRng ? rngToPy(r.loader.passRng) : null],
      ['rng', rngToPy(r.loader.rng)],
    ])],
  ]);
}

export interface EncodeTrainCheckpointArgs {
  logits: Float32Array;
  adam: AdamState | null;
  hyper: AdamHyper;
  /** The parsed YAML config (saved as a dict, like config.to_dict()). */
  config: unknown;
  /** The epoch just finished (0-based, as the runner saves it). */
  epoch: number;
  resume: ResumeState;
  archiveName?: string;
}

export function encodeTrainCheckpoint(a: EncodeTrainCheckpointArgs): Uint8Array {
  return encodeMaskCheckpoint(
    a.logits,
    {
      optimizer: adamStateDict(a.adam, a.hyper),
      config: toPy(a.config),
      scaler: null,
      epoch: a.epoch,
      ahamask_resume: resumeToPy(a.resume),
    },
    { archiveName: a.archiveName ?? `checkpoint_${a.epoch}` },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);

function getKey(m: unknown, k: string | number): unknown {
  return m instanceof Map ? m.get(k) ?? (typeof k === 'number' ? m.get(BigInt(k)) : undefined) : undefined;
}

function tensorF32(v: unknown): Float32Array | null {
  if (v instanceof TensorValue) return Float32Array.from(v.data as ArrayLike<number>, Number);
  return null;
}

function rngFromPy(v: unknown, file: string, what: string): RngState {
  if (!Array.isArray(v) || v.length < 4 || v.slice(0, 4).some((x) => num(x) === null)) throw new FormatError(file, `ahamask_resume: bad RNG state '${what}'`);
  return v.map((x) => num(x) ?? NaN);
}

function resumeFromPy(v: unknown, file: string): ResumeState | null {
  if (!(v instanceof Map)) return null;
  const rngMap = getKey(v, 'rng');
  const rng: Record<string, RngState> = {};
  if (rngMap instanceof Map) for (const [k, x] of rngMap) rng[String(k)] = rngFromPy(x, file, String(k));
  const l = getKey(v, 'loader');
  const passRng = getKey(l, 'pass_rng');
  const es = getKey(v, 'epoch_stats');
  return {
    version: 1,
    globalStep: num(getKey(v, 'global_step')) ?? 0,
    epochsDone: num(getKey(v, 'epochs_done')) ?? 0,
    worldSize: num(getKey(v, 'world_size')) ?? 1,
    epochStats: Array.isArray(es) && es.length === 3 ? { loss: num(es[0]) ?? 0, ce: num(es[1]) ?? 0, n: num(es[2]) ?? 0 } : undefined,
    rng,
    loader: {
      n: num(getKey(l, 'n')) ?? undefined,
      pass: num(getKey(l, 'pass')) ?? 0,
      pos: num(getKey(l, 'pos')) ?? 0,
      passRng: Array.isArray(passRng) ? rngFromPy(passRng, file, 'loader.pass_rng') : null,
      rng: rngFromPy(getKey(l, 'rng'), file, 'loader.rng'),
    },
  };
}

/**
 * Every tensor in ['optimizer']['state'] must have no more elements than the mask (AdamW keeps one exp_avg and one
 * exp_avg_sq of the mask's size and a scalar step): checked on the declared shapes, before anything is read.
 */
function checkOptimizerSizes(opt: PyValue, maskLength: number, file: string): void {
  const st = getKey(opt, 'state');
  if (!(st instanceof Map)) return;
  for (const [k, s] of st) {
    if (!(s instanceof Map)) continue;
    for (const [name, t] of s) {
      if (isStoredTensor(t) && t.numel > maskLength) {
        throw new FormatError(file, `['optimizer']['state'][${String(k)}]['${String(name)}'] has shape [${t.shape}] (${t.numel} elements); the mask has ${maskLength}`);
      }
    }
  }
}

/**
 * Reads a mask or training checkpoint: the logits always; AdamW state, epoch, config and the resume state when
 * present (a released mask has none of them).
 */
export async function readTrainCheckpoint(source: ByteSource): Promise<TrainCheckpoint> {
  const ck = await readMaskCheckpoint(source);
  const file = ck.file;
  const root = ck.root;
  const optRaw = (root.get('optimizer') ?? null) as PyValue;
  checkOptimizerSizes(optRaw, ck.logits.length, file);
  const opt = await materialize(optRaw, `${file}: ['optimizer']`);
  let adam: AdamState | null = null;
  const hyper: Partial<AdamHyper> = {};
  if (opt instanceof Map) {
    const groups = getKey(opt, 'param_groups');
    const st = getKey(opt, 'state');
    if (Array.isArray(groups)) {
      const g = groups.find((x) => Array.isArray(getKey(x, 'params')) && (getKey(x, 'params') as unknown[]).length > 0) ?? groups[groups.length - 1];
      const betas = getKey(g, 'betas');
      hyper.lr = num(getKey(g, 'lr')) ?? undefined;
      if (betas instanceof PyTuple) {
        hyper.beta1 = num(betas.items[0]) ?? undefined;
        hyper.beta2 = num(betas.items[1]) ?? undefined;
      }
      hyper.eps = num(getKey(g, 'eps')) ?? undefined;
      hyper.weightDecay = num(getKey(g, 'weight_decay')) ?? undefined;
    }
    const s0 = getKey(st, 0);
    if (s0 instanceof Map) {
      const stepV = getKey(s0, 'step');
      const step = stepV instanceof TensorValue ? Number(stepV.data[0]) : num(stepV);
      const expAvg = tensorF32(getKey(s0, 'exp_avg'));
      const expAvgSq = tensorF32(getKey(s0, 'exp_avg_sq'));
      if (step === null || !expAvg || !expAvgSq) throw new FormatError(file, "['optimizer']['state'][0] lacks step/exp_avg/exp_avg_sq");
      if (expAvg.length !== ck.logits.length || expAvgSq.length !== ck.logits.length) {
        throw new FormatError(file, `optimizer state has ${expAvg.length} entries, the mask ${ck.logits.length}`);
      }
      adam = { step, expAvg, expAvgSq };
    }
  }
  const epoch = num(root.get('epoch'));
  const resumeRaw = await materialize((root.get('ahamask_resume') ?? null) as PyValue, `${file}: ['ahamask_resume']`);
  return { logits: ck.logits, adam, hyper, epoch, config: root.get('config') ?? null, resume: resumeFromPy(resumeRaw, file) };
}

const CKPT_RE = /^checkpoint_(\d+)\.pth$/;

/** The checkpoint with the highest epoch in `dir` (null when none). */
export async function findLastCheckpoint(fs: TrainFs, dir: string): Promise<{ path: string; epoch: number } | null> {
  let best: { path: string; epoch: number } | null = null;
  for (const f of await fs.list(dir)) {
    const m = CKPT_RE.exec(f);
    if (m && (!best || +m[1] > best.epoch)) best = { path: fs.join(dir, f), epoch: +m[1] };
  }
  return best;
}
