// LayerNorm over the last dim (torch semantics: biased variance, y = (x - mean) * rsqrt(var + eps) * w + b),
// one workgroup per row, exact two-pass mean/variance in f32 with tree reductions. Optional weight and
// bias: any 1-D view, f32 or f16.
import { Tensor } from '../../tensor/tensor.js';
import { dispatchRows, rowKey, sameShapeRows, wgslReduce, wgslRowKernel } from './reduce.js';
import { metaLayout } from './meta-layout.js';
import { bindElements, f32Bits, wgslInput, wgslMeta } from './util.js';

/** Op-specific metadata after the row header (at `E`): eps (f32 bits), weight and bias views. */
const EXTRA = metaLayout(['eps', ['w', ['off', 'stride']], ['b', ['off', 'stride']]]);

export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const dev = x.device!;
  const { out, L, n, rc, E } = sameShapeRows(x, x.rank - 1);
  if (out.size === 0) return out;
  const wg = rc.wg;
  let b = 1;
  const wBind = weight ? b++ : -1, bBind = bias ? b++ : -1;
  const yBind = b++, mBind = b;
  const key = `layernorm:${x.dtype}:${weight?.dtype ?? '-'}:${bias?.dtype ?? '-'}:${n}:${rowKey(rc)}`;
  const decls = `${wgslInput(0, 'x', x.dtype)}
${weight ? wgslInput(wBind, 'w', weight.dtype) : ''}
${bias ? wgslInput(bBind, 'bv', bias.dtype) : ''}
@group(0) @binding(${yBind}) var<storage, read_write> y: array<f32>;
${wgslMeta(mBind)}`;
  const pipeline = dev.pipeline(key, () => wgslRowKernel(rc, n, decls, wgslReduce('s', rc, 'add'), `let eps = metaf(${EXTRA.at('eps', E)}u);
  var p = 0.0;
  for (var k = lid; k < R; k += ${wg}u) { p += ld_x(o.x + k * xk); }
  let mean = wg_s(p) / f32(R);
  var q = 0.0;
  for (var k = lid; k < R; k += ${wg}u) { let d = ld_x(o.x + k * xk) - mean; q += d * d; }
  let rstd = inverseSqrt(wg_s(q) / f32(R) + eps);
  for (var k = lid; k < R; k += ${wg}u) {
    var v = (ld_x(o.x + k * xk) - mean) * rstd;
    ${weight ? `v = v * ld_w(${EXTRA.p('w.off', E, true)} + k * ${EXTRA.p('w.stride', E, true)});` : ''}
    ${bias ? `v = v + ld_bv(${EXTRA.p('b.off', E, true)} + k * ${EXTRA.p('b.stride', E, true)});` : ''}
    y[o.y + k * yk] = v;
  }`));
  const wb = weight ? bindElements(weight, weight.offset, weight.span) : null;
  const bb = bias ? bindElements(bias, bias.offset, bias.span) : null;
  const extra = EXTRA.write({
    eps: f32Bits(eps),
    w: [wb ? weight!.offset - wb.sub : 0, weight?.strides[0] ?? 0],
    b: [bb ? bias!.offset - bb.sub : 0, bias?.strides[0] ?? 0],
  });
  dispatchRows(dev, pipeline, x, out, L, { mid: [...(wb ? [wb.range] : []), ...(bb ? [bb.range] : [])], extra });
  return out;
}
