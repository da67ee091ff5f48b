// Decode attention (one query row against a long KV cache): split-K over key chunks, then a reduce; plus
// the KV-cache helpers (append in place, beam reorder).
//
// Split kernel, one workgroup per (split, head, batch): invocations first own keys (scores into workgroup
// memory), a tree reduction gives the chunk's max and sum, then invocations own head dims and accumulate
// P·V. It writes (max, sum, unnormalised acc[D]) per split, or the final row directly when there is one split.
// Reduce kernel: per (batch, head) combines the splits with the usual logsumexp rescaling.
import { ShapeError } from '../../errors.js';
import type { BufferRange } from '../../tensor/device.js';
import { Tensor, empty } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import { AttentionAttrs, AttnDTypes, LOG2E, M, attnDecl, attnMeta, batchChunks, batchSpan, biasBatchSpan, biasStrides, cpuSubgroupSize, dummyBuffer, rwF32, splitInputs } from './attention.js';
import { metaLayout } from './meta-layout.js';
import { WGSL_INDEX, WGSL_MAIN_ARGS, bindElements, grid, newOutput, wgslInput, wgslMeta } from './util.js';

/** kvAppend: cache sizes, first position, new positions, words per (b, h) region, the new keys' view. */
const KV_APPEND = metaLayout(['B', 'H', 'Tmax', 'D', 'at', 'Tn', 'wordsPer', ['x', ['off', 'sb', 'sh', 'st', 'sd']]]);
/** kvReorder: sizes, elements per (b, h) copied and per (b, h) in the cache, the index tensor's view; host beam indices follow as the tail. */
const KV_REORDER = metaLayout(['B', 'H', 'per', 'hs', ['idx', ['off', 'stride']]]);

const WGD = 64;
// Metadata: the forward layout (M); D at M.DLOOP, the number of splits at M.DLOOP + 1, the partial base at M.EXTRA.
const D_ = M.DLOOP, NSPLIT = M.DLOOP + 1, PB = M.EXTRA;

interface DecSpec extends AttnDTypes {
  chunk: number;
}

// one split: o/lse are the final outputs; several: part [B, H, nsplit, D + 2] gets (max, sum, acc)
const SPLIT_OUTS = [rwF32('part'), rwF32('o'), rwF32('lse')];

/**
 * Start of both split kernels' main (indented, after the signature): ids, sizes, head multiplier, this
 * split's key range [j0, j1), then `qkv` (the q/k/v row offsets) and the bias row offset.
 */
function splitPrologue(s: DecSpec, qkv: string): string {
  return `  let b = wid.z; let h = wid.y; let sp = wid.x;
  let H = prm[${M.H}]; let Tk = prm[${M.Tk}]; let D = prm[${D_}];
  let sc2 = metaf(${M.SCALE}u); let qoff = bitcast<i32>(prm[${M.QOFF}]);
  let nsplit = prm[${NSPLIT}];
  let row = b * H + h;
  let mk = select(1.0, ld_hm(prm[${M.MASK}] + b * prm[${M.MASK + 1}] + h * prm[${M.MASK + 2}]), prm[${M.HASMASK}] != 0u);
  ${s.dl ? `var jEnd = min(Tk, u32(max(ld_kl(prm[${M.LENS}] + b * prm[${M.LENS + 1}]), 0.0)));` : `var jEnd = min(Tk, prm[${M.LENS_ARR}u + b]);`}
  jEnd = min(jEnd, u32(max(qoff + 1, 0)));
  if (prm[${M.SKIP}] != 0u && mk == 0.0) { jEnd = 0u; }
  let j0 = sp * ${s.chunk}u;
  let j1 = max(min(j0 + ${s.chunk}u, jEnd), j0);
${qkv}
  ${s.db ? `let bo = prm[${M.BIAS}] + b * prm[${M.BIAS + 1}] + h * prm[${M.BIAS + 2}];` : ''}`;
}

function genSplit(s: DecSpec): string {
  const C = s.chunk;
  return `${attnDecl(s, SPLIT_OUTS)}
var<workgroup> sc: array<f32, ${C}>;
var<workgroup> red: array<f32, ${WGD}>;
@compute @workgroup_size(${WGD})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
${splitPrologue(s, `  let qo = prm[${M.Q}] + b * prm[${M.Q + 1}] + h * prm[${M.Q + 2}];
  let ko = prm[${M.K}] + b * prm[${M.K + 1}] + h * prm[${M.K + 2}];
  let vo = prm[${M.V}] + b * prm[${M.V + 1}] + h * prm[${M.V + 2}];`)}
  // scores of this chunk (log2 units); masked keys are never read
  var lm = -3.0e38;
  for (var j = j0 + t; j < j1; j += ${WGD}u) {
    var acc = 0.0;
    for (var d = 0u; d < D; d++) { acc += ld_q(qo + d * prm[${M.Q + 4}]) * ld_k(ko + j * prm[${M.K + 3}] + d * prm[${M.K + 4}]); }
    let sv = acc * sc2${s.db ? ` + ld_bias(bo + j * prm[${M.BIAS + 4}]) * ${LOG2E}` : ''};
    sc[j - j0] = sv;
    lm = max(lm, sv);
  }
  red[t] = lm;
  workgroupBarrier();
  for (var w = ${WGD / 2}u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = max(red[t], red[t + w]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var ls = 0.0;
  for (var j = j0 + t; j < j1; j += ${WGD}u) {
    let p = exp2(sc[j - j0] - mx);
    sc[j - j0] = p;
    ls += p;
  }
  red[t] = ls;
  workgroupBarrier();
  for (var w = ${WGD / 2}u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = red[t] + red[t + w]; }
    workgroupBarrier();
  }
  let l = red[0];
  let n = j1 - j0;
  let direct = nsplit == 1u;
  let pb = prm[${PB}] + (row * nsplit + sp) * (D + 2u);
  for (var d = t; d < D; d += ${WGD}u) {
    var acc = 0.0;
    for (var jj = 0u; jj < n; jj++) { acc += sc[jj] * ld_v(vo + (j0 + jj) * prm[${M.V + 3}] + d * prm[${M.V + 4}]); }
    if (direct) { o[prm[${M.OB}] + row * D + d] = select(0.0, acc * mk / l, l > 0.0); }
    else { part[pb + 2u + d] = acc; }
  }
  if (t == 0u) {
    if (direct) {
      if (prm[${M.WLSE}] != 0u) { lse[prm[${M.LB}] + row] = select(bitcast<f32>(prm[${M.NINF}]), (mx + log2(l)) * ${Math.LN2}, l > 0.0); }
    } else { part[pb] = mx; part[pb + 1u] = l; }
  }
}`;
}

/**
 * Split kernel for CPU adapters with fixed subgroups (one subgroup per workgroup): lanes own slices of the
 * head dim (lane l: elements 4l .. 4l+3 of every 4·SG chunk), so each K/V row is read once per subgroup as
 * vec4 loads; the score is a subgroupAdd of the lanes' partial dots, the online softmax is uniform, and
 * q and the accumulators stay in a few registers per lane (no per-key private arrays, a small loop body).
 */
function genSplitSg(s: DecSpec, SG: number, D: number): string {
  const v4 = (b: number, x: string, dt: DType) =>
    dt === 'f16'
      ? `@group(0) @binding(${b}) var<storage, read> ${x}4: array<vec2<u32>>;
fn ld4_${x}(i: u32) -> vec4<f32> { let w = ${x}4[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }`
      : `@group(0) @binding(${b}) var<storage, read> ${x}4: array<vec4<f32>>;
fn ld4_${x}(i: u32) -> vec4<f32> { return ${x}4[i]; }`;
  const NC = Math.ceil(D / (4 * SG)); // vec4 chunks per lane
  const C = [...Array(NC).keys()];
  const L: string[] = [];
  const e = (x: string) => L.push(x);
  // vec4 index of chunk c for this lane, clamped inside the row; lanes past the row contribute 0
  for (const c of C) e(`let d4_${c} = ${c * SG}u + ln; let ok${c} = d4_${c} < ${D / 4}u; let dc${c} = min(d4_${c}, ${D / 4 - 1}u);`);
  for (const c of C) {
    e(`let qd${c} = 4u * dc${c};`);
    e(`let q${c} = select(vec4<f32>(0.0), vec4<f32>(ld_q(qo + qd${c} * qsd), ld_q(qo + (qd${c} + 1u) * qsd), ld_q(qo + (qd${c} + 2u) * qsd), ld_q(qo + (qd${c} + 3u) * qsd)) * sc2, ok${c});`);
    e(`var a${c} = vec4<f32>(0.0);`);
  }
  e(`var m = -1.0e38; var l = 0.0;`);
  e(`for (var j = j0; j < j1; j++) {`);
  e(`  var part_s = ${C.map((c) => `dot(q${c}, ld4_k(ko + j * kst + dc${c}))`).join(' + ')};`);
  e(`  var sv = subgroupAdd(part_s);`);
  if (s.db) e(`  sv += ld_bias(bo + j * prm[${M.BIAS + 4}]) * ${LOG2E};`);
  e(`  if (sv > m) { let al = exp2(m - sv); l = l * al; m = sv; ${C.map((c) => `a${c} = a${c} * al;`).join(' ')} }`);
  e(`  let p = exp2(sv - m);`);
  e(`  l += p;`);
  for (const c of C) e(`  a${c} += p * ld4_v(vo + j * vst + dc${c});`);
  e(`}`);
  e(`let direct = nsplit == 1u;`);
  e(`let pb = prm[${PB}] + (row * nsplit + sp) * (D + 2u);`);
  e(`let inv = select(0.0, mk / l, l > 0.0);`);
  e(`var oa: array<vec4<f32>, ${NC}>;`);
  for (const c of C) e(`oa[${c}] = a${c};`);
  e(`for (var c = 0u; c < ${NC}u; c++) {`);
  e(`  let d4 = c * ${SG}u + ln;`);
  e(`  if (d4 < ${D / 4}u) {`);
  e(`    for (var w = 0u; w < 4u; w++) {`);
  e(`      if (direct) { o[prm[${M.OB}] + row * D + 4u * d4 + w] = oa[c][w] * inv; } else { part[pb + 2u + 4u * d4 + w] = oa[c][w]; }`);
  e(`    }`);
  e(`  }`);
  e(`}`);
  e(`if (ln == 0u) {`);
  e(`  if (direct) {`);
  e(`    if (prm[${M.WLSE}] != 0u) { lse[prm[${M.LB}] + row] = select(bitcast<f32>(prm[${M.NINF}]), (m + log2(l)) * ${Math.LN2}, l > 0.0); }`);
  e(`  } else { part[pb] = m; part[pb + 1u] = l; }`);
  e(`}`);
  return `enable subgroups;
diagnostic(off, subgroup_uniformity);
${attnDecl(s, SPLIT_OUTS, v4)}
@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) ln: u32) {
${splitPrologue(s, `  let qo = prm[${M.Q}] + b * prm[${M.Q + 1}] + h * prm[${M.Q + 2}]; let qsd = prm[${M.Q + 4}];
  let ko = (prm[${M.K}] + b * prm[${M.K + 1}] + h * prm[${M.K + 2}]) / 4u; let kst = prm[${M.K + 3}] / 4u;
  let vo = (prm[${M.V}] + b * prm[${M.V + 1}] + h * prm[${M.V + 2}]) / 4u; let vst = prm[${M.V + 3}] / 4u;`)}
${L.map((x) => '  ' + x).join('\n')}
}`;
}

function genReduce(dm: DType): string {
  return `@group(0) @binding(0) var<storage, read> part: array<f32>;
${wgslInput(1, 'hm', dm)}
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
${wgslMeta(4)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let b = wid.z; let h = wid.y;
  let H = prm[${M.H}]; let D = prm[${D_}]; let nsplit = prm[${NSPLIT}];
  let row = b * H + h;
  let pb = prm[${PB}] + row * nsplit * (D + 2u);
  let mk = select(1.0, ld_hm(prm[${M.MASK}] + b * prm[${M.MASK + 1}] + h * prm[${M.MASK + 2}]), prm[${M.HASMASK}] != 0u);
  var mx = -3.0e38;
  for (var s = 0u; s < nsplit; s++) { mx = max(mx, part[pb + s * (D + 2u)]); }
  var l = 0.0;
  for (var s = 0u; s < nsplit; s++) { l += part[pb + s * (D + 2u) + 1u] * exp2(part[pb + s * (D + 2u)] - mx); }
  for (var d = t; d < D; d += 64u) {
    var acc = 0.0;
    for (var s = 0u; s < nsplit; s++) { acc += part[pb + s * (D + 2u) + 2u + d] * exp2(part[pb + s * (D + 2u)] - mx); }
    o[prm[${M.OB}] + row * D + d] = select(0.0, acc * mk / l, l > 0.0);
  }
  if (t == 0u && prm[${M.WLSE}] != 0u) { lse[prm[${M.LB}] + row] = select(bitcast<f32>(prm[${M.NINF}]), (mx + log2(l)) * ${Math.LN2}, l > 0.0); }
}`;
}

/** Keys per split by default (`dev.tuning.decode.chunk` overrides; the subgroup variant uses at most 8 keys per lane). */
export const DECODE_CHUNK = 256;

/** Attention for Tq == 1: inputs/attrs as the 'attention' kernel; returns [out] or [out, lse]. */
export function attentionDecode(inputs: Tensor[], a: AttentionAttrs): Tensor[] {
  const t = splitInputs(inputs, a);
  const { q, k, v, bias, mask, lens } = t;
  const dev = q.device!;
  const [B, H, Tq, D] = q.shape;
  if (Tq !== 1) throw new ShapeError(`attentionDecode needs one query row, got ${Tq}`);
  const Tk = k.shape[2];
  const out = newOutput(dev, [B, H, 1, D]);
  const lse = a.returnLse ? newOutput(dev, [B, H, 1]) : null;
  if (out.size === 0) return lse ? [out, lse] : [out];
  const al4 = (x: Tensor) => x.strides[3] === 1 && x.offset % 4 === 0 && x.strides.slice(0, 3).every((st) => st % 4 === 0);
  const tune = dev.tuning.decode;
  // keys per split: a whole number of workgroups
  const decodeChunk = tune?.chunk !== undefined ? Math.max(WGD, Math.ceil(tune.chunk / WGD) * WGD) : DECODE_CHUNK;
  const sg = (tune?.subgroups ?? true) && D % 4 === 0 && al4(k) && al4(v) ? cpuSubgroupSize(dev) : null;
  const chunk = sg ? Math.min(decodeChunk, 8 * sg) : decodeChunk;
  const nsplit = Math.max(1, Math.ceil(Tk / chunk));
  const spec: DecSpec = { dq: q.dtype, dk: k.dtype, dv: v.dtype, db: bias?.dtype ?? null, dm: mask?.dtype ?? 'f32', dl: lens?.dtype ?? null, chunk };
  const p1 = sg ? dev.pipeline(`attnDecSg:${sg}:${D}:${JSON.stringify(spec)}`, () => genSplitSg(spec, sg, D)) : dev.pipeline(`attnDec:${JSON.stringify(spec)}`, () => genSplit(spec));
  const part = nsplit === 1 ? null : empty([B, H, nsplit, D + 2], 'f32', dev);
  const span = (x: Tensor) => batchSpan(x, [...x.strides], [...x.shape]);
  const bSpan = biasBatchSpan(bias, 1, Tk);
  const chunks = batchChunks(dev, B, [
    [q, q.strides[0], span(q)],
    [k, k.strides[0], span(k)],
    [v, v.strides[0], span(v)],
    [bias ?? null, bias ? biasStrides(bias)[0] : 0, bSpan],
    [part, H * nsplit * (D + 2), H * nsplit * (D + 2)],
  ]);
  for (const [b0, nb] of chunks) {
    const meta = new Array<number>(M.LENS_ARR + nb).fill(0);
    const ins = attnMeta(dev, meta, t, a, b0, nb, bSpan);
    const maskBinding = ins[3 + (bias ? 1 : 0)];
    meta[D_] = D;
    meta[NSPLIT] = nsplit;
    const bo = bindElements(out, b0 * H * D, nb * H * D);
    meta[M.OB] = b0 * H * D - bo.sub;
    const bl = lse ? bindElements(lse, b0 * H, nb * H) : null;
    if (bl) meta[M.LB] = b0 * H - bl.sub;
    const bp = part ? bindElements(part, b0 * H * nsplit * (D + 2), nb * H * nsplit * (D + 2)) : null;
    if (bp) meta[PB] = b0 * H * nsplit * (D + 2) - bp.sub;
    const mb = dev.meta(meta);
    const lseB = bl ? bl.range : dummyBuffer(dev, 3);
    if (!bp) {
      dev.dispatch(p1, [...ins, dummyBuffer(dev, 1), bo.range, lseB, mb], 1, H, nb);
    } else {
      const p2 = dev.pipeline(`attnDecRed:${spec.dm}`, () => genReduce(spec.dm));
      // o/lse of the split kernel are unused with several splits: bind the dummy (no aliasing of part)
      dev.dispatch(p1, [...ins, bp.range, dummyBuffer(dev, 2), dummyBuffer(dev, 3), mb], nsplit, H, nb);
      dev.dispatch(p2, [bp.range, maskBinding, bo.range, lseB, mb], 1, H, nb);
    }
  }
  part?.dispose();
  return lse ? [out, lse] : [out];
}

// ---- KV cache -------------------------------------------------------------------------------------------

/**
 * Writes newKV [B, H, Tn, D] (any strides/dtype) into the contiguous cache [B, H, Tmax, D] at [at, at+Tn).
 * One invocation per destination u32 word, so packed f16 pairs are never written by two invocations.
 */
export function kvAppend(cache: Tensor, kv: Tensor, at: number): Tensor {
  const dev = cache.device!;
  const [B, H, Tmax, D] = cache.shape;
  const Tn = kv.shape[2];
  const f16 = cache.dtype === 'f16';
  const per = Tn * D; // elements per (b, h) region
  // f16: the region of each (b, h) may start on either half of a word; cover it with floor(per/2) + 1 words
  const wordsPer = f16 ? Math.floor(per / 2) + 1 : per;
  const n = B * H * wordsPer;
  if (n > 0) {
    const p = dev.pipeline(`kvAppend:${cache.dtype}:${kv.dtype}`, () => `${wgslInput(0, 'x', kv.dtype)}
@group(0) @binding(1) var<storage, read_write> c: array<${f16 ? 'u32' : 'f32'}>;
${wgslMeta(2)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let H = ${KV_APPEND.p('H')}; let Tmax = ${KV_APPEND.p('Tmax')}; let D = ${KV_APPEND.p('D')}; let at = ${KV_APPEND.p('at')}; let Tn = ${KV_APPEND.p('Tn')}; let wordsPer = ${KV_APPEND.p('wordsPer')};
  if (gi_ >= ${KV_APPEND.p('B')} * H * wordsPer) { return; }
  let bh = gi_ / wordsPer; let w = gi_ % wordsPer;
  let b = bh / H; let h = bh % H;
  let xo = ${KV_APPEND.p('x.off')} + b * ${KV_APPEND.p('x.sb')} + h * ${KV_APPEND.p('x.sh')};
  let st = ${KV_APPEND.p('x.st')}; let sd = ${KV_APPEND.p('x.sd')};
  let regionStart = bh * Tmax * D + at * D;  // element index in the cache
  ${
    f16
      ? `let word = regionStart / 2u + w;
  if (word * 2u >= regionStart + Tn * D) { return; }
  var pair = unpack2x16float(c[word]);
  for (var half = 0u; half < 2u; half++) {
    let el = word * 2u + half;
    if (el >= regionStart && el < regionStart + Tn * D) {
      let e = el - regionStart;
      pair[half] = ld_x(xo + (e / D) * st + (e % D) * sd);
    }
  }
  c[word] = pack2x16float(pair);`
      : `let e = w;
  c[regionStart + e] = ld_x(xo + (e / D) * st + (e % D) * sd);`
  }
}`);
    const bx = bindElements(kv, kv.offset, kv.span);
    const meta = KV_APPEND.write({ B, H, Tmax, D, at, Tn, wordsPer, x: [kv.offset - bx.sub, ...kv.strides.map((s, i) => (kv.shape[i] === 1 ? 0 : s))] });
    if (cache.offset !== 0) throw new ShapeError('kvAppend: the cache must be a whole preallocated tensor (offset 0)');
    dev.dispatch(p, [bx.range, bindElements(cache, 0, cache.size).range, dev.meta(meta)], ...grid(dev, n));
  }
  return cache.slice(2, 0, at + Tn);
}

/** cache[b] = cache[beamIdx[b]] in place for the first `length` positions: gather into an f32 copy, append it back. */
export function kvReorder(cache: Tensor, idx: Tensor | number[], length?: number): Tensor {
  const dev = cache.device!;
  const [B, H, Tmax, D] = cache.shape;
  const len = Math.min(Tmax, length ?? Tmax);
  if (cache.offset !== 0) throw new ShapeError('kvReorder: the cache must be a whole preallocated tensor');
  const n = B * H * len * D;
  if (n === 0) return cache.view(cache.shape, cache.strides, cache.offset);
  const tmp = empty([B, H, len, D], 'f32', dev);
  const fromTensor = !Array.isArray(idx);
  const p = dev.pipeline(`kvReorder:${cache.dtype}:${fromTensor ? (idx as Tensor).dtype : 'meta'}`, () => `${wgslInput(0, 'c', cache.dtype)}
@group(0) @binding(1) var<storage, read_write> tmp: array<f32>;
${fromTensor ? wgslInput(2, 'bi', (idx as Tensor).dtype) : ''}
${wgslMeta(fromTensor ? 3 : 2)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let H = ${KV_REORDER.p('H')}; let per = ${KV_REORDER.p('per')}; let hs = ${KV_REORDER.p('hs')};
  if (gi_ >= ${KV_REORDER.p('B')} * H * per) { return; }
  let e = gi_ % per; let bh = gi_ / per; let h = bh % H; let b = bh / H;
  let src = ${fromTensor ? `u32(ld_bi(${KV_REORDER.p('idx.off')} + b * ${KV_REORDER.p('idx.stride')}))` : `prm[${KV_REORDER.words}u + b]`};
  tmp[gi_] = ld_c((min(src, ${KV_REORDER.p('B')} - 1u) * H + h) * hs + e);
}`);
  const binds: (BufferRange | GPUBuffer)[] = [bindElements(cache, 0, cache.size).range, tmp.storage.buffer!];
  let idxView = [0, 0];
  if (fromTensor) {
    const t = idx as Tensor;
    const bi = bindElements(t, t.offset, t.span);
    idxView = [t.offset - bi.sub, t.strides[0]];
    binds.push(bi.range);
  }
  const meta = KV_REORDER.write({ B, H, per: len * D, hs: Tmax * D, idx: idxView }, fromTensor ? [] : (idx as number[]));
  binds.push(dev.meta(meta));
  dev.dispatch(p, binds, ...grid(dev, n));
  kvAppend(cache, tmp, 0).dispose();
  tmp.dispose();
  return cache.view(cache.shape, cache.strides, cache.offset);
}
