// AHAMask mask checkpoints: torch.save({'model': OrderedDict({'tensor': float32[L*(H+1)]}), ...}).
// Layout: index l*(H+1) + h is head h of LLaMA layer l; index l*(H+1) + H is the unused "FFN" slot.
// A head is on iff sigmoid(logit) >= 0.5, i.e. logit >= 0 (inclusive).
import { FormatError, ShapeError } from '../errors.js';
import type { ByteSource } from './bytes.js';
import type { PyValue } from './pickle.js';
import { encodeTorchSave, isStoredTensor, openTorch, stateDict, TensorValue } from './torch.js';

export interface MaskLayout {
  nLayers: number;
  nHeads: number;
}

/** Known square LLaMA layouts by vector length (13B: 40 x 40 -> 1640, 7B: 32 x 32 -> 1056). */
export function inferMaskLayout(length: number, nLayers?: number, nHeads?: number): MaskLayout {
  const expect = (L: number, H: number): MaskLayout => {
    if (L * (H + 1) !== length || !Number.isInteger(L) || !Number.isInteger(H) || L < 1 || H < 1) {
      throw new ShapeError(`mask has ${length} entries; expected ${L * (H + 1)} = ${L} layers x (${H} heads + 1 FFN slot)`);
    }
    return { nLayers: L, nHeads: H };
  };
  if (nLayers !== undefined && nHeads !== undefined) return expect(nLayers, nHeads);
  if (nLayers !== undefined) {
    if (length % nLayers !== 0) throw new ShapeError(`mask has ${length} entries; with ${nLayers} layers the length must be a multiple of ${nLayers} (layers x (heads + 1))`);
    return expect(nLayers, length / nLayers - 1);
  }
  if (nHeads !== undefined) {
    if (length % (nHeads + 1) !== 0) throw new ShapeError(`mask has ${length} entries; with ${nHeads} heads the length must be a multiple of ${nHeads + 1} (layers x (heads + 1))`);
    return expect(length / (nHeads + 1), nHeads);
  }
  const L = Math.round((Math.sqrt(4 * length + 1) - 1) / 2);
  if (L >= 1 && L * (L + 1) === length) return { nLayers: L, nHeads: L };
  throw new ShapeError(
    `cannot infer the layout of a mask with ${length} entries (expected 1640 = 40 x (40 + 1) for SALMONN-13B or 1056 = 32 x (32 + 1) for 7B); give the number of layers and heads`,
  );
}

/** The shortest decimal that parses back (then Math.fround) to the same float32 value. */
export function float32Shortest(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let p = 1; p <= 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return s;
  }
  return f;
}

export interface MaskSummary {
  n_layers: number;
  n_heads: number;
  /** Number of heads on (FFN slots excluded). */
  heads_on: number;
  /** Heads on per layer. */
  per_layer_on: number[];
  /** [layer][head] = 1 (on) or 0 (off). */
  head_on: number[][];
  /** The unused FFN slot of each layer (float32, shortest decimal). */
  ffn: number[];
  /** All logits in file order (float32, shortest decimal). */
  logits: number[];
}

/** Summary of a logit vector; layout inferred from the length unless given. */
export function maskSummary(logits: ArrayLike<number>, nLayers?: number, nHeads?: number): MaskSummary {
  const { nLayers: L, nHeads: H } = inferMaskLayout(logits.length, nLayers, nHeads);
  const head_on: number[][] = [];
  const per_layer_on: number[] = [];
  const ffn: number[] = [];
  let total = 0;
  for (let l = 0; l < L; l++) {
    const row: number[] = [];
    for (let h = 0; h < H; h++) row.push(Math.fround(logits[l * (H + 1) + h]) >= 0 ? 1 : 0);
    const on = row.reduce((a, b) => a + b, 0);
    head_on.push(row);
    per_layer_on.push(on);
    total += on;
    ffn.push(float32Shortest(logits[l * (H + 1) + H]));
  }
  return { n_layers: L, n_heads: H, heads_on: total, per_layer_on, head_on, ffn, logits: Array.from(logits, float32Shortest) };
}

/** Binary per-head multipliers (layer-major, L*H entries, FFN slots dropped): 1 where sigmoid(logit) >= threshold. */
export function headMask(logits: ArrayLike<number>, layout: MaskLayout, probThreshold = 0.5): Float32Array {
  const { nLayers: L, nHeads: H } = inferMaskLayout(logits.length, layout.nLayers, layout.nHeads);
  const out = new Float32Array(L * H);
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const x = Math.fround(logits[l * (H + 1) + h]);
      out[l * H + h] = probThreshold === 0.5 ? (x >= 0 ? 1 : 0) : (Math.fround(1 / (1 + Math.exp(-x))) >= probThreshold ? 1 : 0);
    }
  }
  return out;
}

/** What evaluate.py prints: % of all entries (FFN slots included) with sigmoid >= threshold. */
export function evaluatePyPercentOn(logits: ArrayLike<number>, probThreshold = 0.5): number {
  let n = 0;
  for (let i = 0; i < logits.length; i++) if (Math.fround(1 / (1 + Math.exp(-Math.fround(logits[i])))) >= probThreshold) n++;
  return (100 * n) / logits.length;
}

export interface MaskCheckpoint {
  file: string;
  /** torch.load(p)['model']['tensor'] as float32. */
  logits: Float32Array;
  /** The whole unpickled object (training checkpoints also carry 'optimizer', 'config', 'scaler', 'epoch'). */
  root: Map<unknown, PyValue>;
}

const MASK_DTYPES: ReadonlySet<string> = new Set(['f32', 'f16', 'bf16', 'f64']);
/** Largest mask accepted: 1024 layers x 63 heads (real LLaMAs: 40 x 41 = 1640 for 13B, 80 x 65 for 70B). */
export const MAX_MASK_LENGTH = 1 << 16;

/** Reads `torch.load(p)['model']['tensor']`. */
export async function readMaskCheckpoint(source: ByteSource): Promise<MaskCheckpoint> {
  const ck = await openTorch(source);
  const file = ck.file;
  const root = ck.root;
  if (!(root instanceof Map)) throw new FormatError(file, 'mask checkpoint is not a dict');
  const model = root.get('model');
  if (!(model instanceof Map)) throw new FormatError(file, "mask checkpoint has no 'model' dict (expected {'model': {'tensor': ...}})");
  const t = model.get('tensor');
  if (!isStoredTensor(t)) throw new FormatError(file, "mask checkpoint has no tensor at ['model']['tensor']");
  if (t.shape.length !== 1) throw new FormatError(file, `['model']['tensor'] has shape [${t.shape}], expected a 1-D vector`);
  // AHAMask applies sigmoid to the logits, which torch refuses on integer and bool tensors (a bool mask would
  // otherwise read as logits 0/1, i.e. every head on)
  if (!MASK_DTYPES.has(t.dtype)) throw new FormatError(file, `['model']['tensor'] has dtype ${t.dtype}; mask logits are floating point (f32, f16, bf16 or f64)`);
  if (t.numel > MAX_MASK_LENGTH) {
    throw new FormatError(file, `['model']['tensor'] has ${t.numel} entries; a mask has layers x (heads + 1) entries (1640 for SALMONN-13B), at most ${MAX_MASK_LENGTH}`);
  }
  return { file, logits: await t.toFloat32(), root };
}

export interface MaskCheckpointExtras {
  /** Optimizer state dict (plain numbers, Maps/objects, arrays, TensorValue / Float32Array tensors). */
  optimizer?: unknown;
  /** Plain config dict. */
  config?: unknown;
  /** GradScaler state (or null). */
  scaler?: unknown;
  epoch?: number;
  [key: string]: unknown;
}

/**
 * Encodes a mask checkpoint exactly as AHAMask's runner saves it: `{'model': OrderedDict({'tensor': float32[N]})`
 * with `_metadata`, then any extra top-level keys}, in the torch >= 2.1 zip layout.
 */
export function encodeMaskCheckpoint(logits: Float32Array, extras: MaskCheckpointExtras = {}, opts: { archiveName?: string } = {}): Uint8Array {
  const model = stateDict([['tensor', new TensorValue('f32', [logits.length], Float32Array.from(logits))]]);
  const root = new Map<string, unknown>([['model', model]]);
  for (const [k, v] of Object.entries(extras)) if (v !== undefined && k !== 'model') root.set(k, v);
  return encodeTorchSave(root, { archiveName: opts.archiveName ?? 'checkpoint' });
}
