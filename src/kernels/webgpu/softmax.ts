// softmax / logSoftmax along one axis: one workgroup per row. Each invocation keeps an online (max, sum of
// exp) pair over its strided share of the row; the pairs are merged with a tree in workgroup memory; a second
// pass over the row writes exp(x - m) / s (or x - m - log s). All math in f32.
import { Tensor } from '../../tensor/tensor.js';
import { rowChunks, rowGrid, rowLayout, rowWorkgroup, sameShapeStrides, wgslRows, WGSL_ROW_ARGS, WGSL_ROW_BEGIN } from './reduce.js';
import { newOutput, wgslInput, wgslMeta } from './util.js';

/**
 * WGSL: online softmax statistics of the row at `o.x` (length R, stride xk): `fn row_stats(...) -> vec2<f32>`
 * returns (max, sum exp(x - max)) for the whole row, in every invocation. A row of only -inf gives
 * (-inf, 0); NaN anywhere gives a NaN sum. Shared with cross-entropy.
 */
export function wgslSoftmaxStats(wg: number): string {
  return `var<workgroup> sh_m: array<f32, ${wg}>;
var<workgroup> sh_s: array<f32, ${wg}>;
fn merge_(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  let m = max(m1, m2);
  // s == 0 means "no finite contribution yet" (its m may be -inf, and exp(-inf - -inf) is NaN).
  let a = select(s1 * exp(m1 - m), 0.0, s1 == 0.0);
  let b = select(s2 * exp(m2 - m), 0.0, s2 == 0.0);
  return vec2<f32>(m, a + b);
}
fn row_stats(xo: u32, R: u32, xk: u32, lid: u32) -> vec2<f32> {
  var m = ninf();
  var s = 0.0;
  for (var k = lid; k < R; k += ${wg}u) {
    let v = ld_x(xo + k * xk);
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else if (v != ninf()) {
      s += exp(v - m);
    }
  }
  sh_m[lid] = m;
  sh_s[lid] = s;
  workgroupBarrier();
  for (var st = ${wg / 2}u; st > 0u; st >>= 1u) {
    if (lid < st) {
      let r = merge_(sh_m[lid], sh_s[lid], sh_m[lid + st], sh_s[lid + st]);
      sh_m[lid] = r.x;
      sh_s[lid] = r.y;
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
  const out = newOutput(dev, x.shape);
  if (out.size === 0) return out;
  const { ys, yk } = sameShapeStrides(x.shape, axis);
  const L = rowLayout(x, axis, ys, yk);
  const n = L.outer.length;
  const wg = rowWorkgroup(L.R);
  const pipeline = dev.pipeline(`softmax:${log}:${x.dtype}:${n}:${wg}`, () => `${wgslInput(0, 'x', x.dtype)}
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${wgslMeta(2)}
${wgslRows(n)}
${wgslSoftmaxStats(wg)}
@compute @workgroup_size(${wg})
fn main(${WGSL_ROW_ARGS}) {
  ${WGSL_ROW_BEGIN}
  let st = row_stats(o.x, R, xk, lid);
  let m = st.x;
  ${log ? 'let c = m + log(st.y);' : 'let inv = 1.0 / st.y;'}
  for (var k = lid; k < R; k += ${wg}u) {
    let v = ld_x(o.x + k * xk);
    y[o.y + k * yk] = ${log ? 'v - c' : 'exp(v - m) * inv'};
  }
}`);
  for (const c of rowChunks(dev, x, out, L)) dev.dispatch(pipeline, [c.x, c.y, dev.meta(c.header)], ...rowGrid(dev, c.count));
  return out;
}
