// RMSNorm over the last dim as HF LlamaRMSNorm: variance = mean(x^2) in f32, h = x * rsqrt(variance + eps),
// y = weight * h (in that order). With `halfCast` the HF fp16 path is reproduced: h is rounded to f16 before
// the weight multiply and the product is rounded to f16 (values still stored as f32).
import { Tensor } from '../../tensor/tensor.js';
import { dispatchRows, rowKey, sameShapeRows, wgslReduce, wgslRowKernel } from './reduce.js';
import { metaLayout } from './meta-layout.js';
import { bindElements, f32Bits, wgslInput, wgslMeta } from './util.js';

/** Op-specific metadata after the row header (at `E`): eps (f32 bits), the weight's view. */
const EXTRA = metaLayout(['eps', ['w', ['off', 'stride']]]);

export function rmsNorm(x: Tensor, weight: Tensor, eps: number, halfCast = false): Tensor {
  const dev = x.device!;
  const { out, L, n, rc, E } = sameShapeRows(x, x.rank - 1);
  if (out.size === 0) return out;
  const wg = rc.wg;
  const h16 = (e: string) => (halfCast ? `unpack2x16float(pack2x16float(vec2<f32>(${e}, 0.0))).x` : e);
  const decls = `${wgslInput(0, 'x', x.dtype)}
${wgslInput(1, 'w', weight.dtype)}
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wgslMeta(3)}`;
  const pipeline = dev.pipeline(`rmsnorm:${x.dtype}:${weight.dtype}:${halfCast}:${n}:${rowKey(rc)}`, () => wgslRowKernel(rc, n, decls, wgslReduce('s', rc, 'add'), `var p = 0.0;
  for (var k = lid; k < R; k += ${wg}u) { let v = ld_x(o.x + k * xk); p += v * v; }
  let r = inverseSqrt(wg_s(p) / f32(R) + metaf(${EXTRA.at('eps', E)}u));
  for (var k = lid; k < R; k += ${wg}u) {
    let h = ${h16('ld_x(o.x + k * xk) * r')};
    y[o.y + k * yk] = ${h16(`ld_w(${EXTRA.p('w.off', E, true)} + k * ${EXTRA.p('w.stride', E, true)}) * h`)};
  }`));
  const wb = bindElements(weight, weight.offset, weight.span);
  dispatchRows(dev, pipeline, x, out, L, { mid: [wb.range], extra: EXTRA.write({ eps: f32Bits(eps), w: [weight.offset - wb.sub, weight.strides[0]] }) });
  return out;
}
