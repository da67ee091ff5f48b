// Gradient of conv1d: y = act(conv(x, w) + bias), x [B, Cin, T], w [Cout, Cin/G, K], y [B, Cout, Tout].
// Only the wanted inputs get a gradient (a frozen weight never computes dW, a frozen input never computes dx).
// With GELU the pre-activation is recomputed from the saved operands (no extra activation memory), as matmul.
//  - db: Σ over batch and time of dz.
//  - dW: im2col of the zero-padded x as one strided view [G, cig·K, B·Tout] (stride `stride` along time),
//        copied and multiplied by dz [G, cog, B·Tout]ᵀ: one batched matmul over the groups (batch chunks
//        when the columns would be large, then time chunks).
//  - dx: transposed convolution: dz zero-inserted between steps (stride > 1), windowed (zero-padded/cropped)
//        so that a plain stride-1 conv1d with the time-flipped, in/out-swapped weight gives exactly T steps.
import { conv1d } from '../../ops/conv.js';
import { add, geluGrad, mul } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { concat, gather, stack, sum } from '../../ops/reduce.js';
import { Tensor, fromHost, keep } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { targetOf, zerosOf } from './util.js';

export interface Conv1dGradAttrs {
  stride: number;
  padding: number;
  groups: number;
  activation: 'gelu' | 'none';
  hasBias?: boolean;
}

/** Elements of an im2col block before the dW computation is split over batch chunks. */
export const IM2COL_CHUNK = 1 << 24;

/**
 * `t` re-indexed along `axis`: element m of the result is t[start + m] for m in [0, len), zero where
 * start + m falls outside t (zero padding and cropping in one; a view when no padding is needed).
 */
export function windowAxis(t: Tensor, axis: number, start: number, len: number): Tensor {
  const n = t.shape[axis];
  const lo = Math.max(0, start), hi = Math.min(n, start + len);
  const zeros = (k: number) => zerosOf(t, t.shape.map((d, i) => (i === axis ? k : d)));
  if (hi <= lo) return zeros(len);
  const mid = lo === 0 && hi === n ? t : t.slice(axis, lo, hi);
  const left = lo - start, right = start + len - hi;
  if (left === 0 && right === 0) return mid;
  const parts: Tensor[] = [];
  if (left > 0) parts.push(zeros(left));
  parts.push(mid);
  if (right > 0) parts.push(zeros(right));
  return concat(parts, axis);
}

/** `t` with s−1 zeros after every element along `axis` (length n·s; zero insertion for strided transposes). */
export function zeroInsert(t: Tensor, axis: number, s: number): Tensor {
  if (s === 1) return t;
  const z = zerosOf(t, t.shape);
  const st = stack([t, ...new Array<Tensor>(s - 1).fill(z)], axis + 1);
  return st.reshape(t.shape.map((d, i) => (i === axis ? d * s : d)));
}

const flipCache = new Map<unknown, Map<number, Tensor>>();
/** Cached i32 ids n-1, ..., 0 on the backend of `like` (row reversal through gather). */
export function reversedIds(like: Tensor, n: number): Tensor {
  const target = targetOf(like);
  let m = flipCache.get(target);
  if (!m) flipCache.set(target, (m = new Map()));
  let t = m.get(n);
  if (!t || t.isDisposed) {
    t = keep(fromHost(Int32Array.from({ length: n }, (_, i) => n - 1 - i), [n], 'i32', target));
    m.set(n, t);
  }
  return t;
}

/** Rows of a [R, N] tensor in reverse order (an exact copy; gather rather than a flip matmul). */
export function flipRows(t: Tensor): Tensor {
  return t.shape[0] === 1 ? t : gather(t, reversedIds(t, t.shape[0]));
}

registerGrad<Conv1dGradAttrs>('conv1d', {
  save({ inputs, needs, attrs }) {
    const act = attrs.activation !== 'none';
    return [needs[1] || act ? inputs[0] : null, needs[0] || act ? inputs[1] : null, act && attrs.hasBias ? inputs[2] : null];
  },
  backward(c, [g]) {
    const { stride: s, padding: p, groups: G, activation, hasBias } = c.attrs;
    const [x, w, bias] = c.saved;
    const [B, Cin, T] = c.inputs[0].shape;
    const [Cout, cig, K] = c.inputs[1].shape;
    const cog = Cout / G;
    const Tout = c.outputs[0].shape[2];
    const wantX = c.needs[0], wantW = c.needs[1], wantB = !!hasBias && c.needs[2];
    const out: (Tensor | null)[] = c.inputs.map(() => null);
    if (!wantX && !wantW && !wantB) return out;
    let dz = g!;
    if (activation === 'gelu') {
      const z = conv1d(x!, w!, bias ?? undefined, { stride: s, padding: p, groups: G });
      dz = mul(g!, geluGrad(z));
    }
    if (wantB) out[2] = sum(sum(dz, 2, false), 0, false);
    if (wantW) {
      // Padded input (only the part the windows reach), then per chunk: cols [G, cig·K, b·t].
      const Tp = (Tout - 1) * s + K;
      const xp = windowAxis(x!, 2, -p, Tp);
      // Chunks of whole batch elements, or of output steps of one element when even one is too large.
      const per = Cin * K * Tout;
      const nbMax = Math.max(1, Math.min(B, Math.floor(IM2COL_CHUNK / Math.max(1, per))));
      const ntMax = per <= IM2COL_CHUNK ? Tout : Math.max(1, Math.floor(IM2COL_CHUNK / (Cin * K)));
      let dw: Tensor | null = null;
      for (let b0 = 0; b0 < B; b0 += nbMax) {
        const nb = Math.min(nbMax, B - b0);
        const xb = nb === B ? xp : xp.slice(0, b0, b0 + nb);
        const dzb = nb === B ? dz : dz.slice(0, b0, b0 + nb);
        const [sB, sC, sT] = xb.strides;
        for (let t0 = 0; t0 < Tout; t0 += ntMax) {
          const nt = Math.min(ntMax, Tout - t0);
          const cols = xb
            .view([Cin, K, nb, nt], [sC, sT, sB, sT * s], xb.offset + t0 * s * sT)
            .contiguous()
            .reshape([G, cig * K, nb * nt]);
          const dzt = nt === Tout ? dzb : dzb.slice(2, t0, t0 + nt);
          const part = matmul(dzt.permute([1, 0, 2]).reshape([G, cog, nb * nt]), cols, { transB: true }); // [G, cog, cig·K]
          dw = dw ? add(dw, part) : part;
        }
      }
      out[1] = dw!.reshape([Cout, cig, K]);
    }
    if (wantX) {
      // wT [Cin, cog, K]: wT[g·cig + ci, o, j] = w[g·cog + o, ci, K−1−j].
      const wk = w!.permute([2, 0, 1]).reshape([K, Cout * cig]);
      const wT = flipRows(wk).reshape([K, G, cog, cig]).permute([1, 3, 2, 0]).reshape([Cin, cog, K]);
      // dx[t] = Σ_k du[t + p − k]·w[k]: window du to start at p − (K−1), length T + K − 1, then correlate.
      const du = zeroInsert(dz, 2, s);
      const v = windowAxis(du, 2, p - (K - 1), T + K - 1);
      out[0] = conv1d(v, wT, undefined, { groups: G });
    }
    return out;
  },
});
