// Fused (flash-style) attention forward: one pass over the keys with an online softmax, never materialising
// Tq x Tk. One invocation owns QPT query rows of one (batch, head) and keeps q, the running max/sum and the
// D output accumulators in registers (the head dim is unrolled at pipeline creation). Keys are visited in
// blocks of BK in the same order by every invocation of a workgroup, so K/V loads are workgroup-uniform:
// on lavapipe they compile to one scalar load + broadcast (fast, no barriers); on a GPU they are broadcast
// reads. The `tile` variant stages K/V tiles through workgroup memory instead (for GPUs with real shared
// memory). Supports causal masking with a query offset (KV-cache decode), key padding by per-batch lengths,
// an additive bias [H|B,H, Tq, Tk] (any strides), a per-(batch, head) output multiplier (AHAMask; heads whose
// multiplier is exactly 0 skip their work unless the row statistics are requested), and writes the row
// logsumexp (natural log, of the scaled + biased scores) for the backward.
import { ShapeError } from '../../errors.js';
import type { BufferRange, Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { bindElements, f32Bits, maxBindingElements, newOutput, wgslInput, wgslMeta } from './util.js';

import { optionalInputs } from '../signatures.js';
import type { AttentionAttrs } from '../signatures.js';
export type { AttentionAttrs };

export const LOG2E = 1.4426950408889634;
export const NEG_MASKED = '-3.0e38';
export const NEG_INIT = '-1.0e38';

/** The optional tensors of an attention call, split out of the kernel inputs. */
export interface AttnInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  bias?: Tensor;
  mask?: Tensor;
  lens?: Tensor;
}
export function splitInputs(inputs: Tensor[], a: { hasBias?: boolean; hasMask?: boolean; hasLensTensor?: boolean }, first = 3): AttnInputs {
  const [q, k, v] = inputs;
  const [bias, mask, lens] = optionalInputs(inputs, first, [!!a.hasBias, !!a.hasMask, !!a.hasLensTensor]);
  return { q, k, v, bias, mask, lens };
}

/** Strides of the bias as [B, H, Tq, Tk] (0 on broadcast axes). */
export function biasStrides(bias: Tensor): number[] {
  const r = bias.rank;
  const s = bias.shape, st = bias.strides;
  const at = (ax: number) => (s[ax] === 1 ? 0 : st[ax]);
  if (r === 3) return [0, at(0), at(1), at(2)];
  return [at(0), at(1), at(2), at(3)];
}
export function maskStrides(mask: Tensor): number[] {
  if (mask.rank === 1) return [0, mask.shape[0] === 1 ? 0 : mask.strides[0]];
  return [mask.shape[0] === 1 ? 0 : mask.strides[0], mask.shape[1] === 1 ? 0 : mask.strides[1]];
}

/**
 * Binds what batch rows [b0, b0+nb) of a [B, ...] tensor reach (batch stride sb); returns the range and
 * the element offset of row b0's first element relative to the binding.
 */
export function bindBatch(t: Tensor, sb: number, b0: number, nb: number, spanPerBatch: number): { range: BufferRange; base: number } {
  const start = t.offset + b0 * sb;
  const count = sb === 0 ? spanPerBatch : (nb - 1) * sb + spanPerBatch;
  const r = bindElements(t, start, Math.max(count, 1));
  return { range: r.range, base: start - r.sub };
}

/** Span (elements) of one batch row of a strided tensor. */
export function batchSpan(t: Tensor, strides: number[], shape: number[]): number {
  let s = 1;
  for (let i = 1; i < shape.length; i++) s += (shape[i] - 1) * Math.abs(strides[i]);
  return s;
}

/**
 * Batch chunks so every bound tensor fits one binding: returns [b0, nb] pairs (one chunk when all fit).
 * `parts` lists (tensor, batch stride, span of one batch row) for every tensor bound per batch.
 */
export function batchChunks(dev: Device, B: number, parts: [Tensor | null, number, number][]): [number, number][] {
  let per = B;
  for (const [t, sb, span] of parts) {
    if (!t) continue;
    const lim = maxBindingElements(dev, t.dtype === 'f16' ? 'f16' : 'f32');
    if (sb === 0) {
      if (span > lim) throw new ShapeError(`attention: an operand of shape [${t.shape}] exceeds one GPU binding`);
      continue;
    }
    if (span > lim) throw new ShapeError(`attention: one batch row of [${t.shape}] exceeds one GPU binding`);
    per = Math.min(per, Math.max(1, Math.floor((lim - span) / sb) + 1));
  }
  const out: [number, number][] = [];
  for (let b0 = 0; b0 < B; b0 += per) out.push([b0, Math.min(per, B - b0)]);
  return out;
}

/** Tuning of the forward kernel. */
export interface FwdConfig {
  /** Invocations per workgroup. */
  wg: number;
  /** Query rows per invocation. */
  qpt: number;
  /** Keys per online-softmax block (unrolled). */
  bk: number;
  /** Keys per workgroup-memory tile (0: the subgroup-broadcast variant). */
  tile: number;
  /** Subgroup variant: never use vec4 K/V loads. */
  noVec4?: boolean;
}

/**
 * Fixed subgroup size of a CPU adapter (llvmpipe: the SIMD width, 8 lanes on AVX2), or null. The subgroup
 * variant relies on subgroups being consecutive local invocations of exactly this size.
 */
export function cpuSubgroupSize(dev: Device): number | null {
  const { software, subgroupSize } = dev.profile;
  return software && subgroupSize !== null && [4, 8, 16].includes(subgroupSize) ? subgroupSize : null;
}

/** Subgroup-broadcast variant on CPU adapters, workgroup-memory tiles elsewhere. */
export function defaultFwdConfig(dev: Device, D: number): FwdConfig {
  const sg = cpuSubgroupSize(dev);
  if (sg) return { wg: sg, qpt: D <= 32 ? 4 : D <= 64 ? 3 : D <= 128 ? 2 : 1, bk: 1, tile: 0 };
  return { wg: 64, qpt: 1, bk: 4, tile: 32 };
}

interface Spec extends AttnDTypes {
  D: number;
  unitD: [boolean, boolean, boolean];
  /** K/V rows loaded as vec4 (unit d-stride, offsets and strides multiples of 4). */
  vec4: boolean;
  /** q rows loaded as vec4. */
  qvec4: boolean;
  cfg: FwdConfig;
}

// Metadata layout. Causal masking is a query offset (non-causal: a huge offset), key lengths come from the
// metadata unless given as a tensor, and the head mask / row statistics are runtime flags: few pipelines.
// 0 B, 1 H, 2 Tq, 3 Tk, 4 scale·log2e, 5 query offset (i32), 6 q (offset, sb, sh, st, sd), 11 k, 16 v,
// 21 bias (offset, sb, sh, sq, sk), 26 mask (offset, sb, sh), 29 lens tensor (offset, stride), 31 out base,
// 32 lse base, 33 -inf bits, 34 q loop count, 35 out loop count, 36 has mask, 37 write lse, 38 skip zero
// heads, 39 (decode: partial base), 40.. per-batch key lengths.
export const M = { B: 0, H: 1, Tq: 2, Tk: 3, SCALE: 4, QOFF: 5, Q: 6, K: 11, V: 16, BIAS: 21, MASK: 26, LENS: 29, OB: 31, LB: 32, NINF: 33, DLOOP: 34, HASMASK: 36, WLSE: 37, SKIP: 38, EXTRA: 39, LENS_ARR: 40 };

/** Query offset meaning "no causal mask". */
export const NO_CAUSAL = 1 << 30;

const dummies = new WeakMap<Device, GPUBuffer[]>();
/**
 * A small zero buffer bound where an optional input or output is absent; one buffer per slot so two absent
 * bindings of one dispatch never share a buffer: 0 read-only inputs, 1..3 outputs.
 */
export function dummyBuffer(dev: Device, slot = 0): GPUBuffer {
  let list = dummies.get(dev);
  if (!list) dummies.set(dev, (list = []));
  return (list[slot] ??= dev.allocate(256, false));
}

/** Input dtypes of the attention kernels. */
export interface AttnDTypes {
  dq: DType;
  dk: DType;
  dv: DType;
  db: DType | null;
  /** headMask dtype (a dummy f32 binding when there is none). */
  dm: DType;
  /** keyLengths given as a tensor (else lengths come from the metadata). */
  dl: DType | null;
}

/** Binding declaration for the `rest` list of attnDecl. */
export type DeclAt = (binding: number) => string;
/** An f32 read_write storage binding named `name`. */
export const rwF32 = (name: string): DeclAt => (b) => `@group(0) @binding(${b}) var<storage, read_write> ${name}: array<f32>;`;

/**
 * WGSL bindings of the attention kernels, from binding 0: q, k, v, bias?, hm, kl?, then `rest`, then the meta
 * buffer. `kv` declares k and v (default: wgslInput).
 */
export function attnDecl(s: AttnDTypes, rest: DeclAt[], kv: (binding: number, name: string, dtype: DType) => string = wgslInput): string {
  let b = 0;
  const decl: string[] = [wgslInput(b++, 'q', s.dq), kv(b++, 'k', s.dk), kv(b++, 'v', s.dv)];
  if (s.db) decl.push(wgslInput(b++, 'bias', s.db));
  decl.push(wgslInput(b++, 'hm', s.dm));
  if (s.dl) decl.push(wgslInput(b++, 'kl', s.dl));
  for (const r of rest) decl.push(r(b++));
  decl.push(wgslMeta(b++));
  return decl.join('\n');
}

/** Shared prologue: bindings, indices, key range, head multiplier. */
function prologue(s: Spec, wg: number, qpt: number, lane: string): { decl: string; body: string[] } {
  const decl = attnDecl(s, [rwF32('o'), rwF32('lse')]);
  const L: string[] = [];
  const e = (x: string) => L.push(x);
  e(`let b = wid.z; let h = wid.y;`);
  e(`let Tq = prm[${M.Tq}]; let Tk = prm[${M.Tk}]; let H = prm[${M.H}];`);
  e(`let sc = metaf(${M.SCALE}u); let qoff = bitcast<i32>(prm[${M.QOFF}]);`);
  e(`let qbase = wid.x * ${wg * qpt}u;`);
  e(`let obase = (b * H + h) * Tq;`);
  e(`let ob0 = prm[${M.OB}]; let lb0 = prm[${M.LB}];`);
  for (let r = 0; r < qpt; r++) e(`let i${r} = qbase + ${r * wg}u + ${lane}; let ic${r} = min(i${r}, Tq - 1u);`);
  e(`let qlast = min(qbase + ${wg * qpt - 1}u, Tq - 1u);`);
  e(`let mk = select(1.0, ld_hm(prm[${M.MASK}] + b * prm[${M.MASK + 1}] + h * prm[${M.MASK + 2}]), prm[${M.HASMASK}] != 0u);`);
  if (s.dl) e(`var jEnd = min(Tk, u32(max(ld_kl(prm[${M.LENS}] + b * prm[${M.LENS + 1}]), 0.0)));`);
  else e(`var jEnd = min(Tk, prm[${M.LENS_ARR}u + b]);`);
  e(`jEnd = min(jEnd, u32(max(i32(qlast) + qoff + 1, 0)));`);
  // A head whose multiplier is exactly 0 visits no keys (its output is 0) unless row statistics are wanted.
  e(`if (prm[${M.SKIP}] != 0u && mk == 0.0) { jEnd = 0u; }`);
  e(`let qsd = prm[${M.Q + 4}]; let ksd = prm[${M.K + 4}]; let vsd = prm[${M.V + 4}];`);
  e(`let kbh = prm[${M.K}] + b * prm[${M.K + 1}] + h * prm[${M.K + 2}]; let kst = prm[${M.K + 3}];`);
  e(`let vbh = prm[${M.V}] + b * prm[${M.V + 1}] + h * prm[${M.V + 2}]; let vst = prm[${M.V + 3}];`);
  if (s.db) e(`let bbh = prm[${M.BIAS}] + b * prm[${M.BIAS + 1}] + h * prm[${M.BIAS + 2}]; let bsq = prm[${M.BIAS + 3}]; let bsk = prm[${M.BIAS + 4}];`);
  return { decl, body: L };
}

/** Masking, bias and the online-softmax update of one block of scores s{r}_{jj}; returns WGSL lines. */
function softmaxBlock(s: Spec, R: number[], J: number[], Dd: number[], f: (x: string) => void): void {
  for (const jj of J) {
    for (const r of R) {
      if (s.db) f(`s${r}_${jj} += ld_bias(bbh + ic${r} * bsq + jc${jj} * bsk) * ${LOG2E};`);
      const conds = [`j${jj} < jEnd`, `i32(j${jj}) <= i32(i${r}) + qoff`];
      f(`s${r}_${jj} = select(${NEG_MASKED}, s${r}_${jj}, ${conds.join(' && ')});`);
    }
  }
  for (const r of R) {
    const mx = J.reduce((acc, jj) => `max(${acc}, s${r}_${jj})`, `m${r}`);
    f(`let mn${r} = ${mx};`);
    // Rescale only when the running max grows (rare after the first keys); a per-lane branch.
    f(`if (mn${r} > m${r}) {`);
    f(`  let al = exp2(m${r} - mn${r}); m${r} = mn${r}; l${r} = l${r} * al;`);
    for (const d of Dd) f(`  a${r}_${d} = a${r}_${d} * al;`);
    f(`}`);
    for (const jj of J) f(`let p${r}_${jj} = exp2(s${r}_${jj} - m${r});`);
    f(`l${r} = l${r} + ${J.map((jj) => `p${r}_${jj}`).join(' + ')};`);
  }
}

function epilogue(s: Spec, R: number[], Dd: number[], e: (x: string) => void): void {
  for (const r of R) {
    e(`if (i${r} < Tq) {`);
    e(`  let ob = ob0 + (obase + i${r}) * ${s.D}u;`);
    e(`  let inv = select(0.0, mk / l${r}, l${r} > 0.0);`);
    if (s.D % 4 === 0 && !s.cfg.tile) {
      for (let d = 0; d < s.D; d += 4) e(`  o[ob / 4u + ${d / 4}u] = vec4<f32>(a${r}_${d}, a${r}_${d + 1}, a${r}_${d + 2}, a${r}_${d + 3}) * inv;`);
    } else for (const d of Dd) if (d < s.D) e(`  o[ob + ${d}u] = a${r}_${d} * inv;`);
    e(`  if (prm[${M.WLSE}] != 0u) { lse[lb0 + obase + i${r}] = select(bitcast<f32>(prm[${M.NINF}]), (m${r} + log2(l${r})) * ${Math.LN2}, l${r} > 0.0); }`);
    e(`}`);
  }
}

/**
 * Subgroup variant (CPU adapters, subgroup size SG): lanes own query rows; each K/V row is loaded once per
 * subgroup (lane l loads elements l, l+SG, ...) and handed to every lane with subgroupBroadcast, so each
 * (slow, per-lane) memory load feeds SG·QPT multiply-adds; everything else stays in registers.
 */
function genSg(s: Spec): string {
  const { cfg } = s;
  const { qpt, bk } = cfg;
  const SG = cfg.wg;
  const W = s.vec4 ? 4 : 1; // elements per lane load of a K/V row
  const CH = SG * W; // elements per subgroup load
  const Dp = Math.ceil(s.D / CH) * CH;
  const R = [...Array(qpt).keys()], J = [...Array(bk).keys()], Dd = [...Array(Dp).keys()], C = [...Array(Dp / CH).keys()];
  const { decl, body: L } = prologue(s, SG, qpt, 'ln');
  const e = (x: string) => L.push(x);
  // q rows go through a private array filled by a runtime loop (few memory instructions to compile: every
  // per-lane load or store is a branchy scalar sequence on lavapipe); accumulators live in registers.
  const qv = s.qvec4;
  const QN = qv ? Dp / 4 : Dp;
  e(`var qa: array<${qv ? 'vec4<f32>' : 'f32'}, ${qpt * QN}>;`);
  e(`let nq = prm[${M.DLOOP}];`);
  for (const r of R) {
    e(`let qb${r} = prm[${M.Q}] + b * prm[${M.Q + 1}] + h * prm[${M.Q + 2}] + ic${r} * prm[${M.Q + 3}];`);
    if (qv) e(`for (var x = 0u; x < nq; x++) { qa[${r * QN}u + x] = ld4_q(qb${r} / 4u + x) * sc; }`);
    else e(`for (var x = 0u; x < nq; x++) { qa[${r * QN}u + x] = ld_q(qb${r} + x * qsd) * sc; }`);
    for (const d of Dd) e(`var a${r}_${d} = 0.0;`);
    e(`var m${r} = ${NEG_INIT}; var l${r} = 0.0;`);
  }
  const qel = (r: number, d: number) => (qv ? `qa[${r * QN + (d >> 2)}][${d & 3}]` : `qa[${r * QN + d}]`);
  // the element (or vec4) this lane loads from chunk c of a K/V row
  if (W === 1) for (const c of C) e(`let dl${c} = min(${c * SG}u + ln, ${s.D - 1}u);`);
  else for (const c of C) e(`let dl${c} = min(${c * SG}u + ln, ${s.D / 4 - 1}u);`);
  const load = (x: 'k' | 'v', jj: number, c: number) => {
    if (W === 4) return `ld4_${x}((${x}bh + jc${jj} * ${x}st) / 4u + dl${c})`;
    return `ld_${x}(${x}bh + jc${jj} * ${x}st + ${s.unitD[x === 'k' ? 1 : 2] ? `dl${c}` : `dl${c} * ${x}sd`})`;
  };
  // broadcast element d of a row loaded as chunks x_c
  const el = (x: string, d: number) => (W === 4 ? `${x}_${Math.floor(d / CH)}_${Math.floor((d % CH) / 4)}[${d % 4}]` : `${x}_${d}`);
  const bcast = (f: (x: string) => void, x: string, src: string) => {
    if (W === 4) for (const c of C) for (let i = 0; i < SG; i++) f(`let ${x}_${c}_${i} = subgroupBroadcast(${src}_${c}, ${i}u);`);
    else for (const d of Dd) f(`let ${x}_${d} = subgroupBroadcast(${src}_${Math.floor(d / SG)}, ${d % SG}u);`);
  };
  e(`for (var j0 = 0u; j0 < jEnd; j0 += ${bk}u) {`);
  const f = (x: string) => L.push('  ' + x);
  for (const jj of J) {
    f(`let j${jj} = j0 + ${jj}u; let jc${jj} = min(j${jj}, jEnd - 1u);`);
    for (const c of C) f(`let k${jj}_${c} = ${load('k', jj, c)};`);
  }
  for (const jj of J) {
    bcast(f, `kb${jj}`, `k${jj}`);
    for (const r of R) f(`var s${r}_${jj} = ${Dd.map((d) => `${qel(r, d)} * ${el(`kb${jj}`, d)}`).join(' + ')};`);
  }
  softmaxBlock(s, R, J, Dd, f);
  for (const jj of J) {
    for (const c of C) f(`let v${jj}_${c} = ${load('v', jj, c)};`);
    bcast(f, `vb${jj}`, `v${jj}`);
  }
  for (const d of Dd) for (const r of R) f(`a${r}_${d} = a${r}_${d} + ${J.map((jj) => `p${r}_${jj} * ${el(`vb${jj}`, d)}`).join(' + ')};`);
  e(`}`);
  // epilogue: registers -> private array (constant indices) -> a runtime store loop
  const ov = s.D % 4 === 0;
  e(`var oa: array<${ov ? 'vec4<f32>' : 'f32'}, ${ov ? Dp / 4 : Dp}>;`);
  for (const r of R) {
    e(`if (i${r} < Tq) {`);
    e(`  let ob = ob0 + (obase + i${r}) * ${s.D}u;`);
    e(`  let inv = select(0.0, mk / l${r}, l${r} > 0.0);`);
    if (ov) {
      for (let d = 0; d < s.D; d += 4) e(`  oa[${d / 4}] = vec4<f32>(a${r}_${d}, a${r}_${d + 1}, a${r}_${d + 2}, a${r}_${d + 3}) * inv;`);
      e(`  for (var x = 0u; x < ${s.D / 4 === QN && qv ? 'nq' : `prm[${M.DLOOP + 1}]`}; x++) { o[ob / 4u + x] = oa[x]; }`);
    } else {
      for (let d = 0; d < s.D; d++) e(`  oa[${d}] = a${r}_${d} * inv;`);
      e(`  for (var x = 0u; x < prm[${M.DLOOP + 1}]; x++) { o[ob + x] = oa[x]; }`);
    }
    e(`  if (prm[${M.WLSE}] != 0u) { lse[lb0 + obase + i${r}] = select(bitcast<f32>(prm[${M.NINF}]), (m${r} + log2(l${r})) * ${Math.LN2}, l${r} > 0.0); }`);
    e(`}`);
  }
  const ld4 = (x: string, b: number, dt: DType) =>
    dt === 'f16'
      ? `@group(0) @binding(${b}) var<storage, read> ${x}4: array<vec2<u32>>;
fn ld4_${x}(i: u32) -> vec4<f32> { let w = ${x}4[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }`
      : `@group(0) @binding(${b}) var<storage, read> ${x}4: array<vec4<f32>>;
fn ld4_${x}(i: u32) -> vec4<f32> { return ${x}4[i]; }`;
  let d2 = decl;
  if (W === 4) d2 = d2.replace(wgslInput(1, 'k', s.dk), ld4('k', 1, s.dk)).replace(wgslInput(2, 'v', s.dv), ld4('v', 2, s.dv));
  if (qv) d2 = d2.replace(wgslInput(0, 'q', s.dq), ld4('q', 0, s.dq));
  if (ov) d2 = d2.replace('var<storage, read_write> o: array<f32>;', 'var<storage, read_write> o: array<vec4<f32>>;');
  return `enable subgroups;
diagnostic(off, subgroup_uniformity);
${d2}
@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) ln: u32) {
${L.map((x) => '  ' + x).join('\n')}
}`;
}

/**
 * Workgroup-memory variant (GPUs): K/V tiles of `tile` keys are staged cooperatively through workgroup
 * memory; each invocation owns QPT query rows with q and the accumulators in registers.
 */
function genTile(s: Spec): string {
  const { cfg, D } = s;
  const { wg, qpt, bk, tile } = cfg;
  const R = [...Array(qpt).keys()], J = [...Array(bk).keys()], Dd = [...Array(D).keys()];
  const { decl, body: L } = prologue(s, wg, qpt, 'lid');
  const e = (x: string) => L.push(x);
  const dq = (d: number) => (d === 0 ? '' : s.unitD[0] ? ` + ${d}u` : ` + ${d}u * qsd`);
  for (const r of R) {
    e(`let qb${r} = prm[${M.Q}] + b * prm[${M.Q + 1}] + h * prm[${M.Q + 2}] + ic${r} * prm[${M.Q + 3}];`);
    for (const d of Dd) e(`let q${r}_${d} = ld_q(qb${r}${dq(d)}) * sc;`);
    for (const d of Dd) e(`var a${r}_${d} = 0.0;`);
    e(`var m${r} = ${NEG_INIT}; var l${r} = 0.0;`);
  }
  e(`let jEndU = workgroupUniformLoad(&wEnd);`);
  e(`for (var t0 = 0u; t0 < jEndU; t0 += ${tile}u) {`);
  e(`  workgroupBarrier();`);
  e(`  for (var x = lid; x < ${tile * D}u; x += ${wg}u) {`);
  e(`    let jr = min(t0 + x / ${D}u, jEnd - 1u); let dd = x % ${D}u;`);
  e(`    tk[x] = ld_k(kbh + jr * kst + dd * ksd); tv[x] = ld_v(vbh + jr * vst + dd * vsd);`);
  e(`  }`);
  e(`  workgroupBarrier();`);
  e(`  for (var jt = 0u; jt < min(${tile}u, jEnd - t0); jt += ${bk}u) {`);
  const f = (x: string) => L.push('    ' + x);
  for (const jj of J) f(`let j${jj} = t0 + jt + ${jj}u; let jc${jj} = min(j${jj}, jEnd - 1u); let jt${jj} = min(jt + ${jj}u, ${tile - 1}u) * ${D}u;`);
  for (const jj of J) for (const r of R) f(`var s${r}_${jj} = ${Dd.map((d) => `q${r}_${d} * tk[jt${jj} + ${d}u]`).join(' + ')};`);
  softmaxBlock(s, R, J, Dd, f);
  for (const d of Dd) {
    for (const jj of J) f(`let v${jj}_${d} = tv[jt${jj} + ${d}u];`);
    for (const r of R) f(`a${r}_${d} = a${r}_${d} + ${J.map((jj) => `p${r}_${jj} * v${jj}_${d}`).join(' + ')};`);
  }
  e(`  }`);
  e(`}`);
  epilogue(s, R, Dd, e);
  // The key bound is computed from metadata by every invocation; workgroupUniformLoad makes it provably uniform.
  const body = L.join('\n  ').replace('let jEndU = workgroupUniformLoad(&wEnd);', 'if (lid == 0u) { wEnd = jEnd; }\n  let jEndU = workgroupUniformLoad(&wEnd);');
  return `${decl}
var<workgroup> tk: array<f32, ${tile * D}>;
var<workgroup> tv: array<f32, ${tile * D}>;
var<workgroup> wEnd: u32;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${body}
}`;
}

function gen(s: Spec): string {
  return s.cfg.tile ? genTile(s) : genSg(s);
}

/** Fills the metadata shared by the forward and decode kernels; returns the bindings of q, k, v, bias?, mask, lens?. */
export function attnMeta(
  dev: Device,
  meta: number[],
  t: AttnInputs,
  a: AttentionAttrs,
  b0: number,
  nb: number,
  biasSpan: number,
): (BufferRange | GPUBuffer)[] {
  const { q, k, v, bias, mask, lens } = t;
  const Tq = q.shape[2], Tk = k.shape[2];
  const span = (x: Tensor) => batchSpan(x, [...x.strides], [...x.shape]);
  const bq = bindBatch(q, q.strides[0], b0, nb, span(q));
  const bk = bindBatch(k, k.strides[0], b0, nb, span(k));
  const bv = bindBatch(v, v.strides[0], b0, nb, span(v));
  meta[M.B] = nb;
  meta[M.H] = q.shape[1];
  meta[M.Tq] = Tq;
  meta[M.Tk] = Tk;
  meta[M.SCALE] = f32Bits(a.scale * LOG2E);
  meta[M.QOFF] = a.causal ? Math.max(-NO_CAUSAL, Math.min(NO_CAUSAL, a.queryOffset | 0)) : NO_CAUSAL;
  meta[M.NINF] = 0xff800000;
  meta[M.HASMASK] = mask ? 1 : 0;
  meta[M.WLSE] = a.returnLse ? 1 : 0;
  meta[M.SKIP] = mask && !a.returnLse ? 1 : 0;
  const put = (at: number, base: number, st: readonly number[]) => {
    meta[at] = base;
    for (let i = 0; i < st.length; i++) meta[at + 1 + i] = st[i];
  };
  put(M.Q, bq.base, q.strides);
  put(M.K, bk.base, k.strides);
  put(M.V, bv.base, v.strides);
  const bindings: (BufferRange | GPUBuffer)[] = [bq.range, bk.range, bv.range];
  if (bias) {
    const bs = biasStrides(bias);
    const bb = bindBatch(bias, bs[0], b0, nb, biasSpan);
    put(M.BIAS, bb.base, bs);
    bindings.push(bb.range);
  }
  if (mask) {
    const ms = maskStrides(mask);
    const bm = bindElements(mask, mask.offset, mask.span);
    put(M.MASK, mask.offset - bm.sub + b0 * ms[0], ms);
    bindings.push(bm.range);
  } else bindings.push(dummyBuffer(dev));
  if (lens) {
    const bl = bindElements(lens, lens.offset, lens.span);
    put(M.LENS, lens.offset - bl.sub + b0 * lens.strides[0], [lens.strides[0]]);
    bindings.push(bl.range);
  }
  for (let i = 0; i < nb; i++) meta[M.LENS_ARR + i] = a.keyLengths ? Math.max(0, Math.min(Tk, a.keyLengths[b0 + i] | 0)) : Tk;
  return bindings;
}

export function biasBatchSpan(bias: Tensor | undefined, Tq: number, Tk: number): number {
  if (!bias) return 0;
  const bs = biasStrides(bias);
  return 1 + (bias.shape.at(-3)! - 1) * bs[1] + (Tq - 1) * bs[2] + (Tk - 1) * bs[3];
}

/** Fused attention forward. Inputs [q, k, v, bias?, headMask?, keyLengths?]; returns [out] or [out, lse]. */
export function attention(inputs: Tensor[], a: AttentionAttrs): Tensor[] {
  const t = splitInputs(inputs, a);
  const { q, k, v, bias, mask, lens } = t;
  const dev = q.device!;
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const out = newOutput(dev, [B, H, Tq, D]);
  const lse = a.returnLse ? newOutput(dev, [B, H, Tq]) : null;
  if (out.size === 0) return lse ? [out, lse] : [out];
  const cfg: FwdConfig = { ...defaultFwdConfig(dev, D), ...dev.tuning.attention };
  // K and V tiles (8·D bytes per key) plus the uniform key bound must fit workgroup memory
  if (cfg.tile) cfg.tile = Math.max(cfg.bk, Math.floor(Math.min(cfg.tile, (dev.limits.maxComputeWorkgroupStorageSize - 16) / (8 * D)) / cfg.bk) * cfg.bk);
  const unit = (x: Tensor) => x.strides[3] === 1;
  const al4 = (x: Tensor) => x.strides[3] === 1 && x.offset % 4 === 0 && x.strides.slice(0, 3).every((st) => st % 4 === 0);
  const spec: Spec = {
    D,
    dq: q.dtype,
    dk: k.dtype,
    dv: v.dtype,
    db: bias?.dtype ?? null,
    dm: mask?.dtype ?? 'f32',
    dl: lens?.dtype ?? null,
    unitD: [unit(q), unit(k), unit(v)],
    vec4: !cfg.tile && !cfg.noVec4 && D % 4 === 0 && al4(k) && al4(v),
    qvec4: !cfg.tile && !cfg.noVec4 && D % 4 === 0 && al4(q),
    cfg,
  };
  const pipeline = dev.pipeline(`attn:${JSON.stringify(spec)}`, () => gen(spec));
  const span = (x: Tensor) => batchSpan(x, [...x.strides], [...x.shape]);
  const bSpan = biasBatchSpan(bias, Tq, Tk);
  const chunks = batchChunks(dev, B, [
    [q, q.strides[0], span(q)],
    [k, k.strides[0], span(k)],
    [v, v.strides[0], span(v)],
    [bias ?? null, bias ? biasStrides(bias)[0] : 0, bSpan],
    [out, H * Tq * D, H * Tq * D],
  ]);
  const qpb = cfg.wg * cfg.qpt;
  for (const [b0, nb] of chunks) {
    const meta = new Array<number>(M.LENS_ARR + nb).fill(0);
    const bindings = attnMeta(dev, meta, t, a, b0, nb, bSpan);
    meta[M.DLOOP] = spec.qvec4 ? D / 4 : D;
    meta[M.DLOOP + 1] = D % 4 === 0 ? D / 4 : D;
    const bo = bindElements(out, b0 * H * Tq * D, nb * H * Tq * D);
    meta[M.OB] = b0 * H * Tq * D - bo.sub;
    bindings.push(bo.range);
    if (lse) {
      const bl = bindElements(lse, b0 * H * Tq, nb * H * Tq);
      meta[M.LB] = b0 * H * Tq - bl.sub;
      bindings.push(bl.range);
    } else bindings.push(dummyBuffer(dev, 3));
    bindings.push(dev.meta(meta));
    dev.dispatch(pipeline, bindings, Math.ceil(Tq / qpb), H, nb);
  }
  return lse ? [out, lse] : [out];
}
