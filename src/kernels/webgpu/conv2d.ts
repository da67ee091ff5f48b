// conv2d as an implicit GEMM (BEATs' patch embedding: 1 -> 512 channels, 16x16 kernel, stride 16): an
// invocation owns TPL consecutive flattened output positions of CO output channels; per tap it loads its
// TPL inputs, and the CO weights of the tap are loaded once per subgroup and broadcast (CPU adapters) or
// read directly. No activation; optional bias.
import type { BufferRange, Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { cpuSubgroupSize } from './attention.js';
import { convDecl, convModule, convWeightRows, convWeightTap } from './conv1d.js';
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

// meta: 0 B, 1 Cin, 2 H, 3 W, 4 Cout, 5 Ho, 6 Wo, 7 kh, 8 kw, 9 sh, 10 sw, 11 ph, 12 pw, 13 x (off, sb, sc, sh, sw),
// 18 w (off, so, si, sh, sw), 23 bias (off, stride), 25 out base, 26 stores per invocation
const M = { B: 0, CIN: 1, H: 2, W: 3, COUT: 4, HO: 5, WO: 6, KH: 7, KW: 8, SH: 9, SW: 10, PH: 11, PW: 12, X: 13, WT: 18, BIAS: 23, OB: 25, NST: 26 };

function gen(s: Spec): string {
  const { co: CO, tpl: TPL, sg: SG } = s;
  const WG = SG || s.wg;
  const U = [...Array(TPL).keys()], CH = [...Array(CO).keys()];
  const L: string[] = [];
  const e = (x: string) => L.push(x);
  e(`let b = wid.z; let co0 = wid.y * ${CO}u;`);
  e(`let H = i32(prm[${M.H}]); let Wd = i32(prm[${M.W}]); let Cout = prm[${M.COUT}]; let Ho = prm[${M.HO}]; let Wo = prm[${M.WO}];`);
  e(`let nb0 = (wid.x * ${WG}u + ${SG ? 'ln' : 'lid'}) * ${TPL}u; let N = Ho * Wo;`);
  e(`let sxc = prm[${M.X + 2}]; let sxh = prm[${M.X + 3}]; let sxw = prm[${M.X + 4}];`);
  e(`let wo = prm[${M.WT}]; let swo = prm[${M.WT + 1}]; let swi = prm[${M.WT + 2}]; let swh = prm[${M.WT + 3}]; let sww = prm[${M.WT + 4}];`);
  for (const u of U) {
    e(`let n${u} = min(nb0 + ${u}u, N - 1u);`);
    e(`let ih${u} = i32(n${u} / Wo) * i32(prm[${M.SH}]) - i32(prm[${M.PH}]); let iw${u} = i32(n${u} % Wo) * i32(prm[${M.SW}]) - i32(prm[${M.PW}]);`);
  }
  for (const c of CH) for (const u of U) e(`var a${c}_${u} = 0.0;`);
  convWeightRows(e, SG, CO, 'Cout');
  e(`for (var ci = 0u; ci < prm[${M.CIN}]; ci++) {`);
  e(`  let xb = prm[${M.X}] + b * prm[${M.X + 1}] + ci * sxc;`);
  e(`  for (var i = 0; i < i32(prm[${M.KH}]); i++) {`);
  e(`    for (var j = 0; j < i32(prm[${M.KW}]); j++) {`);
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
  e(`let yb = prm[${M.OB}] + b * Cout * N;`);
  e(`for (var x = 0u; x < prm[${M.NST}]; x++) {`);
  e(`  let c = x / ${TPL}u; let n = nb0 + x % ${TPL}u; let co = co0 + c;`);
  e(`  if (co < Cout && n < N) {`);
  e(`    y[yb + co * N + n] = oa[x]${s.db ? ` + ld_bias(prm[${M.BIAS}] + co * prm[${M.BIAS + 1}])` : ''};`);
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
  const meta = [B, Cin, H, W, Cout, Ho, Wo, kh, kw, a.stride[0], a.stride[1], a.padding[0], a.padding[1], x.offset - bx.sub, ...x.strides, w.offset - bw.sub, ...w.strides, 0, 0, 0, spec.co * spec.tpl];
  const bindings: (BufferRange | GPUBuffer)[] = [bx.range, bw.range];
  if (bias) {
    const bb = bindElements(bias, bias.offset, bias.span);
    meta[M.BIAS] = bias.offset - bb.sub;
    meta[M.BIAS + 1] = bias.strides[0];
    bindings.push(bb.range);
  }
  bindings.push(bindElements(y, 0, y.size).range, dev.meta(meta));
  const per = (spec.sg || spec.wg) * spec.tpl;
  dev.dispatch(p, bindings, Math.ceil((Ho * Wo) / per), Math.ceil(Cout / spec.co), B);
  return y;
}
