// Register-blocked matmul without workgroup memory (what runs best on lavapipe, see bench/RESULTS.md):
// workgroup (8, WY); lane x owns TN output columns n = n0 + lx + 8j, row y owns TM rows. Every operand is read
// through runtime strides (any view: transposes, slices, broadcast batches), f32 or f16 (packed u32 pairs).
// When the adapter's subgroups are exactly 8 lanes (lavapipe's SIMD width), the 8 lanes of a row share A: lane l
// loads A[m, k + l] and the others get it with subgroupBroadcast, so A costs TM/8 loads per k instead of TM.
// f16 operands contiguous along K are read as whole u32 pairs (one load for two k). The epilogue fuses
// alpha, bias, activation and residual (runtime flags: one pipeline per dtype pair). Dispatches are chunked
// over M and N so tensors larger than one binding (maxStorageBufferBindingSize) work. `matmulRegister` also
// dispatches the workgroup-memory tiled kernel (matmul-tiled.ts), the default on non-CPU adapters.
import { ShapeError } from '../../errors.js';
import type { Binding, BufferRange, Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { TiledSpec, tiledKernelCode } from './matmul-tiled.js';
import { EPI, META_FIXED, epilogueWgsl, wgslBatchPrologue } from './matmul-wgsl.js';
import { bindElements, f32Bits, maxBindingElements, wgslInput, wgslMeta } from './util.js';

export type Act = 'none' | 'relu' | 'gelu' | 'silu';
// WGSL shared with the tiled kernel lives in matmul-wgsl.ts (so matmul-tiled.ts does not import this file).
export { EPI, META_FIXED, epilogueWgsl, wgslBatchPrologue };

const ACT_CODE: Record<Act, number> = { none: 0, relu: 1, gelu: 2, silu: 3 };

const dummies = new WeakMap<Device, GPUBuffer>();
/** A tiny buffer bound where an optional input is absent. */
export function dummyBuffer(dev: Device): GPUBuffer {
  let b = dummies.get(dev);
  if (!b) dummies.set(dev, (b = dev.allocate(16, false)));
  return b;
}

/** Meta words of the epilogue block (see epilogueWgsl) plus its two bindings. */
export function epilogueArgs(
  p: MatmulPlan,
  bias: { range: BufferRange; sub: number } | null,
  res: { range: BufferRange; sub: number } | null,
): { meta: number[]; bindings: Binding[] } {
  const flags = (p.bias ? 1 : 0) | (p.bias?.dtype === 'f16' ? 2 : 0) | (p.res ? 4 : 0) | (p.res?.t.dtype === 'f16' ? 8 : 0);
  const meta = [
    f32Bits(p.alpha),
    bias ? (p.bias!.offset - bias.sub) >>> 0 : 0,
    p.bias ? p.bias.strides[p.bias.rank - 1] ?? 1 : 0,
    res ? (p.res!.off - res.sub) >>> 0 : 0,
    p.res?.sm ?? 0,
    p.res?.sn ?? 0,
    flags,
    ACT_CODE[p.act],
  ];
  const dummy = dummyBuffer(p.dev);
  return { meta, bindings: [bias ? bias.range : dummy, res ? res.range : dummy] };
}

/** One operand of a matmul seen as a strided 2-D matrix per batch (element (r, c) at off + r*sr + c*sc). */
export interface MatView {
  t: Tensor;
  /** Element offset of (0, 0) of batch 0 in the tensor's storage. */
  off: number;
  /** Per-batch-dim strides (0 where broadcast), over the plan's batch shape. */
  bs: number[];
}

/** A matmul problem normalised to strides; the batch may have been folded into M. */
export interface MatmulPlan {
  dev: Device;
  batch: number[];
  M: number;
  N: number;
  K: number;
  a: MatView;
  sAm: number;
  sAk: number;
  b: MatView;
  sBk: number;
  sBn: number;
  bias: Tensor | null;
  res: (MatView & { sm: number; sn: number }) | null;
  y: Tensor;
  alpha: number;
  act: Act;
}

export interface MatmulConfig {
  /** Outputs per invocation: TM rows x TN columns. */
  TM: number;
  TN: number;
  /** Register kernel: workgroup (8, WY). Ignored by the tiled kernel (16 x 16). */
  WY: number;
  /** A shared through subgroupBroadcast (needs 8-lane subgroups). */
  bcast: boolean;
  /** K unroll multiplier (the main loop covers KM x 8 values of k, x16 with f16 pairs of A). */
  KM?: number;
  /** Without subgroup sharing: k per main-loop iteration (default 8). */
  KU?: number;
  /** Grouped tile order: G tile rows are walked column-major (reuse of B across consecutive workgroups); 0 = row-major. */
  G?: number;
  /** Use the workgroup-memory tiled kernel (matmul-tiled.ts) with K slices of BK (default 16). */
  tiled?: boolean;
  BK?: number;
}

/** Output tile of one workgroup. */
export function tileOf(c: MatmulConfig): { BM: number; BN: number } {
  return c.tiled ? { BM: 16 * c.TM, BN: 16 * c.TN } : { BM: c.TM * c.WY, BN: c.TN * 8 };
}

/** CPU implementations of WebGPU (lavapipe, SwiftShader): no workgroup-memory tiling there. */
export function cpuAdapter(dev: Device): boolean {
  return dev.profile.software;
}

/** The tile configuration used on this adapter. */
export function defaultConfig(dev: Device): MatmulConfig {
  if (subgroupsOf8(dev)) return { TM: 16, TN: 2, WY: 2, bcast: true };
  if (cpuAdapter(dev)) return { TM: 4, TN: 4, WY: 8, bcast: false, KU: 2 };
  return { TM: 4, TN: 4, WY: 16, bcast: false, tiled: true, BK: 16 };
}

/** Subgroups of exactly 8 invocations laid over consecutive local invocation indices (llvmpipe's SIMD8). */
export function subgroupsOf8(dev: Device): boolean {
  return dev.profile.subgroupSize === 8;
}

interface Spec {
  dtA: DType;
  dtB: DType;
  pairA: boolean;
  pairB: boolean;
}

function kernelCode(c: MatmulConfig, s: Spec): string {
  const { TM, TN, WY, bcast } = c;
  const pairA = s.pairA && bcast;
  const KB = pairA ? 16 : 8; // k covered by one A load per row (8 lanes, x2 for pairs)
  const KU = bcast ? KB * (c.KM ?? 1) : c.KU ?? 8;
  const BM = TM * WY, BN = TN * 8;
  const lines: string[] = [];
  const L = (x: string) => lines.push(x);
  wgslBatchPrologue(L);
  L('  let lx = lid.x;');
  if (c.G) {
    // grouped order: linear workgroup id -> (tile x, tile y) walking G tile rows column by column
    L('  let lin = wg.x + wg.y * nwg.x;');
    L(`  let per = ${c.G}u * nwg.x; let grp = lin / per; let rr = lin % per;`);
    L(`  let gh = min(${c.G}u, nwg.y - grp * ${c.G}u);`);
    L('  let ty = grp * ' + c.G + 'u + rr % gh; let tx = rr / gh;');
  } else L('  let ty = wg.y; let tx = wg.x;');
  L(`  let mt = prm[3u] + ty * ${BM}u + lid.y * ${TM}u;`);
  L(`  let nt = prm[4u] + tx * ${BN}u + lx;`);
  for (let i = 0; i < TM; i++) L(`  let ar${i} = aB + min(mt + ${i}u, mEnd - 1u) * sAm;`);
  for (let j = 0; j < TN; j++) L(`  let bc${j} = bB + min(nt + ${j * 8}u, nEnd - 1u) * sBn;`);
  for (let i = 0; i < TM; i++) L(`  ${[...Array(TN).keys()].map((j) => `var c${i}_${j} = 0.0;`).join(' ')}`);
  L(`  let Km = K - K % ${KU}u;`);
  L(`  for (var k = 0u; k < Km; k += ${KU}u) {`);
  if (bcast) {
    for (let g = 0; g < KU / KB; g++) {
      for (let i = 0; i < TM; i++) {
        if (pairA) L(`    let av${i}_${g} = ld2_a(ar${i} + k + ${g * KB}u + 2u * lx);`);
        else L(`    let av${i}_${g} = ld_a(ar${i} + (k + ${g * KB}u + lx) * sAk);`);
      }
    }
  }
  for (let kk = 0; kk < KU; kk++) {
    for (let j = 0; j < TN; j++) {
      if (s.pairB) {
        if (kk % 2 === 0) L(`    let bp${kk}_${j} = ld2_b(bc${j} + k + ${kk}u);`);
      } else L(`    let b${kk}_${j} = ld_b(bc${j} + (k + ${kk}u) * sBk);`);
    }
    for (let i = 0; i < TM; i++) {
      const g = Math.floor(kk / KB), q = kk % KB;
      const av = bcast ? (pairA ? `subgroupBroadcast(av${i}_${g}, ${q >> 1}u)[${q & 1}]` : `subgroupBroadcast(av${i}_${g}, ${q}u)`) : `ld_a(ar${i} + (k + ${kk}u) * sAk)`;
      L(`    { let a = ${av};`);
      for (let j = 0; j < TN; j++) L(`      c${i}_${j} = fma(a, ${s.pairB ? `bp${kk & ~1}_${j}[${kk & 1}]` : `b${kk}_${j}`}, c${i}_${j});`);
      L('    }');
    }
  }
  L('  }');
  L('  for (var k = Km; k < K; k++) {');
  for (let j = 0; j < TN; j++) L(`    let b${j} = ld_b(bc${j} + k * sBk);`);
  for (let i = 0; i < TM; i++) {
    L(`    { let a = ld_a(ar${i} + k * sAk);`);
    for (let j = 0; j < TN; j++) L(`      c${i}_${j} = fma(a, b${j}, c${i}_${j});`);
    L('    }');
  }
  L('  }');
  // Epilogue as a loop over a private array so the (large) epilogue code is emitted once; the trip count comes
  // from the meta buffer so the compiler cannot unroll it.
  L(`  let rSm = prm[${EPI + 4}u]; let rSn = prm[${EPI + 5}u];`);
  L(`  var acc = array<f32, ${TM * TN}>(${[...Array(TM).keys()].flatMap((i) => [...Array(TN).keys()].map((j) => `c${i}_${j}`)).join(', ')});`);
  L(`  for (var t = 0u; t < prm[${EPI + 8}u]; t++) {`);
  L(`    let m = mt + t / ${TN}u; let n = nt + (t % ${TN}u) * 8u;`);
  L('    if (m < mEnd && n < nEnd) { y[prm[11u] + (z * prm[13u] + m) * prm[12u] + n] = epi(acc[t], n, rB + m * rSm + n * rSn); }');
  L('  }');
  return `${bcast ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}${wgslInput(0, 'a', s.dtA)}
${s.dtA === 'f16' ? 'fn ld2_a(i: u32) -> vec2<f32> { return unpack2x16float(a[i >> 1u]); }' : ''}
${wgslInput(1, 'b', s.dtB)}
${s.dtB === 'f16' ? 'fn ld2_b(i: u32) -> vec2<f32> { return unpack2x16float(b[i >> 1u]); }' : ''}
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${wgslMeta(5)}
${epilogueWgsl(2, EPI)}
@compute @workgroup_size(8, ${WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
${lines.join('\n')}
}`;
}

/** Elements a strided 2-D range spans: rows [r0, r1) x cols [0, cols). */
function span2(rows: number, sr: number, cols: number, sc: number): number {
  if (rows <= 0 || cols <= 0) return 0;
  return (rows - 1) * sr + (cols - 1) * sc + 1;
}

/** Largest row count whose span fits `limit` elements (Infinity when the stride is 0). */
function rowsFitting(limit: number, sr: number, cols: number, sc: number): number {
  const rest = cols > 0 ? (cols - 1) * sc + 1 : 1;
  if (rest > limit) return 0;
  if (sr === 0) return Infinity;
  return Math.floor((limit - rest) / sr) + 1;
}

function batchSpan(v: MatView, batch: number[]): number {
  let s = 0;
  for (let d = 0; d < batch.length; d++) s += (batch[d] - 1) * v.bs[d];
  return s;
}

/** Records the dispatches of a matmul plan with the register-blocked kernel. */
export function matmulRegister(p: MatmulPlan, cfg: MatmulConfig = defaultConfig(p.dev)): void {
  const { dev, batch, M, N, K } = p;
  const nb = batch.reduce((x, y) => x * y, 1);
  if (M === 0 || N === 0 || nb === 0) return;
  const { BM, BN } = tileOf(cfg);
  // Chunk sizes: M rows and N columns per dispatch so that every binding fits.
  const lim = (dt: DType) => maxBindingElements(dev, dt);
  let mChunk = M, nChunk = N;
  const bat = (v: MatView) => batchSpan(v, batch);
  const limA = lim(p.a.t.dtype) - bat(p.a), limB = lim(p.b.t.dtype) - bat(p.b);
  if (span2(M, p.sAm, K, p.sAk) + bat(p.a) > lim(p.a.t.dtype)) mChunk = Math.min(mChunk, rowsFitting(limA, p.sAm, K, p.sAk));
  if (span2(N, p.sBn, K, p.sBk) + bat(p.b) > lim(p.b.t.dtype)) nChunk = Math.min(nChunk, rowsFitting(limB, p.sBn, K, p.sBk));
  if (nb * M * N > lim('f32')) {
    if (nb > 1) throw new ShapeError(`matmul output [${[...batch, M, N]}] is larger than one GPU binding; fold the batch or split it`);
    mChunk = Math.min(mChunk, Math.floor(lim('f32') / N));
  }
  if (p.res) {
    const r = p.res;
    if (span2(M, r.sm, N, r.sn) + bat(r) > lim(r.t.dtype)) mChunk = Math.min(mChunk, rowsFitting(lim(r.t.dtype) - bat(r), r.sm, N, r.sn));
  }
  if (!(mChunk >= 1 && nChunk >= 1)) {
    throw new ShapeError(`matmul operands [${p.a.t.shape}] x [${p.b.t.shape}] cannot be split into bindings of ${dev.limits.maxStorageBufferBindingSize} bytes`);
  }
  if (mChunk < M && nb > 1) throw new ShapeError(`batched matmul operand [${p.a.t.shape}] is larger than one GPU binding`);
  if (nChunk < N && nb > 1) throw new ShapeError(`batched matmul operand [${p.b.t.shape}] is larger than one GPU binding`);
  if (mChunk < M) mChunk = Math.max(BM, Math.floor(mChunk / BM) * BM);
  if (nChunk < N) nChunk = Math.max(BN, Math.floor(nChunk / BN) * BN);
  const maxWg = dev.limits.maxComputeWorkgroupsPerDimension;
  mChunk = Math.min(mChunk, maxWg * BM);
  nChunk = Math.min(nChunk, maxWg * BN);
  const zChunk = Math.min(nb, maxWg);
  const R = batch.length;
  const even = (v: MatView, st: number) => v.t.dtype === 'f16' && v.off % 2 === 0 && st % 2 === 0 && v.bs.every((x) => x % 2 === 0);
  const spec: Spec = {
    dtA: p.a.t.dtype,
    dtB: p.b.t.dtype,
    pairA: cfg.bcast && p.sAk === 1 && even(p.a, p.sAm),
    pairB: p.sBk === 1 && even(p.b, p.sBn),
  };
  let pipeline: GPUComputePipeline;
  if (cfg.tiled) {
    const ts: TiledSpec = { dtA: spec.dtA, dtB: spec.dtB, aKc: p.sAk === 1, bKc: p.sBk === 1 };
    const BK = cfg.BK ?? 16;
    pipeline = dev.pipeline(`mmt:${cfg.TM}x${cfg.TN}x${BK}:${ts.dtA}${ts.aKc ? 'k' : 'm'}:${ts.dtB}${ts.bKc ? 'k' : 'n'}`, () => tiledKernelCode(cfg.TM, cfg.TN, BK, ts));
  } else {
    const key = `mm:${cfg.TM}x${cfg.TN}x${cfg.WY}${cfg.bcast ? 'b' : ''}g${cfg.G ?? 0}k${cfg.bcast ? cfg.KM ?? 1 : cfg.KU ?? 8}:${spec.dtA}${spec.pairA ? 'p' : ''}:${spec.dtB}${spec.pairB ? 'p' : ''}`;
    pipeline = dev.pipeline(key, () => kernelCode(cfg, spec));
  }
  const biasBind = p.bias ? bindElements(p.bias, p.bias.offset, p.bias.span) : null;
  for (let z0 = 0; z0 < nb; z0 += zChunk) {
    const zc = Math.min(zChunk, nb - z0);
    for (let m0 = 0; m0 < M; m0 += mChunk) {
      const m1 = Math.min(M, m0 + mChunk);
      for (let n0 = 0; n0 < N; n0 += nChunk) {
        const n1 = Math.min(N, n0 + nChunk);
        // bindings: whole tensors when they fit, else the rows of this chunk
        const aBind = mChunk < M ? bindElements(p.a.t, p.a.off + m0 * p.sAm, span2(m1 - m0, p.sAm, K, p.sAk)) : bindElements(p.a.t, p.a.off, span2(M, p.sAm, K, p.sAk) + bat(p.a));
        const bBind = nChunk < N ? bindElements(p.b.t, p.b.off + n0 * p.sBn, span2(n1 - n0, p.sBn, K, p.sBk)) : bindElements(p.b.t, p.b.off, span2(N, p.sBn, K, p.sBk) + bat(p.b));
        const yBind = bindElements(p.y, (z0 * M + m0) * N, nb === 1 ? (m1 - m0) * N : zc * M * N);
        let rBind: ReturnType<typeof bindElements> | null = null;
        if (p.res) {
          const r = p.res;
          rBind = mChunk < M ? bindElements(r.t, r.off + m0 * r.sm, span2(m1 - m0, r.sm, N, r.sn)) : bindElements(r.t, r.off, span2(M, r.sm, N, r.sn) + bat(r));
        }
        const epi = epilogueArgs(p, biasBind, rBind);
        const meta: number[] = new Array(META_FIXED + 4 * R).fill(0);
        meta[0] = m1; meta[1] = n1; meta[2] = K; meta[3] = m0; meta[4] = n0;
        meta[5] = (p.a.off - aBind.sub) >>> 0; meta[6] = p.sAm; meta[7] = p.sAk;
        meta[8] = (p.b.off - bBind.sub) >>> 0; meta[9] = p.sBk; meta[10] = p.sBn;
        meta[11] = (0 - yBind.sub) >>> 0; meta[12] = N; meta[13] = M; meta[14] = z0; meta[15] = R;
        for (let e = 0; e < 8; e++) meta[EPI + e] = epi.meta[e];
        meta[EPI + 8] = cfg.TM * cfg.TN;
        for (let d = 0; d < R; d++) {
          meta[META_FIXED + d] = batch[d];
          meta[META_FIXED + R + d] = p.a.bs[d];
          meta[META_FIXED + 2 * R + d] = p.b.bs[d];
          meta[META_FIXED + 3 * R + d] = p.res ? p.res.bs[d] : 0;
        }
        const bindings: Binding[] = [aBind.range, bBind.range, ...epi.bindings, yBind.range, dev.meta(meta)];
        dev.dispatch(pipeline, bindings, Math.ceil((n1 - n0) / BN), Math.ceil((m1 - m0) / BM), zc);
      }
    }
  }
}
