// Ops of the attention group: fused attention (+ row logsumexp for training), its backward, the naive
// three-pass baseline, and the KV-cache helpers.
import { ShapeError } from '../errors.js';
import { runKernel, run1 } from '../kernels/registry.js';
import type { AttentionAttrs } from '../kernels/signatures.js';
import type { Tensor } from '../tensor/tensor.js';

export interface AttentionOptions {
  /** Query i attends keys j <= i + queryOffset. */
  causal?: boolean;
  /** Multiplies QK^T; default 1/sqrt(D). */
  scale?: number;
  /** Per batch row: keys >= keyLengths[b] are ignored (key padding). A tensor (i32 or f32, [B]) or numbers. */
  keyLengths?: Tensor | number[];
  /** Additive score bias [H, Tq, Tk] or [B, H, Tq, Tk] (size-1 axes broadcast). */
  bias?: Tensor;
  /** Per-head output multiplier [B, H] or [H] (AHAMask), applied to softmax·V. */
  headMask?: Tensor;
  /** Offset of query 0 in the key sequence, for causal masking against a KV cache. Default Tk - Tq when causal. */
  queryOffset?: number;
}

// The attention kernels' signature (attrs, input order) lives below the ops, with the kernels.
export type { AttentionAttrs } from '../kernels/signatures.js';

/** Validates shapes; returns the kernel inputs [q, k, v, bias?, headMask?, keyLengths?] and attrs. */
export function attentionArgs(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { inputs: Tensor[]; attrs: AttentionAttrs } {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new ShapeError(`attention: q, k, v must be [B, H, T, D], got [${q.shape}], [${k.shape}], [${v.shape}]`);
  }
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D) throw new ShapeError(`attention: k [${k.shape}] does not match q [${q.shape}]`);
  if (v.shape.join() !== k.shape.join()) throw new ShapeError(`attention: v [${v.shape}] does not match k [${k.shape}]`);
  if (D > 256) throw new ShapeError(`attention: head dim ${D} > 256 is not supported`);
  for (const t of [q, k, v]) if (t.dtype === 'i32') throw new ShapeError('attention: q, k, v must be f32 or f16');
  const inputs = [q, k, v];
  const attrs: AttentionAttrs = {
    causal: !!opts.causal,
    scale: opts.scale ?? 1 / Math.sqrt(D),
    queryOffset: opts.queryOffset ?? (opts.causal ? Tk - Tq : 0),
  };
  if (opts.bias) {
    const b = opts.bias;
    const s = b.shape;
    const ok =
      (b.rank === 3 || b.rank === 4) &&
      (b.rank === 3 || s[0] === B || s[0] === 1) &&
      [H, Tq, Tk].every((n, i) => s[b.rank - 3 + i] === n || s[b.rank - 3 + i] === 1);
    if (!ok) throw new ShapeError(`attention: bias [${s}] must broadcast to [${B}, ${H}, ${Tq}, ${Tk}] as [H, Tq, Tk] or [B, H, Tq, Tk]`);
    inputs.push(b);
    attrs.hasBias = true;
  }
  if (opts.headMask) {
    const m = opts.headMask;
    const ok = (m.rank === 1 && (m.shape[0] === H || m.shape[0] === 1)) || (m.rank === 2 && (m.shape[0] === B || m.shape[0] === 1) && (m.shape[1] === H || m.shape[1] === 1));
    if (!ok) throw new ShapeError(`attention: headMask [${m.shape}] must be [${B}, ${H}] or [${H}]`);
    inputs.push(m);
    attrs.hasMask = true;
  }
  if (opts.keyLengths) {
    const kl = opts.keyLengths;
    if (Array.isArray(kl)) {
      if (kl.length !== B) throw new ShapeError(`attention: keyLengths has ${kl.length} entries for batch ${B}`);
      attrs.keyLengths = kl.map((x) => Math.max(0, Math.min(Tk, Math.trunc(x))));
    } else {
      const t = kl as Tensor;
      if (t.rank !== 1 || t.shape[0] !== B) throw new ShapeError(`attention: keyLengths [${t.shape}] must be [${B}]`);
      inputs.push(t);
      attrs.hasLensTensor = true;
    }
  }
  return { inputs, attrs };
}

/**
 * softmax(scale·QKᵀ + bias, masked) · V, times headMask per head. q [B, H, Tq, D], k/v [B, H, Tk, D]
 * (strided views welcome, f32 or f16); returns [B, H, Tq, D] f32. Rows whose keys are all masked give 0.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { inputs, attrs } = attentionArgs(q, k, v, opts);
  return run1('attention', inputs, attrs);
}

/**
 * attention() that also returns the row logsumexp [B, H, Tq] (natural log of the sum of exp of the scaled,
 * biased, masked scores; -inf for fully masked rows) for attentionBackward. Heads with a zero multiplier
 * are still computed (their statistics are needed for dHeadMask).
 */
export function attentionWithLse(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): [Tensor, Tensor] {
  const { inputs, attrs } = attentionArgs(q, k, v, opts);
  const [o, lse] = runKernel('attention', inputs, { ...attrs, returnLse: true });
  return [o, lse];
}

export interface AttentionGrads {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  /** Same shape as headMask: sum over rows and dims of dO ⊙ (softmax·V before the mask). */
  dHeadMask?: Tensor;
}

/**
 * Gradients of attention(q, k, v, opts) given o (its output) and lse (from attentionWithLse) and the output
 * gradient dO. Probabilities are recomputed per tile from lse (no Tq x Tk storage). The bias and keyLengths
 * are constants (no gradient). Kernel 'attentionBackward': inputs [q, k, v, o, dO, lse, bias?, headMask?,
 * keyLengths?], attrs as attention's; outputs [dq, dk, dv, dHeadMask?].
 */
export function attentionBackward(q: Tensor, k: Tensor, v: Tensor, o: Tensor, dO: Tensor, lse: Tensor, opts: AttentionOptions = {}): AttentionGrads {
  const { inputs, attrs } = attentionArgs(q, k, v, opts);
  const [B, H, Tq, D] = q.shape;
  if (o.shape.join() !== `${B},${H},${Tq},${D}` || dO.shape.join() !== o.shape.join()) {
    throw new ShapeError(`attentionBackward: o [${o.shape}] and dO [${dO.shape}] must be [${B}, ${H}, ${Tq}, ${D}]`);
  }
  if (lse.shape.join() !== `${B},${H},${Tq}`) throw new ShapeError(`attentionBackward: lse [${lse.shape}] must be [${B}, ${H}, ${Tq}]`);
  const outs = runKernel('attentionBackward', [q, k, v, o, dO, lse, ...inputs.slice(3)], attrs);
  return { dq: outs[0], dk: outs[1], dv: outs[2], ...(outs[3] ? { dHeadMask: outs[3] } : {}) };
}

/** The naive three-pass attention (QKᵀ, softmax, PV with the full score matrix): the bench baseline. */
export function attentionNaive(q: Tensor, k: Tensor, v: Tensor, opts: { causal?: boolean; scale?: number } = {}): Tensor {
  const { inputs } = attentionArgs(q, k, v, {});
  return run1('attentionNaive', inputs, { causal: !!opts.causal, scale: opts.scale ?? 1 / Math.sqrt(q.shape[3]) });
}

/**
 * Writes newKV [B, H, Tn, D] into a preallocated contiguous cache [B, H, Tmax, D] at positions
 * [at, at+Tn) in place (converting to the cache's dtype); returns the view cache[:, :, :at+Tn].
 */
export function kvAppend(cache: Tensor, newKV: Tensor, at: number): Tensor {
  if (cache.rank !== 4 || newKV.rank !== 4) throw new ShapeError(`kvAppend: cache [${cache.shape}] and newKV [${newKV.shape}] must be [B, H, T, D]`);
  const [B, H, Tmax, D] = cache.shape;
  const Tn = newKV.shape[2];
  if (newKV.shape[0] !== B || newKV.shape[1] !== H || newKV.shape[3] !== D) throw new ShapeError(`kvAppend: newKV [${newKV.shape}] does not match cache [${cache.shape}]`);
  if (!Number.isInteger(at) || at < 0 || at + Tn > Tmax) throw new ShapeError(`kvAppend: positions [${at}, ${at + Tn}) exceed the cache length ${Tmax}`);
  if (!cache.isContiguous) throw new ShapeError('kvAppend: the cache must be a contiguous preallocated tensor');
  if (cache.dtype === 'i32') throw new ShapeError('kvAppend: the cache must be f32 or f16');
  return run1('kvAppend', [cache, newKV], { at });
}

/**
 * Beam-search reorder in place: cache[b] = cache[beamIdx[b]] for every batch row (first `length` positions,
 * default all). beamIdx: numbers or an i32/f32 tensor [B]. Returns a view of the cache.
 */
export function kvReorder(cache: Tensor, beamIdx: number[] | Tensor, length?: number): Tensor {
  if (cache.rank !== 4 || !cache.isContiguous) throw new ShapeError(`kvReorder: the cache [${cache.shape}] must be a contiguous [B, H, T, D] tensor`);
  const B = cache.shape[0];
  if (Array.isArray(beamIdx)) {
    if (beamIdx.length !== B) throw new ShapeError(`kvReorder: ${beamIdx.length} beam indices for batch ${B}`);
    for (const i of beamIdx) if (!Number.isInteger(i) || i < 0 || i >= B) throw new ShapeError(`kvReorder: beam index ${i} out of range [0, ${B})`);
    return run1('kvReorder', [cache], { beamIdx: [...beamIdx], length });
  }
  if (beamIdx.rank !== 1 || beamIdx.shape[0] !== B) throw new ShapeError(`kvReorder: beamIdx [${beamIdx.shape}] must be [${B}]`);
  return run1('kvReorder', [cache, beamIdx], { length });
}
