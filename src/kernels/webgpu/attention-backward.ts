// Attention backward (flash-style, no Tq x Tk storage): probabilities are recomputed per key/query from
// the saved row logsumexp.
//   1. rowdot: Dsum[i] = rowsum(dO_i ⊙ o_i) (o = the forward output, after the head mask).
//   2. dq: one invocation per query row, over the keys: p = exp(s - lse), dp = m·dO·v, ds = p·(dp - Dsum),
//      dq += scale·ds·k; with a head-mask gradient also O'_i = Σ p·v and r_i = dO_i·O'_i.
//   3. dkv: one invocation per key row, over the queries: dv += m·p·dO, dk += scale·ds·q.
//   4. maskgrad: dHeadMask = Σ_i r_i, summed over the axes the head mask broadcasts.
// Kernels 2 and 3 use the forward's layouts: on CPU adapters with fixed subgroups, the "other" rows are
// loaded once per subgroup and broadcast (each memory load feeds SG multiply-adds); elsewhere each
// invocation reads them directly.
import type { BufferRange, Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor, empty } from '../../tensor/tensor.js';
import { AttentionAttrs, LOG2E, M, attnDecl, attnMeta, biasBatchSpan, cpuSubgroupSize, dummyBuffer, rwF32, splitInputs } from './attention.js';
import { metaLayout } from './meta-layout.js';
import { WGSL_INDEX, WGSL_MAIN_ARGS, bindElements, grid, newOutput, wgslInput, wgslMeta } from './util.js';

// Backward block of the metadata, at prm[prm[M.EXTRA] + x]
const BW = { DO: 0, O: 5, LSE: 10, DSUM: 11, DQ: 12, DK: 13, DV: 14, R: 15, MGRAD: 16, LEN: 17 };

interface BwSpec {
  kind: 'dq' | 'dkv';
  D: number;
  dq: DType;
  dk: DType;
  dv: DType;
  ddo: DType;
  db: DType | null;
  dm: DType;
  dl: DType | null;
  /** Subgroup size of the broadcast layout, or 0 for the direct layout. */
  sg: number;
  wg: number;
}

function gen(s: BwSpec): string {
  const { D, sg } = s;
  const dq = s.kind === 'dq';
  const decl = attnDecl(s, [
    (b) => wgslInput(b, 'dO', s.ddo),
    (b) => `@group(0) @binding(${b}) var<storage, read> stats: array<f32>;`, // lse and Dsum
    rwF32('g1'), // dq | dk
    rwF32('g2'), // r | dv
  ]);
  const Dp = sg ? Math.ceil(D / sg) * sg : D;
  const Dd = [...Array(Dp).keys()];
  const C = [...Array(Dp / Math.max(sg, 1)).keys()];
  const L: string[] = [];
  const e = (x: string) => L.push(x);
  const lane = sg ? 'ln' : 'lid';
  const WG = sg || s.wg;
  e(`let b = wid.z; let h = wid.y; let bw = prm[${M.EXTRA}];`);
  e(`let Tq = prm[${M.Tq}]; let Tk = prm[${M.Tk}]; let H = prm[${M.H}];`);
  e(`let sc = metaf(${M.SCALE}u); let qoff = bitcast<i32>(prm[${M.QOFF}]);`);
  e(`let mk = select(1.0, ld_hm(prm[${M.MASK}] + b * prm[${M.MASK + 1}] + h * prm[${M.MASK + 2}]), prm[${M.HASMASK}] != 0u);`);
  e(`let mgrad = prm[bw + ${BW.MGRAD}u] != 0u;`);
  if (s.dl) e(`let klen = min(Tk, u32(max(ld_kl(prm[${M.LENS}] + b * prm[${M.LENS + 1}]), 0.0)));`);
  else e(`let klen = min(Tk, prm[${M.LENS_ARR}u + b]);`);
  e(`let row0 = (b * H + h);`);
  e(`let own = wid.x * ${WG}u + ${lane};`);
  const ownN = dq ? 'Tq' : 'Tk';
  e(`let oc = min(own, ${ownN} - 1u);`);
  // base offsets
  e(`let qbh = prm[${M.Q}] + b * prm[${M.Q + 1}] + h * prm[${M.Q + 2}]; let qst = prm[${M.Q + 3}]; let qsd = prm[${M.Q + 4}];`);
  e(`let kbh = prm[${M.K}] + b * prm[${M.K + 1}] + h * prm[${M.K + 2}]; let kst = prm[${M.K + 3}]; let ksd = prm[${M.K + 4}];`);
  e(`let vbh = prm[${M.V}] + b * prm[${M.V + 1}] + h * prm[${M.V + 2}]; let vst = prm[${M.V + 3}]; let vsd = prm[${M.V + 4}];`);
  e(`let gbh = prm[bw + ${BW.DO}u] + b * prm[bw + ${BW.DO + 1}u] + h * prm[bw + ${BW.DO + 2}u]; let gst = prm[bw + ${BW.DO + 3}u]; let gsd = prm[bw + ${BW.DO + 4}u];`);
  e(`let lseb = prm[bw + ${BW.LSE}u] + row0 * Tq; let dsb = prm[bw + ${BW.DSUM}u] + row0 * Tq;`);
  if (s.db) e(`let bbh = prm[${M.BIAS}] + b * prm[${M.BIAS + 1}] + h * prm[${M.BIAS + 2}]; let bsq = prm[${M.BIAS + 3}]; let bsk = prm[${M.BIAS + 4}];`);
  // own rows in private arrays (runtime loop: few memory instructions to compile on CPU adapters)
  const [oa, ob] = dq ? ['q', 'dO'] : ['k', 'v'];
  const ownBase = (x: string) => (x === 'q' ? 'qbh + oc * qst' : x === 'dO' ? 'gbh + oc * gst' : x === 'k' ? 'kbh + oc * kst' : 'vbh + oc * vst');
  const sd = (x: string) => (x === 'q' ? 'qsd' : x === 'dO' ? 'gsd' : x === 'k' ? 'ksd' : 'vsd');
  e(`var ra: array<f32, ${Dp}>; var rb: array<f32, ${Dp}>;`);
  e(`for (var d = 0u; d < ${sg ? `prm[bw + ${BW.LEN}u]` : `${D}u`}; d++) { ra[d] = ld_${oa === 'dO' ? 'dO' : oa}(${ownBase(oa)} + d * ${sd(oa)}); rb[d] = ld_${ob}(${ownBase(ob)} + d * ${sd(ob)}); }`);
  if (dq) {
    e(`let lse2 = stats[lseb + oc] * ${LOG2E}; let dsum = stats[dsb + oc];`);
    // keys this subgroup/workgroup visits: causal bound of its last row, key padding
    e(`let ilast = min(wid.x * ${WG}u + ${WG - 1}u, Tq - 1u);`);
    e(`var jEnd = min(klen, u32(max(i32(ilast) + qoff + 1, 0)));`);
    e(`if (mk == 0.0 && !mgrad) { jEnd = 0u; }`);
  } else {
    e(`let jlo = wid.x * ${WG}u;`);
    e(`var iBeg = u32(max(i32(jlo) - qoff, 0));`);
    e(`if (jlo >= klen || (mk == 0.0)) { iBeg = Tq; }`);
  }
  for (const d of Dd) e(`var a_${d} = 0.0; var c_${d} = 0.0;`);
  // the loop over the other side
  const other = dq ? 'j' : 'i';
  if (dq) e(`for (var j = 0u; j < jEnd; j++) {`);
  else e(`for (var i = iBeg; i < Tq; i++) {`);
  const f = (x: string) => L.push('  ' + x);
  // other-row element d of x ('k','v' for dq; 'q','dO' for dkv)
  const [xa, xb] = dq ? ['k', 'v'] : ['q', 'dO'];
  const rowBase = (x: string) => (x === 'q' ? `qbh + ${other} * qst` : x === 'dO' ? `gbh + ${other} * gst` : x === 'k' ? `kbh + ${other} * kst` : `vbh + ${other} * vst`);
  const el: Record<string, (d: number) => string> = {};
  for (const x of [xa, xb]) {
    if (sg) {
      for (const c of C) f(`let ${x}l${c} = ld_${x}(${rowBase(x)} + min(${c * sg}u + ln, ${D - 1}u) * ${sd(x)});`);
      for (const d of Dd) f(`let ${x}b${d} = subgroupBroadcast(${x}l${Math.floor(d / sg)}, ${d % sg}u);`);
      el[x] = (d) => `${x}b${d}`;
    } else {
      for (const d of Dd) f(`let ${x}b${d} = ld_${x}(${rowBase(x)} + ${d}u * ${sd(x)});`);
      el[x] = (d) => `${x}b${d}`;
    }
  }
  const own = (d: number, which: 'a' | 'b') => (d < D ? `r${which}[${d}]` : '0.0');
  // score: q·k (scaled, log2 units)
  const qk = dq ? Dd.map((d) => `${own(d, 'a')} * ${el.k(d)}`) : Dd.map((d) => `${el.q(d)} * ${own(d, 'a')}`);
  const gv = dq ? Dd.map((d) => `${own(d, 'b')} * ${el.v(d)}`) : Dd.map((d) => `${el.dO(d)} * ${own(d, 'b')}`);
  f(`var s = (${qk.join(' + ')}) * sc;`);
  const [iq, jk] = dq ? ['oc', 'j'] : ['i', 'oc'];
  if (s.db) f(`s += ld_bias(bbh + ${iq} * bsq + ${jk} * bsk) * ${LOG2E};`);
  if (dq) {
    f(`let valid = own < Tq && j < klen && i32(j) <= i32(oc) + qoff;`);
    f(`let p = select(0.0, exp2(s - lse2), valid);`);
    f(`let dp = mk * (${gv.join(' + ')});`);
    f(`let ds = p * (dp - dsum);`);
    for (const d of Dd) f(`a_${d} += ds * ${el.k(d)};`);
    f(`if (mgrad) {`);
    for (const d of Dd) f(`  c_${d} += p * ${el.v(d)};`);
    f(`}`);
  } else {
    f(`let valid = own < Tk && oc < klen && i32(oc) <= i32(i) + qoff;`);
    f(`let lse2 = stats[lseb + i] * ${LOG2E}; let dsum = stats[dsb + i];`);
    f(`let p = select(0.0, exp2(s - lse2), valid);`);
    f(`let dp = mk * (${gv.join(' + ')});`);
    f(`let ds = p * (dp - dsum);`);
    for (const d of Dd) f(`a_${d} += ds * ${el.q(d)};`);
    for (const d of Dd) f(`c_${d} += p * ${el.dO(d)};`);
  }
  e(`}`);
  // epilogue
  const sc = `metaf(${M.SCALE}u) / ${LOG2E}`;
  // registers -> private array (constant indices) -> a store loop (runtime bound on CPU adapters)
  const n = sg ? `prm[bw + ${BW.LEN}u]` : `${D}u`;
  e(`var oa: array<f32, ${D}>; var ob: array<f32, ${D}>;`);
  e(`if (own < ${ownN}) {`);
  if (dq) {
    e(`  let o1 = prm[bw + ${BW.DQ}u] + (row0 * Tq + own) * ${D}u;`);
    for (let d = 0; d < D; d++) e(`  oa[${d}] = a_${d} * ${sc};`);
    e(`  for (var x = 0u; x < ${n}; x++) { g1[o1 + x] = oa[x]; }`);
    e(`  if (mgrad) { g2[prm[bw + ${BW.R}u] + row0 * Tq + own] = ${Dd.filter((d) => d < D).map((d) => `rb[${d}] * c_${d}`).join(' + ')}; }`);
  } else {
    e(`  let o1 = prm[bw + ${BW.DK}u] + (row0 * Tk + own) * ${D}u;`);
    e(`  let o2 = prm[bw + ${BW.DV}u] + (row0 * Tk + own) * ${D}u;`);
    for (let d = 0; d < D; d++) e(`  oa[${d}] = a_${d} * ${sc}; ob[${d}] = c_${d} * mk;`);
    e(`  for (var x = 0u; x < ${n}; x++) { g1[o1 + x] = oa[x]; g2[o2 + x] = ob[x]; }`);
  }
  e(`}`);
  const head = sg ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : '';
  const builtin = sg ? '@builtin(subgroup_invocation_id) ln: u32' : '@builtin(local_invocation_index) lid: u32';
  return `${head}${decl}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, ${builtin}) {
${L.map((x) => '  ' + x).join('\n')}
}`;
}

/** Offset (in the binding) and [b, h, t, d] strides of a [B, H, T, D] operand. */
const VIEW = ['off', 'sb', 'sh', 'st', 'sd'] as const;
/** rowdot: sizes, the dO and o views, the output's element offset. */
const ROWDOT = metaLayout(['B', 'H', 'Tq', 'D', ['g', VIEW], ['o', VIEW], 'yoff']);
/** maskGrad: sizes of r [B, H, Tq] and of the head mask [mb, mh]. */
const MASKGRAD = metaLayout(['B', 'H', 'Tq', 'mb', 'mh']);

/** Dsum[b,h,i] = Σ_d dO ⊙ o (any strides), written contiguously. */
function rowdot(dev: Device, dO: Tensor, o: Tensor, out: Tensor): void {
  const [B, H, Tq, D] = o.shape;
  const p = dev.pipeline(`attnRowdot:${dO.dtype}:${o.dtype}`, () => `${wgslInput(0, 'g', dO.dtype)}
${wgslInput(1, 'o', o.dtype)}
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wgslMeta(3)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let H = ${ROWDOT.p('H')}; let Tq = ${ROWDOT.p('Tq')}; let D = ${ROWDOT.p('D')};
  if (gi_ >= ${ROWDOT.p('B')} * H * Tq) { return; }
  let i = gi_ % Tq; let h = (gi_ / Tq) % H; let b = gi_ / (Tq * H);
  let go = ${ROWDOT.p('g.off')} + b * ${ROWDOT.p('g.sb')} + h * ${ROWDOT.p('g.sh')} + i * ${ROWDOT.p('g.st')};
  let oo = ${ROWDOT.p('o.off')} + b * ${ROWDOT.p('o.sb')} + h * ${ROWDOT.p('o.sh')} + i * ${ROWDOT.p('o.st')};
  var acc = 0.0;
  for (var d = 0u; d < D; d++) { acc += ld_g(go + d * ${ROWDOT.p('g.sd')}) * ld_o(oo + d * ${ROWDOT.p('o.sd')}); }
  y[${ROWDOT.p('yoff')} + gi_] = acc;
}`);
  const bg = bindElements(dO, dO.offset, dO.span), bo = bindElements(o, o.offset, o.span);
  const meta = ROWDOT.write({ B, H, Tq, D, g: [dO.offset - bg.sub, ...dO.strides], o: [o.offset - bo.sub, ...o.strides], yoff: out.offset });
  dev.dispatch(p, [bg.range, bo.range, out.storage.buffer!, dev.meta(meta)], ...grid(dev, B * H * Tq));
}

/** dHeadMask in the head mask's shape [mb, mh] from r [B, H, Tq]. */
function maskGrad(dev: Device, r: Tensor, maskShape: readonly number[]): Tensor {
  const [B, H, Tq] = r.shape;
  const mb = maskShape.length === 2 ? maskShape[0] : 1, mh = maskShape[maskShape.length - 1];
  const out = newOutput(dev, [...maskShape]);
  const p = dev.pipeline('attnMaskGrad', () => `@group(0) @binding(0) var<storage, read> r: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${wgslMeta(2)}
@compute @workgroup_size(64)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let B = ${MASKGRAD.p('B')}; let H = ${MASKGRAD.p('H')}; let Tq = ${MASKGRAD.p('Tq')}; let mb = ${MASKGRAD.p('mb')}; let mh = ${MASKGRAD.p('mh')};
  if (gi_ >= mb * mh) { return; }
  let bm = gi_ / mh; let hm = gi_ % mh;
  var acc = 0.0;
  for (var b = 0u; b < B; b++) {
    if (mb != 1u && b != bm) { continue; }
    for (var h = 0u; h < H; h++) {
      if (mh != 1u && h != hm) { continue; }
      for (var i = 0u; i < Tq; i++) { acc += r[(b * H + h) * Tq + i]; }
    }
  }
  y[gi_] = acc;
}`);
  dev.dispatch(p, [r.storage.buffer!, out.storage.buffer!, dev.meta(MASKGRAD.write({ B, H, Tq, mb, mh }))], ...grid(dev, mb * mh, 64));
  return out;
}

/** Inputs [q, k, v, o, dO, lse, bias?, headMask?, keyLengths?]; outputs [dq, dk, dv, dHeadMask?]. */
export function attentionBackward(inputs: Tensor[], a: AttentionAttrs): Tensor[] {
  const [q, k, v, o, dO, lseIn] = inputs;
  const t = splitInputs([q, k, v, ...inputs.slice(6)], a);
  const dev = q.device!;
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const dq = newOutput(dev, [B, H, Tq, D]);
  const dk = newOutput(dev, [B, H, Tk, D]);
  const dv = newOutput(dev, [B, H, Tk, D]);
  const hasMask = !!t.mask;
  if (dq.size === 0 && dk.size === 0) return hasMask ? [dq, dk, dv, newOutput(dev, [...t.mask!.shape])] : [dq, dk, dv];
  // stats: lse [B,H,Tq] then Dsum [B,H,Tq], one buffer
  const stats = empty([2 * B * H * Tq], 'f32', dev);
  const lse = lseIn.isContiguous ? lseIn : lseIn.contiguous();
  if (B * H * Tq > 0) {
    dev.copy(lse.storage.buffer!, lse.offset * 4, stats.storage.buffer!, 0, B * H * Tq * 4);
    const dsum = stats.view([B, H, Tq], [H * Tq, Tq, 1], B * H * Tq);
    rowdot(dev, dO, o, dsum);
    dsum.dispose();
  }
  if (lse !== lseIn) lse.dispose();
  const r = hasMask ? empty([B, H, Tq], 'f32', dev) : null;
  const sgSize = dev.tuning.attentionBackwardDirect ? null : cpuSubgroupSize(dev);
  const meta = new Array<number>(M.LENS_ARR + B).fill(0);
  const ins = attnMeta(dev, meta, t, { ...a, returnLse: true }, 0, B, biasBatchSpan(t.bias, Tq, Tk));
  const bw = M.LENS_ARR + B;
  meta[M.EXTRA] = bw;
  const bwm = new Array<number>(BW.LEN + 1).fill(0);
  const bg = bindElements(dO, dO.offset, dO.span);
  bwm[BW.DO] = dO.offset - bg.sub;
  for (let i = 0; i < 4; i++) bwm[BW.DO + 1 + i] = dO.strides[i];
  bwm[BW.LSE] = 0;
  bwm[BW.DSUM] = B * H * Tq;
  bwm[BW.MGRAD] = hasMask ? 1 : 0;
  bwm[BW.LEN] = D;
  meta.push(...bwm);
  const mb = dev.meta(meta);
  const base: (BufferRange | GPUBuffer)[] = [...ins, bg.range, stats.storage.buffer!];
  const spec = (kind: 'dq' | 'dkv'): BwSpec => ({
    kind, D, dq: q.dtype, dk: k.dtype, dv: v.dtype, ddo: dO.dtype, db: t.bias?.dtype ?? null, dm: t.mask?.dtype ?? 'f32', dl: t.lens?.dtype ?? null,
    sg: sgSize ?? 0, wg: 64,
  });
  const WG = sgSize ?? 64;
  if (Tq > 0) {
    const s1 = spec('dq');
    const p1 = dev.pipeline(`attnBwd:${JSON.stringify(s1)}`, () => gen(s1));
    dev.dispatch(p1, [...base, dq.storage.buffer!, r ? r.storage.buffer! : dummyBuffer(dev, 2), mb], Math.ceil(Tq / WG), H, B);
  }
  if (Tk > 0) {
    const s2 = spec('dkv');
    const p2 = dev.pipeline(`attnBwd:${JSON.stringify(s2)}`, () => gen(s2));
    dev.dispatch(p2, [...base, dk.storage.buffer!, dv.storage.buffer!, mb], Math.ceil(Tk / WG), H, B);
  }
  stats.dispose();
  if (!hasMask) return [dq, dk, dv];
  const dm = maskGrad(dev, r!, t.mask!.shape);
  r!.dispose();
  return [dq, dk, dv, dm];
}
