// conv2d as an implicit GEMM (BEATs' patch embedding: 1 -> 512 channels, 16x16 kernel, stride 16): an
// invocation owns TPL consecutive flattened output positions of CO output channels; per tap it loads its
// TPL inputs, and the CO weights of the tap are loaded once per subgroup and broadcast (CPU adapters) or
// read directly. No activation; optional bias.
import type { BufferRange, Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { cpuSubgroupSize } from './attention.js';
import { convDecl, convModule, convWeightRows, convWeightTap } from './conv1d.js';
import { metaLayout } from './meta-layout.js';
import { bindElements, newOutput } from './util.js';

export interface Conv2dAttrs {
  stride: [number, number];
  padding: [number, number];
  hasBias?: boolean;
}

interface Spec {
  dx: DType;
  dw: DType;
  db: DType | null;
  sg: number;
  co: number;
  tpl: number;
  wg: number;
}

// Metadata: sizes, kernel, stride and padding pairs, x and w views (offset in the binding, then strides), bias
// (offset, stride), output base, stores per invocation (CO·TPL).
const M = metaLayout([
  'B', 'Cin', 'H', 'W', 'Cout', 'Ho', 'Wo', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw',
  ['x', ['off', 'sb', 'sc', 'sh', 'sw']],
  ['w', ['off', 'so', 'si', 'sh', 'sw']],
  ['bias', ['off', 'stride']],
  'ob', 'nst',
]);

function gen(s: Spec): string {
  const { co: CO, tpl: TPL, sg: SG } = s;
  const WG = SG || s.wg;
  const U = [...Array(TPL).keys()], CH = [...Array(CO).keys()];
  const L: string[] = [];
  const e = (x: string) => L.push(x);
  e(`let b = wid.z; let co0 = wid.y * ${CO}u;`);
  e(`let H = i32(${M.p('H')}); let Wd = i32(${M.p('W')}); let Cout = ${M.p('Cout')}; let Ho = ${M.p('Ho')}; let Wo = ${M.p('Wo')};`);
  e(`let nb0 = (wid.x * ${WG}u + ${SG ? 'ln' : 'lid'}) * ${TPL}u; let N = Ho * Wo;`);
  e(`let sxc = ${M.p('x.sc')}; let sxh = ${M.p('x.sh')}; let sxw = ${M.p('x.sw')};`);
  e(`let wo = ${M.p('w.off')}; let swo = ${M.p('w.so')}; let swi = ${M.p('w.si')}; let swh = ${M.p('w.sh')}; let sww = ${M.p('w.sw')};`);
  for (const u of U) {
    e(`let n${u} = min(nb0 + ${u}u, N - 1u);`);
    e(`let ih${u} = i32(n${u} / Wo) * i32(${M.p('sh')}) - i32(${M.p('ph')}); let iw${u} = i32(n${u} % Wo) * i32(${M.p('sw')}) - i32(${M.p('pw')});`);
  }
  for (const c of CH) for (const u of U) e(`var a${c}_${u} = 0.0;`);
  convWeightRows(e, SG, CO, 'Cout');
  e(`for (var ci = 0u; ci < ${M.p('Cin')}; ci++) {`);
  e(`  let xb = ${M.p('x.off')} + b * ${M.p('x.sb')} + ci * sxc;`);
  e(`  for (var i = 0; i < i32(${M.p('kh')}); i++) {`);
  e(`    for (var j = 0; j < i32(${M.p('kw')}); j++) {`);
  const f = (x: string) => L.push('      ' + x);
  for (const u of U) {
    f(`let r${u} = ih${u} + i; let q${u} = iw${u} + j;`);
    f(`let x${u} = select(0.0, ld_x(xb + u32(clamp(r${u}, 0, H - 1)) * sxh + u32(clamp(q${u}, 0, Wd - 1)) * sxw), r${u} >= 0 && r${u} < H && q${u} >= 0 && q${u} < Wd);`);
  }
  f(`let wt = ci * swi + u32(i) * swh + u32(j) * sww;`);
  convWeightTap(f, SG, CO, 'wt', '');
  for (const c of CH) for (const u of U) f(`a${c}_${u} += wv${c} * x${u};`);
  e(`    }`);
  e(`  }`);
  e(`}`);
  e(`var oa: array<f32, ${CO * TPL}>;`);
  for (const c of CH) for (const u of U) e(`oa[${c * TPL + u}] = a${c}_${u};`);
  e(`let yb = ${M.p('ob')} + b * Cout * N;`);
  e(`for (var x = 0u; x < ${M.p('nst')}; x++) {`);
  e(`  let c = x / ${TPL}u; let n = nb0 + x % ${TPL}u; let co = co0 + c;`);
  e(`  if (co < Cout && n < N) {`);
  e(`    y[yb + co * N + n] = oa[x]${s.db ? ` + ld_bias(${M.p('bias.off')} + co * ${M.p('bias.stride')})` : ''};`);
  e(`  }`);
  e(`}`);
  return convModule(SG, WG, convDecl(s), L);
}

/** conv2d on the GPU: x [B, Cin, H, W], w [Cout, Cin, kh, kw], bias [Cout]? -> [B, Cout, Ho, Wo] f32. */
export function conv2dGpu(x: Tensor, w: Tensor, bias: Tensor | undefined, a: Conv2dAttrs): Tensor {
  const dev: Device = x.device!;
  const [B, Cin, H, W] = x.shape;
  const [Cout, , kh, kw] = w.shape;
  const Ho = Math.floor((H + 2 * a.padding[0] - kh) / a.stride[0]) + 1;
  const Wo = Math.floor((W + 2 * a.padding[1] - kw) / a.stride[1]) + 1;
  const y = newOutput(dev, [B, Cout, Math.max(Ho, 0), Math.max(Wo, 0)]);
  if (y.size === 0) return y;
  const sgSize = cpuSubgroupSize(dev) ?? 0;
  const spec: Spec = { dx: x.dtype, dw: w.dtype, db: bias?.dtype ?? null, sg: sgSize, co: sgSize ? 2 * sgSize : 8, tpl: 4, wg: 64, ...dev.tuning.conv2d };
  const p = dev.pipeline(`conv2d:${JSON.stringify(spec)}`, () => gen(spec));
  const bx = bindElements(x, x.offset, x.span), bw = bindElements(w, w.offset, w.span);
  const bindings: (BufferRange | GPUBuffer)[] = [bx.range, bw.range];
  const bb = bias ? bindElements(bias, bias.offset, bias.span) : null;
  if (bb) bindings.push(bb.range);
  const by = bindElements(y, 0, y.size);
  const meta = M.write({
    B, Cin, H, W, Cout, Ho, Wo, kh, kw, sh: a.stride[0], sw: a.stride[1], ph: a.padding[0], pw: a.padding[1],
    x: [x.offset - bx.sub, ...x.strides],
    w: [w.offset - bw.sub, ...w.strides],
    bias: bias && bb ? [bias.offset - bb.sub, bias.strides[0]] : [0, 0],
    ob: -by.sub,
    nst: spec.co * spec.tpl,
  });
  bindings.push(by.range, dev.meta(meta));
  const per = (spec.sg || spec.wg) * spec.tpl;
  dev.dispatch(p, bindings, Math.ceil((Ho * Wo) / per), Math.ceil(Cout / spec.co), B);
  return y;
}
