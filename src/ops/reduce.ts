// Ops of the reduce group: reductions, softmax, norms, rope, gather, concat/stack, argmax, cross-entropy.
// Every op validates shapes here and records one kernel with plain-data attrs (axes normalised), so the tape
// can replay/differentiate it.
import { AhamaskError, ShapeError } from '../errors.js';
import { run1 } from '../kernels/registry.js';
import { normAxis, shapesEqual } from '../tensor/shape.js';
import { Tensor, fromHost } from '../tensor/tensor.js';

/**
 * Host ids/positions/targets uploaded for a GPU op are freed right after it (the autograd tape retains the
 * storages it saves, so a later backward still sees them).
 */
function freeUpload(upload: Tensor, original: Tensor): void {
  if (upload !== original) upload.dispose();
}

function axisOf(x: Tensor, axis: number, what: string): number {
  if (x.rank === 0) throw new ShapeError(`${what}: needs a tensor of rank >= 1, got a scalar`);
  return normAxis(axis, x.rank);
}

function reduction(op: 'sum' | 'mean' | 'max') {
  return (x: Tensor, axis: number, keepDims = false): Tensor => {
    const a = axisOf(x, axis, op);
    if (op === 'max' && x.shape[a] === 0) throw new ShapeError(`max: axis ${axis} of [${x.shape}] is empty`);
    return run1(op, [x], { axis: a, keepDims });
  };
}

/** Sum along `axis` (negative counts from the end); f32 result. */
export const sum = reduction('sum');
/** Mean along `axis`; f32 result. */
export const mean = reduction('mean');
/** Maximum along `axis` (NaN propagates, as torch.amax); f32 result. */
export const max = reduction('max');

/** Numerically stable softmax along `axis` (f32 math and result). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return run1('softmax', [x], { axis: axisOf(x, axis, 'softmax') });
}

/** Numerically stable log-softmax along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return run1('logSoftmax', [x], { axis: axisOf(x, axis, 'logSoftmax') });
}

function checkVector(t: Tensor, n: number, what: string): void {
  if (t.rank !== 1 || t.shape[0] !== n) throw new ShapeError(`${what} must have shape [${n}], got [${t.shape}]`);
  if (t.dtype === 'i32') throw new ShapeError(`${what} must be f32 or f16`);
}

/** LayerNorm over the last dim as torch (biased variance): (x - mean) / sqrt(var + eps) * weight + bias. */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const d = x.shape[axisOf(x, -1, 'layerNorm')];
  if (weight) checkVector(weight, d, 'layerNorm weight');
  if (bias) checkVector(bias, d, 'layerNorm bias');
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return run1('layerNorm', inputs, { eps, hasWeight: !!weight, hasBias: !!bias });
}

export interface RmsNormOptions {
  /**
   * Reproduce HF's fp16 path: the normalised value is cast to f16 before the weight multiply, and the product
   * is rounded to f16 (the result is still stored as f32). Default false: everything stays f32.
   */
  halfCast?: boolean;
}

/**
 * RMSNorm over the last dim as HF LlamaRMSNorm: variance = mean(x^2) in f32, h = x * rsqrt(variance + eps),
 * y = weight * h.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6, opts: RmsNormOptions = {}): Tensor {
  checkVector(weight, x.shape[axisOf(x, -1, 'rmsNorm')], 'rmsNorm weight');
  return run1('rmsNorm', [x, weight], { eps, halfCast: opts.halfCast ?? false });
}

export interface RopeOptions {
  /** 'bhtd' (default): x is [B, H, T, D]; 'bthd': x is [B, T, H, D]. */
  layout?: 'bhtd' | 'bthd';
  /**
   * GPU positions: the largest position they hold (sizes the cached cos/sin table as a CPU positions tensor
   * does; positions beyond the table use in-kernel cos/sin). Ignored for CPU positions (read from the values).
   */
  maxPosition?: number;
}

/**
 * Rotary position embedding with HF's rotate_half convention (first half / second half):
 * y = x * cos + rotate_half(x) * sin, inv_freq = 1 / theta^(2i/D), angles positions * inv_freq in f32.
 * positions: i32 [T] or [B, T]; a CPU positions tensor is uploaded when x is on the GPU (keep positions on the
 * GPU, with `maxPosition`, to avoid an upload, and the submit it forces, per call).
 */
export function rope(x: Tensor, positions: Tensor, theta = 10000, opts: RopeOptions = {}): Tensor {
  const layout = opts.layout ?? 'bhtd';
  if (layout !== 'bhtd' && layout !== 'bthd') throw new ShapeError(`rope: unknown layout '${layout}'`);
  if (x.rank !== 4) throw new ShapeError(`rope: x must be [B, H, T, D] or [B, T, H, D], got [${x.shape}]`);
  const B = x.shape[0], T = x.shape[layout === 'bhtd' ? 2 : 1], D = x.shape[3];
  if (D % 2) throw new ShapeError(`rope: head dim ${D} must be even`);
  if (positions.dtype !== 'i32') throw new ShapeError(`rope: positions must be i32, got ${positions.dtype}`);
  const okShape = (positions.rank === 1 && positions.shape[0] === T) || (positions.rank === 2 && positions.shape[0] === B && positions.shape[1] === T);
  if (!okShape) throw new ShapeError(`rope: positions must be [${T}] or [${B}, ${T}], got [${positions.shape}]`);
  let maxPosition = positions.backend === 'cpu' ? 0 : Math.max(0, opts.maxPosition ?? 0);
  let p = positions;
  if (positions.backend === 'cpu') {
    for (const v of positions.dataSync()) maxPosition = Math.max(maxPosition, v);
    if (x.backend !== 'cpu') p = fromHost(positions.dataSync(), positions.shape, 'i32', x.device!);
  }
  const y = run1('rope', [x, p], { theta, layout, maxPosition });
  freeUpload(p, positions);
  return y;
}

/**
 * Embedding lookup: table [V, D] (f32 or f16) indexed by i32 ids of any shape -> [...ids.shape, D] f32.
 * CPU ids are range-checked (and uploaded when the table is on the GPU); out-of-range GPU ids give zero rows.
 */
export function gather(table: Tensor, ids: Tensor): Tensor {
  if (table.rank !== 2) throw new ShapeError(`gather: table must be [V, D], got [${table.shape}]`);
  if (ids.dtype !== 'i32') throw new ShapeError(`gather: ids must be i32, got ${ids.dtype}`);
  let i = ids;
  if (ids.backend === 'cpu') {
    const V = table.shape[0];
    const v = ids.dataSync();
    for (let n = 0; n < v.length; n++) {
      if (!(v[n] >= 0 && v[n] < V)) throw new ShapeError(`gather: id ${v[n]} at index ${n} is out of range for a table of ${V} rows`);
    }
    if (table.backend !== 'cpu') i = fromHost(v, ids.shape, 'i32', table.device!);
  }
  const y = run1('gather', [table, i], {});
  freeUpload(i, ids);
  return y;
}

/**
 * Concatenation along `axis` (negative counts from the end). The result has the inputs' dtype when they
 * all share one, else f32.
 */
export function concat(tensors: Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const first = tensors[0];
  const a = axisOf(first, axis, 'concat');
  for (const t of tensors) {
    const ok = t.rank === first.rank && t.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) throw new ShapeError(`concat: shapes [${first.shape}] and [${t.shape}] differ outside axis ${axis}`);
  }
  return run1('concat', tensors, { axis: a });
}

/** Stacks same-shape tensors along a new axis (unsqueeze + concat). */
export function stack(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: needs at least one tensor');
  const rank = tensors[0].rank;
  const a = axis < 0 ? axis + rank + 1 : axis;
  if (!Number.isInteger(a) || a < 0 || a > rank) throw new ShapeError(`stack: axis ${axis} out of range for rank ${rank}`);
  for (const t of tensors) {
    if (!shapesEqual(t.shape, tensors[0].shape)) throw new ShapeError(`stack: shapes [${tensors[0].shape}] and [${t.shape}] differ`);
  }
  const views = tensors.map((t) => t.unsqueeze(a));
  const y = concat(views, a);
  for (let i = 0; i < views.length; i++) if (views[i] !== tensors[i]) views[i].dispose();
  return y;
}

/** Index of the maximum along `axis` as i32 (the first one on ties, as torch; NaN counts as the maximum). */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  const a = axisOf(x, axis, 'argmax');
  if (x.shape[a] === 0) throw new ShapeError(`argmax: axis ${axis} of [${x.shape}] is empty`);
  return run1('argmax', [x], { axis: a, keepDims });
}

function checkCE(logits: Tensor, targets: Tensor): void {
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy: logits must be [N, V], got [${logits.shape}]`);
  if (targets.dtype !== 'i32') throw new ShapeError(`crossEntropy: targets must be i32, got ${targets.dtype}`);
  if (targets.rank !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new ShapeError(`crossEntropy: targets must have shape [${logits.shape[0]}], got [${targets.shape}]`);
  }
}

function ceTargets(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  if (targets.backend !== 'cpu') return targets;
  const V = logits.shape[1], v = targets.dataSync();
  for (let r = 0; r < v.length; r++) {
    if (v[r] !== ignoreIndex && !(v[r] >= 0 && v[r] < V)) throw new ShapeError(`crossEntropy: target ${v[r]} at row ${r} is out of range for ${V} classes`);
  }
  return logits.backend === 'cpu' ? targets : fromHost(v, targets.shape, 'i32', logits.device!);
}

/**
 * torch.nn.functional.cross_entropy(logits, targets, ignore_index, reduction='mean'): mean over rows whose
 * target is not ignoreIndex of logsumexp(row) - row[target]; shape []. NaN when every row is ignored (as torch).
 * CPU targets are range-checked; on the GPU an out-of-range target gives a NaN loss.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = -100): Tensor {
  if (!Number.isInteger(ignoreIndex)) throw new AhamaskError(`crossEntropy: ignoreIndex must be an integer, got ${ignoreIndex}`);
  checkCE(logits, targets);
  const t = ceTargets(logits, targets, ignoreIndex);
  const y = run1('crossEntropy', [logits, t], { ignoreIndex });
  freeUpload(t, targets);
  return y;
}

/** Per-row cross-entropy losses [N] (0 for ignored rows): reduction='none'. */
export function crossEntropyPerRow(logits: Tensor, targets: Tensor, ignoreIndex = -100): Tensor {
  if (!Number.isInteger(ignoreIndex)) throw new AhamaskError(`crossEntropyPerRow: ignoreIndex must be an integer, got ${ignoreIndex}`);
  checkCE(logits, targets);
  const t = ceTargets(logits, targets, ignoreIndex);
  const y = run1('crossEntropyPerRow', [logits, t], { ignoreIndex });
  freeUpload(t, targets);
  return y;
}
