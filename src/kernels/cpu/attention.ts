// CPU reference kernels for the attention group (registered on import): naive softmax(QK^T)V in float64,
// its backward (dQ, dK, dV, dHeadMask), and the KV-cache helpers.
import { ShapeError } from '../../errors.js';
import { roundF16 } from '../../tensor/dtype.js';
import { Tensor, empty, forEachIndex } from '../../tensor/tensor.js';
import { registerKernel } from '../registry.js';

import { optionalInputs } from '../signatures.js';
import type { AttentionAttrs } from '../signatures.js';

/** A problem in float64: q [B,H,Tq,D], k/v [B,H,Tk,D], bias [B,H,Tq,Tk], mask [B,H] (all dense). */
export interface AttnProblem {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  bias?: Float64Array;
  mask?: Float64Array;
  lens?: number[];
  causal: boolean;
  scale: number;
  queryOffset: number;
}

function allowed(p: AttnProblem, b: number, i: number, j: number): boolean {
  if (p.lens && j >= p.lens[b]) return false;
  if (p.causal && j > i + p.queryOffset) return false;
  return true;
}

/** Row probabilities P[b,h,i,:] (zeros for a fully masked row) and the row logsumexp. */
function rowProbs(p: AttnProblem, b: number, h: number, i: number, out: Float64Array): number {
  const { H, Tq, Tk, D } = p;
  const qo = ((b * H + h) * Tq + i) * D;
  let mx = -Infinity;
  for (let j = 0; j < Tk; j++) {
    if (!allowed(p, b, i, j)) {
      out[j] = -Infinity;
      continue;
    }
    const ko = ((b * H + h) * Tk + j) * D;
    let s = 0;
    for (let d = 0; d < D; d++) s += p.q[qo + d] * p.k[ko + d];
    s *= p.scale;
    if (p.bias) s += p.bias[((b * H + h) * Tq + i) * Tk + j];
    out[j] = s;
    if (s > mx) mx = s;
  }
  if (mx === -Infinity) {
    out.fill(0);
    return -Infinity;
  }
  let sum = 0;
  for (let j = 0; j < Tk; j++) sum += out[j] = Math.exp(out[j] - mx);
  for (let j = 0; j < Tk; j++) out[j] /= sum;
  return mx + Math.log(sum);
}

/** Forward in float64: out = headMask * softmax(scale QK^T + bias) V, plus O before the mask and the row logsumexp. */
export function attentionRef(p: AttnProblem): { out: Float64Array; raw: Float64Array; lse: Float64Array } {
  const { B, H, Tq, Tk, D } = p;
  const out = new Float64Array(B * H * Tq * D), raw = new Float64Array(B * H * Tq * D), lse = new Float64Array(B * H * Tq);
  const P = new Float64Array(Tk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const m = p.mask ? p.mask[b * H + h] : 1;
      for (let i = 0; i < Tq; i++) {
        const r = (b * H + h) * Tq + i;
        lse[r] = rowProbs(p, b, h, i, P);
        for (let j = 0; j < Tk; j++) {
          if (P[j] === 0) continue;
          const vo = ((b * H + h) * Tk + j) * D;
          for (let d = 0; d < D; d++) raw[r * D + d] += P[j] * p.v[vo + d];
        }
        for (let d = 0; d < D; d++) out[r * D + d] = m * raw[r * D + d];
      }
    }
  return { out, raw, lse };
}

/** Backward in float64 (recomputes P): dq, dk, dv and dmask[b,h] = sum over rows and dims of dO ⊙ O_before_mask. */
export function attentionBackwardRef(p: AttnProblem, dO: Float64Array): { dq: Float64Array; dk: Float64Array; dv: Float64Array; dmask: Float64Array } {
  const { B, H, Tq, Tk, D, scale } = p;
  const dq = new Float64Array(B * H * Tq * D), dk = new Float64Array(B * H * Tk * D), dv = new Float64Array(B * H * Tk * D);
  const dmask = new Float64Array(B * H);
  const P = new Float64Array(Tk), dP = new Float64Array(Tk), raw = new Float64Array(D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const m = p.mask ? p.mask[b * H + h] : 1;
      for (let i = 0; i < Tq; i++) {
        const r = (b * H + h) * Tq + i;
        rowProbs(p, b, h, i, P);
        raw.fill(0);
        let Di = 0;
        for (let j = 0; j < Tk; j++) {
          const vo = ((b * H + h) * Tk + j) * D;
          let s = 0;
          for (let d = 0; d < D; d++) {
            raw[d] += P[j] * p.v[vo + d];
            s += dO[r * D + d] * p.v[vo + d];
          }
          dP[j] = m * s;
          Di += P[j] * dP[j];
        }
        for (let d = 0; d < D; d++) dmask[b * H + h] += dO[r * D + d] * raw[d];
        for (let j = 0; j < Tk; j++) {
          if (P[j] === 0) continue;
          const ds = P[j] * (dP[j] - Di);
          const o = ((b * H + h) * Tk + j) * D;
          for (let d = 0; d < D; d++) {
            dv[o + d] += P[j] * m * dO[r * D + d];
            dq[r * D + d] += scale * ds * p.k[o + d];
            dk[o + d] += scale * ds * p.q[r * D + d];
          }
        }
      }
    }
  return { dq, dk, dv, dmask };
}

// ---- tensors <-> problems ------------------------------------------------------------------------------

function dense(t: Tensor, shape: number[]): Float64Array {
  const bt = t.broadcastTo(shape);
  const out = Float64Array.from(bt.dataSync());
  bt.dispose();
  return out;
}

export function problemFromTensors(inputs: Tensor[], a: AttentionAttrs, first = 3): AttnProblem {
  const [q, k, v] = inputs;
  const [bias, mask, lensT] = optionalInputs(inputs, first, [!!a.hasBias, !!a.hasMask, !!a.hasLensTensor]);
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  let lens = a.keyLengths;
  if (lensT) lens = Array.from(lensT.dataSync(), (x) => Math.max(0, Math.trunc(x)));
  return {
    B, H, Tq, Tk, D,
    q: dense(q, [B, H, Tq, D]),
    k: dense(k, [B, H, Tk, D]),
    v: dense(v, [B, H, Tk, D]),
    bias: bias ? dense(bias, [B, H, Tq, Tk]) : undefined,
    mask: mask ? dense(mask.rank === 1 ? mask.reshape([1, mask.shape[0]]) : mask, [B, H]) : undefined,
    lens,
    causal: a.causal,
    scale: a.scale,
    queryOffset: a.queryOffset,
  };
}

function tensorOf(values: ArrayLike<number>, shape: number[]): Tensor {
  const t = empty(shape, 'f32', 'cpu');
  (t.storage.host as Float32Array).set(values);
  return t;
}

/** Sums dmask [B, H] down to the shape of the headMask input (broadcast axes summed). */
export function reduceMaskGrad(dmask: Float64Array, B: number, H: number, maskShape: readonly number[]): Float64Array {
  const mb = maskShape.length === 2 ? maskShape[0] : 1, mh = maskShape[maskShape.length - 1];
  const out = new Float64Array(mb * mh);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) out[(mb === 1 ? 0 : b) * mh + (mh === 1 ? 0 : h)] += dmask[b * H + h];
  return out;
}

registerKernel<AttentionAttrs>('attention', 'cpu', (inputs, a) => {
  const p = problemFromTensors(inputs, a);
  const { out, lse } = attentionRef(p);
  const o = tensorOf(out, [p.B, p.H, p.Tq, p.D]);
  return a.returnLse ? [o, tensorOf(lse, [p.B, p.H, p.Tq])] : [o];
});

/** The naive three-pass attention is the same math; on the CPU it is the reference. */
registerKernel<{ scale: number; causal: boolean }>('attentionNaive', 'cpu', (inputs, a) => {
  const p = problemFromTensors(inputs, { causal: a.causal, scale: a.scale, queryOffset: 0 });
  return tensorOf(attentionRef(p).out, [p.B, p.H, p.Tq, p.D]);
});

/** Inputs [q, k, v, o, dO, lse, bias?, headMask?, keyLengths?]; outputs [dq, dk, dv, dHeadMask?]. */
registerKernel<AttentionAttrs>('attentionBackward', 'cpu', (inputs, a) => {
  const p = problemFromTensors([inputs[0], inputs[1], inputs[2], ...inputs.slice(6)], a);
  const dO = dense(inputs[4], [p.B, p.H, p.Tq, p.D]);
  const g = attentionBackwardRef(p, dO);
  const outs = [tensorOf(g.dq, [p.B, p.H, p.Tq, p.D]), tensorOf(g.dk, [p.B, p.H, p.Tk, p.D]), tensorOf(g.dv, [p.B, p.H, p.Tk, p.D])];
  if (a.hasMask) {
    const mask = inputs[6 + (a.hasBias ? 1 : 0)];
    outs.push(tensorOf(reduceMaskGrad(g.dmask, p.B, p.H, mask.shape), [...mask.shape]));
  }
  return outs;
});

/** Writes newKV into cache[:, :, at:at+Tn] in place; returns the view cache[:, :, :at+Tn]. */
registerKernel<{ at: number }>('kvAppend', 'cpu', ([cache, kv], { at }) => {
  const [B, H, , D] = cache.shape;
  const Tn = kv.shape[2];
  const dst = cache.storage.host!;
  const src = kv.broadcastTo([B, H, Tn, D]);
  const vals = src.dataSync();
  if (src !== kv) src.dispose();
  const f16 = cache.dtype === 'f16';
  const region = cache.slice(2, at, at + Tn);
  forEachIndex(region.shape, region.strides, region.offset, (o, i) => (dst[o] = f16 ? roundF16(vals[i]) : vals[i]));
  region.dispose();
  return cache.slice(2, 0, at + Tn);
});

/** cache[b] = cache[beamIdx[b]] for b < B (in place, first `length` positions); returns the cache. */
registerKernel<{ beamIdx?: number[]; length?: number }>('kvReorder', 'cpu', (inputs, a) => {
  const cache = inputs[0];
  const idx = a.beamIdx ?? Array.from(inputs[1].dataSync(), (x) => Math.trunc(x));
  const [B, H, Tmax, D] = cache.shape;
  const len = Math.min(Tmax, a.length ?? Tmax);
  const h = cache.storage.host!;
  const src = h.slice();
  const [sb, sh, st, sd] = cache.strides;
  for (let b = 0; b < B; b++) {
    const from = idx[b];
    if (!(from >= 0 && from < B)) throw new ShapeError(`kvReorder: beam index ${from} out of range [0, ${B})`);
    for (let hh = 0; hh < H; hh++)
      for (let t = 0; t < len; t++)
        for (let d = 0; d < D; d++) {
          const r = hh * sh + t * st + d * sd + cache.offset;
          h[b * sb + r] = src[from * sb + r];
        }
  }
  return cache.view(cache.shape, cache.strides, cache.offset);
});
