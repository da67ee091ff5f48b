// conv1d as an implicit GEMM with register blocking: an invocation owns TPL consecutive output steps of CO
// output channels (one channel block per workgroup). Over each input channel the input is read through a
// sliding register window along the kernel taps (one new load per tap and invocation), and the CO weights
// of a tap are loaded once per subgroup and broadcast (CPU adapters with fixed subgroups) or read directly.
// Bias and exact-erf GELU are fused into the store. Groups are supported (the grouped file tunes for BEATs'
// positional convolution).
import type { BufferRange, Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { WGSL_ERF } from '../elementwise-defs.js';
import { cpuSubgroupSize } from './attention.js';
import { metaLayout } from './meta-layout.js';
import { bindElements, newOutput, wgslInput, wgslMeta } from './util.js';

export interface Conv1dAttrs {
  stride: number;
  padding: number;
  groups: number;
  activation: 'gelu' | 'none';
  hasBias?: boolean;
}

export interface Conv1dConfig {
  /** Output channels per workgroup (a multiple of the subgroup size in the broadcast layout). */
  co: number;
  /** Consecutive output steps per invocation. */
  tpl: number;
  /** Invocations per workgroup in the direct layout. */
  wg: number;
  /** Use the direct layout even where subgroups allow broadcasting. */
  direct?: boolean;
}

interface Spec {
  dx: DType;
  dw: DType;
  db: DType | null;
  gelu: boolean;
  stride: number;
  /** Kernel size when the taps are unrolled (small kernels), else 0 (sliding window loop). */
  K: number;
  sg: number;
  cfg: Conv1dConfig;
}

// Metadata: sizes, cin/cout per group, channel blocks per group, x and w views (offset in the binding, then
// strides), bias (offset, stride), output base, number of stores per invocation (CO·TPL).
const M = metaLayout([
  'B', 'Cin', 'T', 'Cout', 'Tout', 'K', 'pad', 'cig', 'cog', 'nblk',
  ['x', ['off', 'sb', 'sc', 'st']],
  ['w', ['off', 'so', 'si', 'sk']],
  ['bias', ['off', 'stride']],
  'ob', 'nst',
]);

/** Bindings of the conv kernels: x, w, bias?, y (f32), meta. */
export function convDecl(s: { dx: DType; dw: DType; db: DType | null }): string {
  let b = 0;
  const decl = [wgslInput(b++, 'x', s.dx), wgslInput(b++, 'w', s.dw)];
  if (s.db) decl.push(wgslInput(b++, 'bias', s.db));
  decl.push(`@group(0) @binding(${b++}) var<storage, read_write> y: array<f32>;`);
  decl.push(wgslMeta(b++));
  return decl.join('\n');
}

/** Weight row offsets `wr<c>` of the CO channels from co0 (clamped below `end`): one per SG channels and lane, or one per channel. */
export function convWeightRows(e: (x: string) => void, SG: number, CO: number, end: string): void {
  if (SG) for (let c = 0; c < CO / SG; c++) e(`let wr${c} = wo + min(co0 + ${c * SG}u + ln, ${end} - 1u) * swo;`);
  else for (let c = 0; c < CO; c++) e(`let wr${c} = wo + min(co0 + ${c}u, ${end} - 1u) * swo;`);
}

/** One tap's CO weights `wv<c><sfx>` at `wr<c> + off`: loaded per lane and broadcast with subgroups, else read directly. */
export function convWeightTap(f: (x: string) => void, SG: number, CO: number, off: string, sfx: string): void {
  if (SG) {
    for (let c = 0; c < CO / SG; c++) f(`let wl${c}${sfx} = ld_w(wr${c} + ${off});`);
    for (let c = 0; c < CO; c++) f(`let wv${c}${sfx} = subgroupBroadcast(wl${Math.floor(c / SG)}${sfx}, ${c % SG}u);`);
  } else for (let c = 0; c < CO; c++) f(`let wv${c}${sfx} = ld_w(wr${c} + ${off});`);
}

/** A conv module: subgroup directives when SG, `decls`, then main (workgroup ids and lane) over the body lines. */
export function convModule(SG: number, WG: number, decls: string, L: string[]): string {
  const head = SG ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : '';
  const builtin = SG ? '@builtin(subgroup_invocation_id) ln: u32' : '@builtin(local_invocation_index) lid: u32';
  return `${head}${decls}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, ${builtin}) {
${L.map((x) => '  ' + x).join('\n')}
}`;
}

export function genConv1d(s: Spec): string {
  const { co: CO, tpl: TPL } = s.cfg;
  const SG = s.sg;
  const WG = SG || s.cfg.wg;
  const st = s.stride;
  const W = (TPL - 1) * st + 1; // window registers
  const U = [...Array(TPL).keys()], CH = [...Array(CO).keys()], E = [...Array(W).keys()];
  const L: string[] = [];
  const e = (x: string) => L.push(x);
  const lane = SG ? 'ln' : 'lid';
  e(`let b = wid.z;`);
  e(`let T = ${M.p('T')}; let Tout = ${M.p('Tout')}; let K = ${M.p('K')}; let pad = i32(${M.p('pad')});`);
  e(`let cig = ${M.p('cig')}; let cog = ${M.p('cog')};`);
  e(`let g = wid.y / ${M.p('nblk')}; let blk = wid.y % ${M.p('nblk')};`);
  e(`let co0 = g * cog + blk * ${CO}u; let coEnd = g * cog + cog;`);
  e(`let tb = (wid.x * ${WG}u + ${lane}) * ${TPL}u;`);
  e(`let xs0 = i32(tb) * ${st} - pad;`);
  e(`let xbb = ${M.p('x.off')} + b * ${M.p('x.sb')}; let sxc = ${M.p('x.sc')}; let sxt = ${M.p('x.st')};`);
  e(`let wo = ${M.p('w.off')}; let swo = ${M.p('w.so')}; let swi = ${M.p('w.si')}; let swk = ${M.p('w.sk')};`);
  for (const c of CH) for (const u of U) e(`var a${c}_${u} = 0.0;`);
  // weight rows this lane loads (broadcast layout): channel co0 + c*SG + lane
  convWeightRows(e, SG, CO, 'coEnd');
  e(`for (var ci = 0u; ci < cig; ci++) {`);
  e(`  let xb = xbb + (g * cig + ci) * sxc;`);
  e(`  let wci = ci * swi;`);
  const ldx = (pos: string) => `select(0.0, ld_x(xb + u32(clamp(${pos}, 0, i32(T) - 1)) * sxt), ${pos} >= 0 && ${pos} < i32(T))`;
  const wtap = (f: (x: string) => void, k: string, sfx: string) => convWeightTap(f, SG, CO, `wci + ${k} * swk`, sfx);
  if (s.K) {
    // small kernels: taps unrolled, the whole input window of the invocation in registers
    const NX = (TPL - 1) * st + s.K;
    const f = (x: string) => L.push('  ' + x);
    for (let j = 0; j < NX; j++) f(`let x${j} = ${ldx(`xs0 + ${j}`)};`);
    for (let k = 0; k < s.K; k++) {
      wtap(f, `${k}u`, `_${k}`);
      for (const c of CH) for (const u of U) f(`a${c}_${u} += wv${c}_${k} * x${u * st + k};`);
    }
  } else {
    for (const j of E.slice(0, W - 1)) e(`  var x${j} = ${ldx(`xs0 + ${j}`)};`);
    e(`  var x${W - 1} = 0.0;`);
    e(`  for (var k = 0u; k < K; k++) {`);
    const f = (x: string) => L.push('    ' + x);
    f(`x${W - 1} = ${ldx(`xs0 + i32(k) + ${W - 1}`)};`);
    wtap(f, 'k', '');
    for (const c of CH) for (const u of U) f(`a${c}_${u} += wv${c} * x${u * st};`);
    for (const j of E.slice(0, W - 1)) f(`x${j} = x${j + 1};`);
    e(`  }`);
  }
  e(`}`);
  // epilogue: registers -> private array -> store loop with bias and GELU
  e(`var oa: array<f32, ${CO * TPL}>;`);
  for (const c of CH) for (const u of U) e(`oa[${c * TPL + u}] = a${c}_${u};`);
  e(`let yb = ${M.p('ob')} + b * ${M.p('Cout')} * Tout;`);
  e(`for (var x = 0u; x < ${M.p('nst')}; x++) {`);
  e(`  let c = x / ${TPL}u; let t = tb + x % ${TPL}u; let co = co0 + c;`);
  e(`  if (co < coEnd && t < Tout) {`);
  e(`    var r = oa[x];`);
  if (s.db) e(`    r += ld_bias(${M.p('bias.off')} + co * ${M.p('bias.stride')});`);
  if (s.gelu) e(`    r = 0.5 * r * (1.0 + erf_(r * 0.70710678118654752));`);
  e(`    y[yb + co * Tout + t] = r;`);
  e(`  }`);
  e(`}`);
  return convModule(SG, WG, `${convDecl(s)}\n${s.gelu ? WGSL_ERF : ''}`, L);
}

export function defaultConv1dConfig(dev: Device, coPerGroup: number): Conv1dConfig {
  const sg = cpuSubgroupSize(dev);
  if (sg) return { co: coPerGroup <= sg ? sg : 2 * sg, tpl: 8, wg: sg };
  return { co: 8, tpl: 4, wg: 64 };
}

/** conv1d on the GPU: x [B, Cin, T], w [Cout, Cin/groups, K], bias [Cout]? -> [B, Cout, Tout] f32. */
export function conv1dGpu(x: Tensor, w: Tensor, bias: Tensor | undefined, a: Conv1dAttrs, cfg?: Partial<Conv1dConfig>): Tensor {
  const dev = x.device!;
  const [B, Cin, T] = x.shape;
  const [Cout, cig, K] = w.shape;
  const G = a.groups;
  const Tout = Math.floor((T + 2 * a.padding - K) / a.stride) + 1;
  const y = newOutput(dev, [B, Cout, Math.max(Tout, 0)]);
  if (y.size === 0) return y;
  const cog = Cout / G;
  const c: Conv1dConfig = { ...defaultConv1dConfig(dev, cog), ...(cfg ?? {}), ...dev.tuning.conv1d };
  const sg = c.direct ? 0 : cpuSubgroupSize(dev) ?? 0;
  if (sg && c.co % sg !== 0) c.co = Math.ceil(c.co / sg) * sg;
  const spec: Spec = { dx: x.dtype, dw: w.dtype, db: bias?.dtype ?? null, gelu: a.activation === 'gelu', stride: a.stride, K: K <= 8 ? K : 0, sg, cfg: c };
  const p = dev.pipeline(`conv1d:${JSON.stringify(spec)}`, () => genConv1d(spec));
  const nblk = Math.ceil(cog / c.co);
  const bx = bindElements(x, x.offset, x.span), bw = bindElements(w, w.offset, w.span);
  const bindings: (BufferRange | GPUBuffer)[] = [bx.range, bw.range];
  const bb = bias ? bindElements(bias, bias.offset, bias.span) : null;
  if (bb) bindings.push(bb.range);
  const by = bindElements(y, 0, y.size);
  const meta = M.write({
    B, Cin, T, Cout, Tout, K, pad: a.padding, cig, cog, nblk,
    x: [x.offset - bx.sub, ...x.strides],
    w: [w.offset - bw.sub, ...w.strides],
    bias: bias && bb ? [bias.offset - bb.sub, bias.strides[0]] : [0, 0],
    ob: -by.sub,
    nst: c.co * c.tpl,
  });
  bindings.push(by.range, dev.meta(meta));
  const per = (sg || c.wg) * c.tpl;
  dev.dispatch(p, bindings, Math.ceil(Tout / per), G * nblk, B);
  return y;
}
