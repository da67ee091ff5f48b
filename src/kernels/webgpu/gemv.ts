// GEMV for a few rows (decoding: x[M <= 8, K] @ W[N, K]^T): a workgroup of L lanes owns R output columns (weight
// rows); the lanes split K (lane l reads k = l, l + L, ... so neighbouring lanes read neighbouring words of a
// weight row), f16 weights are read as u32 pairs, each weight value is used for all M rows of x and each x
// value for all R columns, and the lanes' partial sums are reduced with subgroupAdd (when the workgroup is one
// subgroup) or a workgroup-memory tree. Chunked over N so weights larger than one binding work. Same fused
// epilogue as the matmul kernel.
import { ShapeError } from '../../errors.js';
import type { Binding } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { MatmulPlan, epilogueArgs, epilogueWgsl, subgroupsOf8 } from './matmul.js';
import { bindElements, maxBindingElements, wgslInput, wgslMeta } from './util.js';

export interface GemvConfig {
  /** Lanes per workgroup (split K). */
  L: number;
  /** Output rows per workgroup. */
  R: number;
  /** Loop unroll (k steps per lane per iteration). */
  U: number;
}

/** Largest M the GEMV kernel takes. */
export const GEMV_MAX_ROWS = 8;

/** Rows of x a pipeline is compiled for: M rounded up to 1, 4 or 8 (fewer pipelines to compile). */
export function gemvRows(M: number): number {
  return M <= 1 ? 1 : M <= 4 ? 4 : 8;
}

export function defaultGemvConfig(plan: MatmulPlan): GemvConfig {
  const MR = gemvRows(plan.M);
  if (subgroupsOf8(plan.dev)) return MR === 1 ? { L: 8, R: 8, U: 4 } : { L: 8, R: MR === 4 ? 4 : 2, U: 2 };
  return { L: 64, R: MR === 1 ? 4 : 2, U: 2 };
}

interface Spec {
  dtX: DType;
  dtW: DType;
  pairW: boolean;
  sgAdd: boolean;
  /** Rows of x the code handles (rows past the real M read row M-1 and are not stored). */
  M: number;
}

// Meta: 0 nEnd, 1 K, 2 n0, 3 sXk, 4 w offset, 5 sWn, 6 sWk, 7 x offset, 8 y offset, 9..16 epilogue block,
// 17 outputs per workgroup (MR*R), 18 sXm (x row stride), 19 N (output row length), 20 M (real rows).
const EPI = 9;

function gemvCode(c: GemvConfig, s: Spec): string {
  const { L, R, U } = c;
  const M = s.M;
  const P = s.pairW ? 2 : 1; // k per weight load
  const lines: string[] = [];
  const A = (x: string) => lines.push(x);
  const rm = (f: (r: number, m: number) => string) => {
    for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) A(f(r, m));
  };
  A('  let nEnd = prm[0u]; let K = prm[1u]; let sXk = prm[3u]; let sWn = prm[5u]; let sWk = prm[6u]; let sXm = prm[18u];');
  A(`  let nt = prm[2u] + (wg.x + wg.y * nwg.x) * ${R}u;`);
  A('  let lx = lid.x;');
  for (let r = 0; r < R; r++) A(`  let w${r} = prm[4u] + min(nt + ${r}u, nEnd - 1u) * sWn;`);
  for (let m = 0; m < M; m++) A(`  let x${m} = prm[7u] + min(${m}u, prm[20u] - 1u) * sXm;`);
  rm((r, m) => `  var c${m}_${r} = 0.0;`);
  // main loop: each iteration covers U * P * L values of k
  const step = U * P * L;
  A(`  let Km = K - K % ${step}u;`);
  A(`  for (var k0 = 0u; k0 < Km; k0 += ${step}u) {`);
  for (let u = 0; u < U; u++) {
    A(`    { let k = k0 + ${u * P * L}u + ${P}u * lx;`);
    for (let m = 0; m < M; m++) {
      A(`      let xa${m} = ld_x(x${m} + k * sXk);`);
      if (P === 2) A(`      let xb${m} = ld_x(x${m} + (k + 1u) * sXk);`);
    }
    for (let r = 0; r < R; r++) {
      if (P === 2) {
        A(`      { let w = ld2_w(w${r} + k);`);
        for (let m = 0; m < M; m++) A(`        c${m}_${r} = fma(xa${m}, w.x, c${m}_${r}); c${m}_${r} = fma(xb${m}, w.y, c${m}_${r});`);
      } else {
        A(`      { let w = ld_w(w${r} + k * sWk);`);
        for (let m = 0; m < M; m++) A(`        c${m}_${r} = fma(xa${m}, w, c${m}_${r});`);
      }
      A('      }');
    }
    A('    }');
  }
  A('  }');
  A(`  for (var k = Km + lx; k < K; k += ${L}u) {`);
  for (let m = 0; m < M; m++) A(`    let xa${m} = ld_x(x${m} + k * sXk);`);
  for (let r = 0; r < R; r++) {
    A(`    { let w = ld_w(w${r} + k * sWk);`);
    for (let m = 0; m < M; m++) A(`      c${m}_${r} = fma(xa${m}, w, c${m}_${r});`);
    A('    }');
  }
  A('  }');
  // reduction
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
  // one copy of the epilogue code: a loop whose trip count (M*R) comes from the meta buffer
  A(`  for (var t = 0u; t < prm[${EPI + 8}u]; t++) {`);
  A(`    let m = t / ${R}u; let n = nt + t % ${R}u;`);
  A(`    if (lx == t % ${L}u && n < nEnd && m < prm[20u]) { y[prm[8u] + m * prm[19u] + n] = epi(sums[t], n, prm[${EPI + 3}u] + m * prm[${EPI + 4}u] + n * prm[${EPI + 5}u]); }`);
  A('  }');
  return `${s.sgAdd ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}${wgslInput(0, 'x', s.dtX)}
${wgslInput(1, 'w', s.dtW)}
${s.dtW === 'f16' ? 'fn ld2_w(i: u32) -> vec2<f32> { return unpack2x16float(w[i >> 1u]); }' : ''}
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${wgslMeta(5)}
${epilogueWgsl(2, EPI)}
${s.sgAdd ? '' : `var<workgroup> red: array<f32, ${n * L}>;`}
@compute @workgroup_size(${L})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
${lines.join('\n')}
}`;
}

/** Records a GEMV: plan.M must be at most GEMV_MAX_ROWS and the batch folded. */
export function gemv(p: MatmulPlan, cfg: GemvConfig = defaultGemvConfig(p)): void {
  const { dev, N, K, M } = p;
  if (M < 1 || M > GEMV_MAX_ROWS || p.batch.length) throw new ShapeError(`gemv needs 1 <= M <= ${GEMV_MAX_ROWS} and no batch`);
  if (N === 0) return;
  const spec: Spec = {
    dtX: p.a.t.dtype,
    dtW: p.b.t.dtype,
    pairW: p.b.t.dtype === 'f16' && p.sBk === 1 && p.b.off % 2 === 0 && p.sBn % 2 === 0,
    sgAdd: cfg.L === 8 && subgroupsOf8(dev),
    M: gemvRows(M),
  };
  const key = `gemv:${spec.M}:${cfg.L}x${cfg.R}x${cfg.U}:${spec.dtX}:${spec.dtW}${spec.pairW ? 'p' : ''}:${spec.sgAdd}`;
  const pipeline = dev.pipeline(key, () => gemvCode(cfg, spec));
  // N rows per dispatch so the weight rows fit one binding.
  const lim = maxBindingElements(dev, p.b.t.dtype);
  const rowSpan = (K - 1) * p.sBk + 1;
  let nChunk = N;
  if ((N - 1) * p.sBn + rowSpan > lim) {
    nChunk = p.sBn === 0 ? N : Math.floor((lim - rowSpan) / p.sBn) + 1;
    nChunk = Math.floor(nChunk / cfg.R) * cfg.R;
    if (nChunk < 1) throw new ShapeError(`gemv weight [${p.b.t.shape}] cannot be split into bindings of ${dev.limits.maxStorageBufferBindingSize} bytes`);
  }
  const xBind = bindElements(p.a.t, p.a.off, (M - 1) * p.sAm + (K - 1) * p.sAk + 1);
  const biasBind = p.bias ? bindElements(p.bias, p.bias.offset, p.bias.span) : null;
  const rBind = p.res ? bindElements(p.res.t, p.res.off, (M - 1) * p.res.sm + (N - 1) * p.res.sn + 1) : null;
  const yBind = bindElements(p.y, 0, M * N);
  const maxWg = dev.limits.maxComputeWorkgroupsPerDimension;
  for (let n0 = 0; n0 < N; n0 += nChunk) {
    const n1 = Math.min(N, n0 + nChunk);
    const wBind = bindElements(p.b.t, p.b.off + n0 * p.sBn, (n1 - n0 - 1) * p.sBn + rowSpan);
    const epi = epilogueArgs(p, biasBind, rBind);
    const meta = [n1, K, n0, p.sAk, (p.b.off - wBind.sub) >>> 0, p.sBn, p.sBk, (p.a.off - xBind.sub) >>> 0, (0 - yBind.sub) >>> 0, ...epi.meta, spec.M * cfg.R, p.sAm, N, M];
    const bindings: Binding[] = [xBind.range, wBind.range, ...epi.bindings, yBind.range, dev.meta(meta)];
    const groups = Math.ceil((n1 - n0) / cfg.R);
    const gy = Math.ceil(groups / maxWg);
    dev.dispatch(pipeline, bindings, Math.ceil(groups / gy), gy);
  }
}
