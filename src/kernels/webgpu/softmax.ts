// softmax / logSoftmax along one axis: one workgroup per row. Each invocation keeps an online (max, sum of
// exp) pair over its strided share of the row; the pairs are merged with a tree in workgroup memory; a second
// pass over the row writes exp(x - m) / s (or x - m - log s). All math in f32.
import { Tensor } from '../../tensor/tensor.js';
import { RowConfig, dispatchRows, rowKey, sameShapeRows, wgslRowKernel } from './reduce.js';
import { wgslInput, wgslMeta } from './util.js';

/**
 * WGSL: online softmax statistics of the row at `xo` (length R, stride xk): `fn row_stats(xo, R, xk) -> vec2<f32>`
 * returns (max, sum exp(x - max)) for the whole row, in every invocation. A row of only -inf gives (-inf, 0).
 * A NaN anywhere gives a sum of -1: float optimisations of some drivers (lavapipe) do not propagate NaN
 * through comparisons, so NaN is detected on its bits and reported out of band; callers write NaN for it.
 * Shared with cross-entropy. Needs wgslRowPrivates/wgslRowBegin.
 */
export function wgslSoftmaxStats(c: RowConfig): string {
  const wg = c.wg;
  const common = `var<workgroup> sh_m: array<f32, ${wg}>;
var<workgroup> sh_s: array<f32, ${wg}>;
// s == 0 means "no finite contribution yet" (its m may be -inf, and exp(-inf - -inf) is NaN).
fn scaled_(s: f32, m: f32, to: f32) -> f32 { return select(s * exp(m - to), 0.0, s == 0.0); }
fn merge_(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  let m = max(m1, m2);
  return vec2<f32>(m, select(scaled_(s1, m1, m) + scaled_(s2, m2, m), -1.0, s1 < 0.0 || s2 < 0.0));
}
fn thread_stats(xo: u32, R: u32, xk: u32) -> vec2<f32> {
  var m = ninf();
  var s = 0.0;
  var bad = false;
  for (var k = lid_; k < R; k += ${wg}u) {
    let v = ld_x(xo + k * xk);
    if (isnan_(v)) {
      bad = true;
    } else if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else if (v != ninf()) {
      s += exp(v - m);
    }
  }
  return vec2<f32>(m, select(s, -1.0, bad));
}`;
  if (c.sg) {
    return `${common}
fn sg_merge_(m: f32, s: f32) -> vec2<f32> {
  let M = subgroupMax(m);
  return vec2<f32>(M, select(subgroupAdd(scaled_(s, m, M)), -1.0, subgroupAny(s < 0.0)));
}
fn row_stats(xo: u32, R: u32, xk: u32) -> vec2<f32> {
  let t = thread_stats(xo, R, xk);
  let a = sg_merge_(t.x, t.y);
  let lead = sl_ == 0u;
  sh_m[lid_] = select(ninf(), a.x, lead);
  sh_s[lid_] = select(0.0, a.y, lead);
  workgroupBarrier();
  var m = ninf();
  var s = 0.0;
  for (var i = sl_; i < ${wg}u; i += ss_) {
    let r = merge_(m, s, sh_m[i], sh_s[i]);
    m = r.x;
    s = r.y;
  }
  let res = sg_merge_(m, s);
  workgroupBarrier();
  return res;
}`;
  }
  return `${common}
fn row_stats(xo: u32, R: u32, xk: u32) -> vec2<f32> {
  let t = thread_stats(xo, R, xk);
  sh_m[lid_] = t.x;
  sh_s[lid_] = t.y;
  workgroupBarrier();
  for (var st = ${wg / 2}u; st > 0u; st >>= 1u) {
    if (lid_ < st) {
      let r = merge_(sh_m[lid_], sh_s[lid_], sh_m[lid_ + st], sh_s[lid_ + st]);
      sh_m[lid_] = r.x;
      sh_s[lid_] = r.y;
    }
    workgroupBarrier();
  }
  let res = vec2<f32>(sh_m[0], sh_s[0]);
  workgroupBarrier();
  return res;
}`;
}

export function softmax(x: Tensor, axis: number, log: boolean): Tensor {
  const dev = x.device!;
  const { out, L, n, rc } = sameShapeRows(x, axis);
  if (out.size === 0) return out;
  const wg = rc.wg;
  const decls = `${wgslInput(0, 'x', x.dtype)}
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${wgslMeta(2)}`;
  const pipeline = dev.pipeline(`softmax:${log}:${x.dtype}:${n}:${rowKey(rc)}`, () => wgslRowKernel(rc, n, decls, wgslSoftmaxStats(rc), `let st = row_stats(o.x, R, xk);
  let m = st.x;
  let bad = st.y < 0.0;
  ${log ? 'let c = m + log(st.y);' : 'let inv = 1.0 / st.y;'}
  for (var k = lid; k < R; k += ${wg}u) {
    let v = ld_x(o.x + k * xk);
    y[o.y + k * yk] = select(${log ? 'v - c' : 'exp(v - m) * inv'}, nan_(), bad);
  }`));
  dispatchRows(dev, pipeline, x, out, L);
  return out;
}
