// GEMV for M == 1 (decoding: x[1, K] @ W[N, K]^T): a workgroup of L lanes owns R output rows; the lanes split K
// (lane l reads k = l, l + L, ... so neighbouring lanes read neighbouring words of a weight row), f16 weights are
// read as u32 pairs, x is loaded once per k for all R rows, and the lanes' partial sums are reduced with
// subgroupAdd (when the workgroup is one subgroup) or a workgroup-memory tree. Chunked over N so weights larger
// than one binding work. Same fused epilogue as the matmul kernel.
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

export function defaultGemvConfig(plan: MatmulPlan): GemvConfig {
  return subgroupsOf8(plan.dev) ? { L: 8, R: 8, U: 4 } : { L: 64, R: 4, U: 2 };
}

interface Spec {
  dtX: DType;
  dtW: DType;
  pairW: boolean;
  sgAdd: boolean;
}

// Meta: 0 nEnd, 1 K, 2 n0, 3 sXk, 4 w offset, 5 sWn, 6 sWk, 7 x offset, 8 y offset, 9..16 epilogue block,
// 17 rows per workgroup (R).
const EPI = 9;

function gemvCode(c: GemvConfig, s: Spec): string {
  const { L, R, U } = c;
  const P = s.pairW ? 2 : 1; // k per weight load
  const lines: string[] = [];
  const A = (x: string) => lines.push(x);
  A('  let nEnd = prm[0u]; let K = prm[1u]; let sXk = prm[3u]; let sWn = prm[5u]; let sWk = prm[6u];');
  A(`  let nt = prm[2u] + (wg.x + wg.y * nwg.x) * ${R}u;`);
  A('  let lx = lid.x;');
  for (let r = 0; r < R; r++) A(`  let w${r} = prm[4u] + min(nt + ${r}u, nEnd - 1u) * sWn; var c${r} = 0.0;`);
  // main loop: each iteration covers U * P * L values of k
  const step = U * P * L;
  A(`  let Km = K - K % ${step}u;`);
  A(`  for (var k0 = 0u; k0 < Km; k0 += ${step}u) {`);
  for (let u = 0; u < U; u++) {
    A(`    { let k = k0 + ${u * P * L}u + ${P}u * lx;`);
    if (P === 2) {
      A('      let x0 = ld_x(prm[7u] + k * sXk); let x1 = ld_x(prm[7u] + (k + 1u) * sXk);');
      for (let r = 0; r < R; r++) A(`      { let w = ld2_w(w${r} + k); c${r} = fma(x0, w.x, c${r}); c${r} = fma(x1, w.y, c${r}); }`);
    } else {
      A('      let x0 = ld_x(prm[7u] + k * sXk);');
      for (let r = 0; r < R; r++) A(`      c${r} = fma(x0, ld_w(w${r} + k * sWk), c${r});`);
    }
    A('    }');
  }
  A('  }');
  A(`  for (var k = Km + lx; k < K; k += ${L}u) {`);
  A('    let x0 = ld_x(prm[7u] + k * sXk);');
  for (let r = 0; r < R; r++) A(`    c${r} = fma(x0, ld_w(w${r} + k * sWk), c${r});`);
  A('  }');
  // reduction
  if (s.sgAdd) {
    for (let r = 0; r < R; r++) A(`  let s${r} = subgroupAdd(c${r});`);
  } else {
    for (let r = 0; r < R; r++) A(`  red[${r}u * ${L}u + lx] = c${r};`);
    for (let h = L / 2; h >= 1; h /= 2) {
      A('  workgroupBarrier();');
      A(`  if (lx < ${h}u) {`);
      for (let r = 0; r < R; r++) A(`    red[${r}u * ${L}u + lx] += red[${r}u * ${L}u + lx + ${h}u];`);
      A('  }');
    }
    A('  workgroupBarrier();');
    for (let r = 0; r < R; r++) A(`  let s${r} = red[${r * L}u];`);
  }
  // one copy of the epilogue code: a loop whose trip count (R) comes from the meta buffer
  A(`  var sums = array<f32, ${R}>(${[...Array(R).keys()].map((r) => `s${r}`).join(', ')});`);
  A(`  for (var r = 0u; r < prm[${EPI + 8}u]; r++) {`);
  A(`    let n = nt + r;`);
  A(`    if (lx == r % ${L}u && n < nEnd) { y[prm[8u] + n] = epi(sums[r], n, prm[${EPI + 3}u] + n * prm[${EPI + 5}u]); }`);
  A('  }');
  return `${s.sgAdd ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}${wgslInput(0, 'x', s.dtX)}
${wgslInput(1, 'w', s.dtW)}
${s.dtW === 'f16' ? 'fn ld2_w(i: u32) -> vec2<f32> { return unpack2x16float(w[i >> 1u]); }' : ''}
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${wgslMeta(5)}
${epilogueWgsl(2, EPI)}
${s.sgAdd ? '' : `var<workgroup> red: array<f32, ${R * L}>;`}
@compute @workgroup_size(${L})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
${lines.join('\n')}
}`;
}

/** Records a GEMV: plan.M must be 1 and the batch folded. */
export function gemv(p: MatmulPlan, cfg: GemvConfig = defaultGemvConfig(p)): void {
  const { dev, N, K } = p;
  if (p.M !== 1 || p.batch.length) throw new ShapeError('gemv needs M == 1 and no batch');
  if (N === 0) return;
  const spec: Spec = {
    dtX: p.a.t.dtype,
    dtW: p.b.t.dtype,
    pairW: p.b.t.dtype === 'f16' && p.sBk === 1 && p.b.off % 2 === 0 && p.sBn % 2 === 0,
    sgAdd: cfg.L === 8 && subgroupsOf8(dev),
  };
  const key = `gemv:${cfg.L}x${cfg.R}x${cfg.U}:${spec.dtX}:${spec.dtW}${spec.pairW ? 'p' : ''}:${spec.sgAdd}`;
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
  const xBind = bindElements(p.a.t, p.a.off, (K - 1) * p.sAk + 1);
  const biasBind = p.bias ? bindElements(p.bias, p.bias.offset, p.bias.span) : null;
  const rBind = p.res ? bindElements(p.res.t, p.res.off, (N - 1) * p.res.sn + 1) : null;
  const yBind = bindElements(p.y, 0, N);
  const maxWg = dev.limits.maxComputeWorkgroupsPerDimension;
  for (let n0 = 0; n0 < N; n0 += nChunk) {
    const n1 = Math.min(N, n0 + nChunk);
    const wBind = bindElements(p.b.t, p.b.off + n0 * p.sBn, (n1 - n0 - 1) * p.sBn + rowSpan);
    const epi = epilogueArgs(p, biasBind, rBind);
    const meta = [n1, K, n0, p.sAk, (p.b.off - wBind.sub) >>> 0, p.sBn, p.sBk, (p.a.off - xBind.sub) >>> 0, (0 - yBind.sub) >>> 0, ...epi.meta, cfg.R];
    const bindings: Binding[] = [xBind.range, wBind.range, ...epi.bindings, yBind.range, dev.meta(meta)];
    const groups = Math.ceil((n1 - n0) / cfg.R);
    const gy = Math.ceil(groups / maxWg);
    dev.dispatch(pipeline, bindings, Math.ceil(groups / gy), gy);
  }
}
