// Matmul against a quantized weight (src/ops/quant.ts): y[M, N] = x[M, K] @ dequant(W)[N, K]^T with the matmul
// epilogue (alpha, bias, activation, residual). One kernel generator serves decoding and prefill/training: a
// workgroup of L lanes owns R output columns and MR rows of x (MR = 1, 4 or 8; prefill walks row tiles of 8 on
// the grid's z axis, so each packed word read is dequantized once and used for 8 rows). Lanes split the packed
// words of a row (neighbouring lanes read neighbouring words), dequantize in registers and reduce with
// subgroupAdd (8-lane subgroups) or a workgroup-memory tree, as the f16 GEMV (gemv.ts).
//   q4:   a word holds 8 nibbles of one group: acc += s·(x·q) + m·Σx per word (scale/min pair per group).
//   int8: LLM.int8. Two small passes first (`int8Prepass`): per packed word of K the outlier bits (columns with
//         any |x| >= 6 over all rows), then per row the absmax of the non-outlier values and x·(127/absmax)
//         rounded and packed 4 per word (outlier columns zeroed). The main loop accumulates the integer dot
//         product in i32 and, only for words that hold an outlier column, x·q in f32; the row result is
//         scale[n]·(i32·absmax/127 + outliers).
// Weights are bound per chunk of N so packed tensors larger than one binding work. Only unpack2x16float and
// integer ops: no shader-f16 needed (SwiftShader, lavapipe).
import { ShapeError } from '../../errors.js';
import type { QDequantAttrs, QMatmulAttrs } from '../signatures.js';
import { packedWords } from '../signatures.js';
import type { Binding, Device } from '../../tensor/device.js';
import type { Tensor } from '../../tensor/tensor.js';
import { MatmulPlan, cpuAdapter, epilogueArgs, epilogueWgsl, subgroupsOf8 } from './matmul.js';
import { bindElements, grid, maxBindingElements, newOutput, wgslMeta } from './util.js';

export interface QGemvConfig {
  /** Lanes per workgroup (split the packed words of K). */
  L: number;
  /** Output columns per workgroup. */
  R: number;
  /**
   * q4: lanes sharing one K group (0: as many as the group has words, up to L: neighbouring lanes read
   * neighbouring words, what GPUs coalesce). 1 on CPU adapters, where each lane's loads are scalar anyway and a
   * lane owning whole groups loads each (scale, min) once per group instead of once per word it reads.
   */
  LPG?: number;
}

/** Rows of x one workgroup handles: 1, 4 or 8 (prefill: tiles of 8). */
export function qRows(M: number): number {
  return M <= 1 ? 1 : M <= 4 ? 4 : 8;
}

export function defaultQConfig(dev: Device, M: number): QGemvConfig {
  const MR = qRows(M);
  if (subgroupsOf8(dev)) return { L: 8, R: MR === 1 ? 8 : MR === 4 ? 4 : 2, LPG: 1 };
  return { L: 64, R: MR === 1 ? 4 : 2, LPG: cpuAdapter(dev) ? 1 : 0 };
}

// Meta: 0 nEnd, 1 K, 2 n0, 3 Kw (words per row), 4 wq offset, 5 ws offset, 6 groups per row, 7 group size,
// 8 y offset, 9..16 epilogue block, 17 outputs per workgroup, 18 N, 19 M, 20 x offset, 21 full words (q4).
const EPI = 9;

interface Spec {
  format: 'int8' | 'q4';
  MR: number;
  sgAdd: boolean;
}

function qCode(c: QGemvConfig, s: Spec): string {
  const { L, R } = c;
  const M = s.MR;
  const lines: string[] = [];
  const A = (x: string) => lines.push(x);
  const each = (f: (m: number, r: number) => string) => {
    for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) A(f(m, r));
  };
  A('  let nEnd = prm[0u]; let K = prm[1u]; let Kw = prm[3u]; let Mr = prm[19u];');
  A(`  let nt = prm[2u] + (wg.x + wg.y * nwg.x) * ${R}u;`);
  A(`  let mt = wg.z * ${M}u;`);
  A('  let lx = lid.x;');
  for (let r = 0; r < R; r++) A(`  let nr${r} = min(nt + ${r}u, nEnd - 1u); let wr${r} = prm[4u] + nr${r} * Kw;`);
  for (let m = 0; m < M; m++) A(`  let mr${m} = min(mt + ${m}u, Mr - 1u); let x${m} = prm[20u] + mr${m} * K;`);
  if (s.format === 'q4') {
    // Lanes walk the K groups: LPG lanes share a group (its scale/min loaded once per lane and column, the dot
    // products of its words summed before scaling), L / LPG groups are in flight per step.
    for (let r = 0; r < R; r++) A(`  let sr${r} = prm[5u] + nr${r} * prm[6u];`);
    A('  let GS = prm[7u]; let wpg = GS / 8u; let Kf = prm[21u];');
    A(`  let LPG = ${c.LPG ? `${c.LPG}u` : `min(${L}u, wpg)`}; let GPI = ${L}u / LPG; let li = lx % LPG;`);
    A('  let nG = (Kf + wpg - 1u) / wpg;');
    A(`  let g0 = select(nG, lx / LPG, lx < GPI * LPG);`);
    each((m, r) => `  var c${m}_${r} = 0.0;`);
    const word = (guard: boolean, acc: (m: number, r: number) => string, sx: (m: number) => string) => {
      A('      let k = j * 8u;');
      for (let m = 0; m < M; m++) {
        const ld = (i: number) => (guard ? `select(0.0, x[x${m} + k + ${i}u], k + ${i}u < K)` : `x[x${m} + k + ${i}u]`);
        A(`      let xa${m} = vec4<f32>(${[0, 1, 2, 3].map(ld).join(', ')});`);
        A(`      let xb${m} = vec4<f32>(${[4, 5, 6, 7].map(ld).join(', ')});`);
        A(`      ${sx(m)} += dot(xa${m} + xb${m}, vec4<f32>(1.0));`);
      }
      for (let r = 0; r < R; r++) {
        A(`      { let wd = vec4<u32>(wq[wr${r} + j]);`);
        A('        let qa = vec4<f32>(bitcast<vec4<i32>>((wd >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(15u)));');
        A('        let qb = vec4<f32>(bitcast<vec4<i32>>((wd >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(15u)));');
        for (let m = 0; m < M; m++) A(`        ${acc(m, r)} += dot(xa${m}, qa) + dot(xb${m}, qb);`);
        A('      }');
      }
    };
    A(`  for (var g = g0; g < nG; g += GPI) {`);
    for (let r = 0; r < R; r++) A(`    let sm${r} = unpack2x16float(ws[sr${r} + g]);`);
    for (let m = 0; m < M; m++) A(`    var sx${m} = 0.0;`);
    each((m, r) => `    var d${m}_${r} = 0.0;`);
    A('    let j1 = min(g * wpg + wpg, Kf);');
    A('    for (var j = g * wpg + li; j < j1; j += LPG) {');
    word(false, (m, r) => `d${m}_${r}`, (m) => `sx${m}`);
    A('    }');
    each((m, r) => `    c${m}_${r} = fma(sm${r}.x, d${m}_${r}, fma(sm${r}.y, sx${m}, c${m}_${r}));`);
    A('  }');
    // the last, partial word (K not a multiple of 8): x past K must not meet the group minimum
    A('  if (Kf < Kw && lx == 0u) { let j = Kf; let g = Kf / wpg;');
    for (let r = 0; r < R; r++) A(`    let sm${r} = unpack2x16float(ws[sr${r} + g]);`);
    for (let m = 0; m < M; m++) A(`    var sx${m} = 0.0;`);
    each((m, r) => `    var d${m}_${r} = 0.0;`);
    A('    {');
    word(true, (m, r) => `d${m}_${r}`, (m) => `sx${m}`);
    A('    }');
    each((m, r) => `    c${m}_${r} = fma(sm${r}.x, d${m}_${r}, fma(sm${r}.y, sx${m}, c${m}_${r}));`);
    A('  }');
  } else {
    for (let m = 0; m < M; m++) A(`  let xq${m} = mr${m} * Kw; let rs${m} = rs[mr${m}];`);
    each((m, r) => `  var ci${m}_${r} = 0i; var cf${m}_${r} = 0.0;`);
    A(`  for (var j = lx; j < Kw; j += ${L}u) {`);
    A('    let fl = flags[j];');
    A('    let fm = ((vec4<u32>(fl) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) == vec4<u32>(1u);');
    for (let m = 0; m < M; m++) A(`    let xv${m} = bitcast<vec4<i32>>(vec4<u32>(xq[xq${m} + j]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);`);
    A('    if (fl != 0u) {');
    A('      let k = j * 4u;');
    for (let m = 0; m < M; m++) A(`      let xo${m} = select(vec4<f32>(0.0), vec4<f32>(x[x${m} + k], x[x${m} + k + 1u], x[x${m} + k + 2u], x[x${m} + k + 3u]), fm);`);
    for (let r = 0; r < R; r++) {
      A(`      { let qv = vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(wq[wr${r} + j]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));`);
      for (let m = 0; m < M; m++) A(`        cf${m}_${r} += dot(xo${m}, qv);`);
      A('      }');
    }
    A('    }');
    for (let r = 0; r < R; r++) {
      A(`    { let qv = bitcast<vec4<i32>>(vec4<u32>(wq[wr${r} + j]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);`);
      for (let m = 0; m < M; m++) A(`      ci${m}_${r} += dot(xv${m}, qv);`);
      A('    }');
    }
    A('  }');
    each((m, r) => `  let c${m}_${r} = fma(f32(ci${m}_${r}), rs${m}, cf${m}_${r});`);
  }
  // reduction over the lanes
  const n = M * R;
  const names: string[] = [];
  for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) names.push(`c${m}_${r}`);
  if (s.sgAdd) {
    A(`  var sums = array<f32, ${n}>(${names.map((v) => `subgroupAdd(${v})`).join(', ')});`);
  } else {
    names.forEach((v, i) => A(`  red[${i}u * ${L}u + lx] = ${v};`));
    for (let h = L / 2; h >= 1; h /= 2) {
      A('  workgroupBarrier();');
      A(`  if (lx < ${h}u) {`);
      A(`    for (var i = 0u; i < ${n}u; i++) { red[i * ${L}u + lx] += red[i * ${L}u + lx + ${h}u]; }`);
      A('  }');
    }
    A('  workgroupBarrier();');
    A(`  var sums = array<f32, ${n}>(${names.map((_, i) => `red[${i * L}u]`).join(', ')});`);
  }
  A(`  for (var t = 0u; t < prm[${EPI + 8}u]; t++) {`);
  A(`    let m = mt + t / ${R}u; let n = nt + t % ${R}u;`);
  A(`    if (lx == t % ${L}u && n < nEnd && m < Mr) {`);
  A(s.format === 'int8' ? '      let si = prm[5u] + n; let acc = sums[t] * unpack2x16float(ws[si >> 1u])[si & 1u];' : '      let acc = sums[t];');
  A(`      y[prm[8u] + m * prm[18u] + n] = epi(acc, n, prm[${EPI + 3}u] + m * prm[${EPI + 4}u] + n * prm[${EPI + 5}u]);`);
  A('    }');
  A('  }');
  const int8 = s.format === 'int8';
  return `${s.sgAdd ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wq: array<u32>;
@group(0) @binding(2) var<storage, read> ws: array<u32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
${wgslMeta(6)}
${int8 ? `@group(0) @binding(7) var<storage, read> xq: array<u32>;
@group(0) @binding(8) var<storage, read> rs: array<f32>;
@group(0) @binding(9) var<storage, read> flags: array<u32>;` : ''}
${epilogueWgsl(3, EPI)}
${s.sgAdd ? '' : `var<workgroup> red: array<f32, ${n * L}>;`}
@compute @workgroup_size(${L})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
${lines.join('\n')}
}`;
}

// LLM.int8 prepass. flags: one u32 per packed word of K, bit j set when column 4w+j has |x| >= 6 in some row.
const FLAGS_CODE = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> flags: array<u32>;
${wgslMeta(2)}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  let M = prm[0u]; let K = prm[1u]; let Kw = prm[2u]; let xo = prm[3u];
  if (j >= Kw) { return; }
  var bits = 0u;
  for (var m = 0u; m < M; m++) {
    for (var i = 0u; i < 4u; i++) {
      let k = j * 4u + i;
      if (k < K && abs(x[xo + m * K + k]) >= 6.0) { bits |= 1u << i; }
    }
  }
  flags[j] = bits;
}`;

// Per row: absmax of the values below the threshold, then x·(127/absmax) rounded (half to even) and packed.
const ROWS_CODE = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> xq: array<u32>;
@group(0) @binding(3) var<storage, read_write> rs: array<f32>;
${wgslMeta(4)}
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = wg.x + wg.y * nwg.x;
  let M = prm[0u]; let K = prm[1u]; let Kw = prm[2u];
  let mm = min(m, M - 1u);
  let xr = prm[3u] + mm * K;
  let lx = lid.x;
  var a = 0.0;
  for (var k = lx; k < K; k += 64u) { let v = abs(x[xr + k]); if (v < 6.0) { a = max(a, v); } }
  red[lx] = a;
  for (var h = 32u; h >= 1u; h = h / 2u) {
    workgroupBarrier();
    if (lx < h) { red[lx] = max(red[lx], red[lx + h]); }
  }
  workgroupBarrier();
  let amax = red[0];
  if (m >= M) { return; }
  let inv = select(0.0, 127.0 / amax, amax > 0.0);
  if (lx == 0u) { rs[m] = amax / 127.0; }
  for (var j = lx; j < Kw; j += 64u) {
    let fl = flags[j];
    var w = 0u;
    for (var i = 0u; i < 4u; i++) {
      let k = j * 4u + i;
      if (k < K && ((fl >> i) & 1u) == 0u) { w |= (bitcast<u32>(i32(round(x[xr + k] * inv))) & 255u) << (8u * i); }
    }
    xq[m * Kw + j] = w;
  }
}`;

const DEQUANT_CODE = (format: 'int8' | 'q4') => `@group(0) @binding(0) var<storage, read> wq: array<u32>;
@group(0) @binding(1) var<storage, read> ws: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wgslMeta(3)}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= prm[0u]) { return; }
  let K = prm[1u]; let Kw = prm[2u];
  let r = i / K; let k = i % K;
  let wd = wq[prm[3u] + r * Kw + k / ${format === 'int8' ? 4 : 8}u];
${format === 'int8'
    ? `  let si = prm[4u] + r;
  y[i] = f32(bitcast<i32>(wd << (24u - 8u * (k % 4u))) >> 24u) * unpack2x16float(ws[si >> 1u])[si & 1u];`
    : `  let sm = unpack2x16float(ws[prm[4u] + r * prm[5u] + k / prm[6u]]);
  y[i] = fma(f32((wd >> (4u * (k % 8u))) & 15u), sm.x, sm.y);`}
}`;

/** Elements of the scales tensor per weight row. */
function scalesPerRow(a: { format: 'int8' | 'q4'; K: number; group: number }): number {
  return a.format === 'int8' ? 1 : 2 * Math.ceil(a.K / a.group);
}

/** Rows of N per dispatch so the packed words and the scales of the rows fit one binding each. */
function rowsPerChunk(dev: Device, Kw: number, sRow: number, R: number, maxElems?: number): number {
  const lim = maxElems ?? maxBindingElements(dev, 'i32');
  const limS = maxElems ?? maxBindingElements(dev, 'f16');
  const rows = Math.min(Math.floor(lim / Kw), Math.floor(limS / sRow));
  const r = Math.floor(rows / R) * R;
  if (r < 1) throw new ShapeError(`quantized weight rows of ${Kw} words cannot be split into bindings of ${dev.limits.maxStorageBufferBindingSize} bytes`);
  return r;
}

/** Test hook: a smaller binding size (elements) to exercise the chunking on small tensors. */
export const qTesting = { maxElems: undefined as number | undefined, config: undefined as QGemvConfig | undefined };

/** The LLM.int8 prepass over x [M, K]: outlier bits per packed word, row scales and packed int8 rows. */
export function int8Prepass(dev: Device, x: Tensor, M: number, K: number): { flags: Tensor; rs: Tensor; xq: Tensor } {
  const Kw = packedWords('int8', K);
  const flags = newOutput(dev, [Kw], 'i32'), rs = newOutput(dev, [M]), xq = newOutput(dev, [M, Kw], 'i32');
  const xb = bindElements(x, x.offset, M * K);
  const xo = (x.offset - xb.sub) >>> 0;
  const full = (t: Tensor) => bindElements(t, 0, t.size).range;
  const pf = dev.pipeline('q8flags', () => FLAGS_CODE);
  const [gx, gy] = grid(dev, Kw, 64);
  dev.dispatch(pf, [xb.range, full(flags), dev.meta([M, K, Kw, xo])], gx, gy);
  const pr = dev.pipeline('q8rows', () => ROWS_CODE);
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  const ry = Math.ceil(M / max);
  dev.dispatch(pr, [xb.range, full(flags), full(xq), full(rs), dev.meta([M, K, Kw, xo])], Math.ceil(M / ry), ry);
  return { flags, rs, xq };
}

export function qmatmulGpu(inputs: Tensor[], a: QMatmulAttrs, cfgIn?: QGemvConfig): Tensor {
  const [x, packed, scales] = inputs;
  let i = 3;
  const bias = a.hasBias ? inputs[i++] : null;
  const res = a.hasResidual ? inputs[i++] : null;
  const dev = x.device!;
  const { N, K, format } = a;
  const M = x.shape[0];
  const y = newOutput(dev, [M, N]);
  if (M === 0 || N === 0) return y;
  const limF = maxBindingElements(dev, 'f32');
  if (M * K > limF || M * N > limF) throw new ShapeError(`quantized matmul: x [${M}, ${K}] or y [${M}, ${N}] is larger than one GPU binding; split the rows`);
  const MR = qRows(M);
  const cfg = cfgIn ?? qTesting.config ?? defaultQConfig(dev, M);
  const spec: Spec = { format, MR, sgAdd: cfg.L === 8 && subgroupsOf8(dev) };
  const pipeline = dev.pipeline(`qmm:${format}:${MR}:${cfg.L}x${cfg.R}x${cfg.LPG ?? 0}:${spec.sgAdd}`, () => qCode(cfg, spec));
  const Kw = packedWords(format, K);
  const sRow = scalesPerRow(a);
  const pre = format === 'int8' ? int8Prepass(dev, x, M, K) : null;
  const xb = bindElements(x, x.offset, M * K);
  const yb = bindElements(y, 0, M * N);
  const biasBind = bias ? bindElements(bias, bias.offset, bias.span) : null;
  const rBind = res ? bindElements(res, res.offset, M * N) : null;
  const plan = { dev, bias, res: res ? { t: res, off: res.offset, bs: [], sm: N, sn: 1 } : null, alpha: 1, act: a.activation } as unknown as MatmulPlan;
  const epi = epilogueArgs(plan, biasBind, rBind);
  const nChunk = Math.min(N, rowsPerChunk(dev, Kw, sRow, cfg.R, qTesting.maxElems));
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  const rowTiles = Math.ceil(M / MR);
  if (rowTiles > max) throw new ShapeError(`quantized matmul: ${M} rows exceed the dispatch limit`);
  for (let n0 = 0; n0 < N; n0 += nChunk) {
    const n1 = Math.min(N, n0 + nChunk);
    const wb = bindElements(packed, packed.offset + n0 * Kw, (n1 - n0) * Kw);
    const sb = bindElements(scales, scales.offset + n0 * sRow, (n1 - n0) * sRow);
    // scale offsets: int8 in f16 elements, q4 in (scale, min) words
    const sOff = format === 'int8' ? (scales.offset - sb.sub) >>> 0 : ((scales.offset - sb.sub) / 2) >>> 0;
    const meta = [n1, K, n0, Kw, (packed.offset - wb.sub) >>> 0, sOff, sRow / 2, a.group, (0 - yb.sub) >>> 0, ...epi.meta, MR * cfg.R, N, M, (x.offset - xb.sub) >>> 0, Math.floor(K / 8)];
    const bindings: Binding[] = [xb.range, wb.range, sb.range, ...epi.bindings, yb.range, dev.meta(meta)];
    if (pre) for (const t of [pre.xq, pre.rs, pre.flags]) bindings.push(bindElements(t, 0, t.size).range);
    const groups = Math.ceil((n1 - n0) / cfg.R);
    const gy = Math.ceil(groups / max);
    dev.dispatch(pipeline, bindings, Math.ceil(groups / gy), gy, rowTiles);
  }
  if (pre) for (const t of [pre.xq, pre.rs, pre.flags]) t.dispose();
  return y;
}

export function qdequantGpu(inputs: Tensor[], a: QDequantAttrs): Tensor {
  const [packed, scales] = inputs;
  const dev = packed.device!;
  const rows = a.n1 - a.n0;
  const y = newOutput(dev, [rows, a.K]);
  const total = rows * a.K;
  if (total === 0) return y;
  if (total > maxBindingElements(dev, 'f32')) throw new ShapeError(`dequantize: [${rows}, ${a.K}] is larger than one GPU binding; dequantize fewer rows`);
  const Kw = packedWords(a.format, a.K), sRow = scalesPerRow(a);
  const wb = bindElements(packed, packed.offset + a.n0 * Kw, rows * Kw);
  const sb = bindElements(scales, scales.offset + a.n0 * sRow, rows * sRow);
  const sOff = a.format === 'int8' ? scales.offset + a.n0 - sb.sub : (scales.offset + a.n0 * sRow - sb.sub) / 2;
  const p = dev.pipeline(`qdeq:${a.format}`, () => DEQUANT_CODE(a.format));
  const [gx, gy] = grid(dev, total, 64);
  dev.dispatch(p, [wb.range, sb.range, bindElements(y, 0, total).range, dev.meta([total, a.K, Kw, packed.offset + a.n0 * Kw - wb.sub, sOff, sRow / 2, a.group])], gx, gy);
  return y;
}
