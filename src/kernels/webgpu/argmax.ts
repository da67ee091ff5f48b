// argmax along one axis -> i32, first index on ties (as torch); NaN counts as the maximum (torch returns the
// first NaN). Row mode: one workgroup per row with a (value, index) tree in workgroup memory; column mode:
// one invocation per row (axis not innermost, or tiny rows).
import { contiguousStrides } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { WGSL_COL_BEGIN, dispatchRows, reducedShape, rowConfig, rowLayout, useColumns, wgslRowArgs, wgslRowBegin, wgslRowPrivates, wgslRows } from './reduce.js';
import { newOutput, wgslInput, wgslMeta } from './util.js';

export function argmax(x: Tensor, axis: number, keepDims = false, mode?: 'row' | 'col'): Tensor {
  const dev = x.device!;
  const out = newOutput(dev, reducedShape(x.shape, axis, keepDims), 'i32');
  if (out.size === 0) return out;
  const L = rowLayout(x, axis, contiguousStrides(x.shape.filter((_, d) => d !== axis)), 0);
  const col = mode ? mode === 'col' : useColumns(L);
  const n = L.outer.length;
  // The (value, index) tree runs in workgroup memory (no subgroup path).
  const rc = { wg: rowConfig(dev, L.R).wg, sg: false };
  const wg = col ? 256 : rc.wg;
  // (v, i) beats (w, j): v is NaN and w is not, or v > w, or equal (or both NaN) and i < j.
  const better = `fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  let vn = isnan_(v);
  let wn = isnan_(w);
  if (vn != wn) { return vn; }
  if (vn || v == w) { return i < j; }
  return v > w;
}`;
  const pipeline = dev.pipeline(`argmax:${x.dtype}:${n}:${col ? 'col' : `row${wg}`}`, () => {
    const head = `${wgslInput(0, 'x', x.dtype)}
@group(0) @binding(1) var<storage, read_write> y: array<i32>;
${wgslMeta(2)}
${wgslRows(n)}
${better}`;
    if (col) {
      return `${head}
${WGSL_COL_BEGIN}
  var bv = ld_x(o.x);
  var bi = 0u;
  for (var k = 1u; k < R; k++) {
    let v = ld_x(o.x + k * xk);
    if (better(v, k, bv, bi)) { bv = v; bi = k; }
  }
  y[o.y] = i32(bi);
}`;
    }
    return `${head}
${wgslRowPrivates(rc)}
var<workgroup> sh_v: array<f32, ${wg}>;
var<workgroup> sh_i: array<u32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${wgslRowArgs(rc)}) {
  ${wgslRowBegin(rc)}
  var bv = ninf();
  var bi = 0xffffffffu;
  for (var k = lid; k < R; k += ${wg}u) {
    let v = ld_x(o.x + k * xk);
    if (bi == 0xffffffffu || better(v, k, bv, bi)) { bv = v; bi = k; }
  }
  sh_v[lid] = bv;
  sh_i[lid] = bi;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let j = sh_i[lid + s];
      if (j != 0xffffffffu && (sh_i[lid] == 0xffffffffu || better(sh_v[lid + s], j, sh_v[lid], sh_i[lid]))) {
        sh_v[lid] = sh_v[lid + s];
        sh_i[lid] = j;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { y[o.y] = i32(sh_i[0]); }
}`;
  });
  dispatchRows(dev, pipeline, x, out, L, { col });
  return out;
}
