// CPU reference kernels for the reduce group (registered on import): plain TypeScript over strided views,
// float64 accumulation, f32 (or i32) results.
import { ShapeError } from '../../errors.js';
import type { DType } from '../../tensor/dtype.js';
import { roundF16 } from '../../tensor/dtype.js';
import { contiguousStrides, sizeOf } from '../../tensor/shape.js';
import { Tensor, empty, forEachIndex } from '../../tensor/tensor.js';
import { registerKernel } from '../registry.js';
import { optionalInputs } from '../signatures.js';
import { ropeCosSin, ropeInvFreq } from './reduce-rope.js';

/** Rows of `x` along `axis`: storage offset of every row start (row-major over the other dims), R, stride. */
function rows(x: Tensor, axis: number): { base: number[]; R: number; xk: number } {
  const outer = x.shape.filter((_, d) => d !== axis);
  const os = x.strides.filter((_, d) => d !== axis);
  const base = new Array<number>(sizeOf(outer));
  forEachIndex(outer, os, x.offset, (src, i) => (base[i] = src));
  return { base, R: x.shape[axis], xk: x.strides[axis] };
}

/** Output offsets of every row start when the output is contiguous with shape `shape`. */
function outRows(shape: readonly number[], axis: number): { base: number[]; yk: number } {
  const s = contiguousStrides(shape);
  const outer = shape.filter((_, d) => d !== axis);
  const base = new Array<number>(sizeOf(outer));
  forEachIndex(outer, s.filter((_, d) => d !== axis), 0, (src, i) => (base[i] = src));
  return { base, yk: s[axis] };
}

function reducedShape(shape: readonly number[], axis: number, keepDims: boolean): number[] {
  const s = [...shape];
  if (keepDims) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

export function reduceCpu(x: Tensor, op: 'sum' | 'mean' | 'max', axis: number, keepDims: boolean): Tensor {
  const out = empty(reducedShape(x.shape, axis, keepDims), 'f32', 'cpu');
  const y = out.storage.host!, h = x.storage.host!;
  const { base, R, xk } = rows(x, axis);
  if (op === 'max' && R === 0 && base.length) throw new ShapeError(`max over an empty axis of [${x.shape}]`);
  for (let r = 0; r < base.length; r++) {
    let acc = op === 'max' ? -Infinity : 0;
    for (let k = 0; k < R; k++) {
      const v = h[base[r] + k * xk];
      acc = op === 'max' ? (Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.max(acc, v)) : acc + v;
    }
    y[r] = op === 'mean' ? acc / R : acc;
  }
  return out;
}

export function softmaxCpu(x: Tensor, axis: number, log: boolean): Tensor {
  const out = empty(x.shape, 'f32', 'cpu');
  const y = out.storage.host!, h = x.storage.host!;
  const { base, R, xk } = rows(x, axis);
  const o = outRows(x.shape, axis);
  for (let r = 0; r < base.length; r++) {
    let m = -Infinity;
    for (let k = 0; k < R; k++) m = Math.max(m, h[base[r] + k * xk]);
    let s = 0;
    for (let k = 0; k < R; k++) s += Math.exp(h[base[r] + k * xk] - m);
    const c = m + Math.log(s);
    for (let k = 0; k < R; k++) {
      const v = h[base[r] + k * xk];
      y[o.base[r] + k * o.yk] = log ? v - c : Math.exp(v - m) / s;
    }
  }
  return out;
}

function vec(t: Tensor | null): ((k: number) => number) | null {
  if (!t) return null;
  const h = t.storage.host!, o = t.offset, s = t.strides[0];
  return (k) => h[o + k * s];
}

export function layerNormCpu(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const out = empty(x.shape, 'f32', 'cpu');
  const y = out.storage.host!, h = x.storage.host!;
  const axis = x.rank - 1;
  const { base, R, xk } = rows(x, axis);
  const w = vec(weight), b = vec(bias);
  for (let r = 0; r < base.length; r++) {
    let s = 0;
    for (let k = 0; k < R; k++) s += h[base[r] + k * xk];
    const mean = s / R;
    let q = 0;
    for (let k = 0; k < R; k++) q += (h[base[r] + k * xk] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / R + eps);
    for (let k = 0; k < R; k++) {
      let v = (h[base[r] + k * xk] - mean) * rstd;
      if (w) v *= w(k);
      if (b) v += b(k);
      y[r * R + k] = v;
    }
  }
  return out;
}

export function rmsNormCpu(x: Tensor, weight: Tensor, eps: number, halfCast = false): Tensor {
  const out = empty(x.shape, 'f32', 'cpu');
  const y = out.storage.host!, h = x.storage.host!;
  const { base, R, xk } = rows(x, x.rank - 1);
  const w = vec(weight)!;
  // HF: variance in f32, h = x * rsqrt(variance + eps), [h.to(fp16)], weight * h.
  const half = halfCast ? roundF16 : Math.fround;
  for (let r = 0; r < base.length; r++) {
    let s = 0;
    for (let k = 0; k < R; k++) s += h[base[r] + k * xk] ** 2;
    const inv = 1 / Math.sqrt(s / R + eps);
    for (let k = 0; k < R; k++) {
      const hk = half(h[base[r] + k * xk] * inv);
      y[r * R + k] = halfCast ? roundF16(w(k) * hk) : w(k) * hk;
    }
  }
  return out;
}

export function ropeCpu(x: Tensor, positions: Tensor, theta: number, layout: 'bhtd' | 'bthd' = 'bhtd'): Tensor {
  const out = empty(x.shape, 'f32', 'cpu');
  const y = out.storage.host!, h = x.storage.host!, p = positions.storage.host!;
  const order = layout === 'bhtd' ? [0, 1, 2, 3] : [0, 2, 1, 3];
  const [B, H, T, D] = order.map((d) => x.shape[d]);
  const [sb, sh, st, sd] = order.map((d) => x.strides[d]);
  const ys = contiguousStrides(x.shape);
  const [yb, yh, yt] = order.map((d) => ys[d]);
  const half = D >> 1;
  const inv = ropeInvFreq(D, theta);
  const psb = positions.rank === 2 ? positions.strides[0] : 0, pst = positions.strides[positions.rank - 1];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const pos = p[positions.offset + b * psb + t * pst];
      for (let hh = 0; hh < H; hh++) {
        const xo = x.offset + b * sb + hh * sh + t * st, yo = b * yb + hh * yh + t * yt;
        for (let i = 0; i < half; i++) {
          const [c, s] = ropeCosSin(pos, inv, i);
          const x1 = h[xo + i * sd], x2 = h[xo + (i + half) * sd];
          y[yo + i] = x1 * c - x2 * s;
          y[yo + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
  return out;
}

export function gatherCpu(table: Tensor, ids: Tensor): Tensor {
  const [V, D] = table.shape;
  const out = empty([...ids.shape, D], 'f32', 'cpu');
  const y = out.storage.host!, h = table.storage.host!;
  const idv = ids.dataSync();
  for (let n = 0; n < idv.length; n++) {
    const id = idv[n];
    if (!(id >= 0 && id < V)) throw new ShapeError(`gather: id ${id} at index ${n} is out of range for a table of ${V} rows`);
    const o = table.offset + id * table.strides[0];
    for (let c = 0; c < D; c++) y[n * D + c] = h[o + c * table.strides[1]];
  }
  return out;
}

export function concatCpu(inputs: Tensor[], axis: number): Tensor {
  const dtypes = inputs.map((t) => t.dtype);
  const dtype: DType = dtypes.every((d) => d === dtypes[0]) ? dtypes[0] : 'f32';
  const shape = [...inputs[0].shape];
  shape[axis] = inputs.reduce((a, t) => a + t.shape[axis], 0);
  const out = empty(shape, dtype, 'cpu');
  const y = out.storage.host!;
  const ys = contiguousStrides(shape);
  let at = 0;
  for (const t of inputs) {
    const h = t.storage.host!;
    const idx = new Array<number>(t.rank).fill(0);
    forEachIndex(t.shape, t.strides, t.offset, (src) => {
      let o = at * ys[axis];
      for (let d = 0; d < t.rank; d++) o += idx[d] * ys[d];
      y[o] = h[src];
      for (let d = t.rank - 1; d >= 0; d--) {
        if (++idx[d] < t.shape[d]) break;
        idx[d] = 0;
      }
    });
    at += t.shape[axis];
  }
  return out;
}

export function argmaxCpu(x: Tensor, axis: number, keepDims = false): Tensor {
  const out = empty(reducedShape(x.shape, axis, keepDims), 'i32', 'cpu');
  const y = out.storage.host!, h = x.storage.host!;
  const { base, R, xk } = rows(x, axis);
  for (let r = 0; r < base.length; r++) {
    let bi = 0, bv = h[base[r]];
    for (let k = 1; k < R && !Number.isNaN(bv); k++) {
      const v = h[base[r] + k * xk];
      if (Number.isNaN(v) || v > bv) (bv = v), (bi = k);
    }
    y[r] = bi;
  }
  return out;
}

export function crossEntropyPerRowCpu(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const [N, V] = logits.shape;
  const out = empty([N], 'f32', 'cpu');
  const y = out.storage.host!, h = logits.storage.host!;
  const tg = targets.dataSync();
  const { base, xk } = rows(logits, 1);
  for (let r = 0; r < N; r++) {
    const t = tg[r];
    if (t === ignoreIndex) {
      y[r] = 0;
      continue;
    }
    if (!(t >= 0 && t < V)) throw new ShapeError(`cross_entropy: target ${t} at row ${r} is out of range for ${V} classes`);
    let m = -Infinity;
    for (let k = 0; k < V; k++) m = Math.max(m, h[base[r] + k * xk]);
    let s = 0;
    for (let k = 0; k < V; k++) s += Math.exp(h[base[r] + k * xk] - m);
    y[r] = m + Math.log(s) - h[base[r] + t * xk];
  }
  return out;
}

export function crossEntropyCpu(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const per = crossEntropyPerRowCpu(logits, targets, ignoreIndex);
  const l = per.storage.host!, tg = targets.dataSync();
  let s = 0, c = 0;
  for (let r = 0; r < tg.length; r++) if (tg[r] !== ignoreIndex) (s += l[r]), c++;
  per.dispose();
  const out = empty([], 'f32', 'cpu');
  out.storage.host![0] = s / c;
  return out;
}

for (const op of ['sum', 'mean', 'max'] as const) {
  registerKernel<{ axis: number; keepDims: boolean }>(op, 'cpu', ([x], a) => reduceCpu(x, op, a.axis, a.keepDims));
}
registerKernel<{ axis: number }>('softmax', 'cpu', ([x], a) => softmaxCpu(x, a.axis, false));
registerKernel<{ axis: number }>('logSoftmax', 'cpu', ([x], a) => softmaxCpu(x, a.axis, true));
registerKernel<{ eps: number; hasWeight: boolean; hasBias: boolean }>('layerNorm', 'cpu', (ins, a) => {
  const [w, b] = optionalInputs(ins, 1, [a.hasWeight, a.hasBias]);
  return layerNormCpu(ins[0], w ?? null, b ?? null, a.eps);
});
registerKernel<{ eps: number; halfCast?: boolean }>('rmsNorm', 'cpu', ([x, w], a) => rmsNormCpu(x, w, a.eps, a.halfCast ?? false));
registerKernel<{ theta: number; layout?: 'bhtd' | 'bthd' }>('rope', 'cpu', ([x, p], a) => ropeCpu(x, p, a.theta, a.layout ?? 'bhtd'));
registerKernel('gather', 'cpu', ([t, ids]) => gatherCpu(t, ids));
registerKernel<{ axis: number }>('concat', 'cpu', (ins, a) => concatCpu(ins, a.axis));
registerKernel<{ axis: number; keepDims?: boolean }>('argmax', 'cpu', ([x], a) => argmaxCpu(x, a.axis, a.keepDims ?? false));
registerKernel<{ ignoreIndex: number }>('crossEntropy', 'cpu', ([l, t], a) => crossEntropyCpu(l, t, a.ignoreIndex));
registerKernel<{ ignoreIndex: number }>('crossEntropyPerRow', 'cpu', ([l, t], a) => crossEntropyPerRowCpu(l, t, a.ignoreIndex));
