// Workgroup-memory tiled matmul for real GPUs: a 16x16 workgroup computes a (16*TM) x (16*TN) output tile;
// per BK slice of K the 256 invocations stage the A and B tiles in workgroup memory with coalesced reads
// (the mapping follows each operand's contiguous dimension), then each invocation accumulates TM x TN outputs
// (rows ty + 16i, columns tx + 16j: conflict-free reads) in registers. Strided operands, f32 or f16 storage,
// the same meta layout, batch handling, chunking and fused epilogue as the register kernel (matmul.ts), which
// dispatches it. Unused on CPU adapters (lavapipe/SwiftShader), where barriers and workgroup memory are slow.
import type { DType } from '../../tensor/dtype.js';
import { EPI, epilogueWgsl, wgslBatchPrologue } from './matmul-wgsl.js';
import { wgslInput, wgslMeta } from './util.js';

export interface TiledSpec {
  dtA: DType;
  dtB: DType;
  /** A contiguous along K (else along M); B contiguous along K (else along N): picks the load mapping. */
  aKc: boolean;
  bKc: boolean;
}

export function tiledKernelCode(TM: number, TN: number, BK: number, s: TiledSpec): string {
  const T = 16, NT = T * T;
  const BM = T * TM, BN = T * TN;
  const LA = (BM * BK) / NT, LB = (BN * BK) / NT;
  const lines: string[] = [];
  const L = (x: string) => lines.push(x);
  wgslBatchPrologue(L);
  L('  let tx = lid.x; let ty = lid.y; let t = li;');
  L(`  let mBase = prm[3u] + wg.y * ${BM}u; let nBase = prm[4u] + wg.x * ${BN}u;`);
  for (let i = 0; i < TM; i++) L(`  ${[...Array(TN).keys()].map((j) => `var c${i}_${j} = 0.0;`).join(' ')}`);
  L(`  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {`);
  for (let r = 0; r < LA; r++) {
    L(`    { let e = t + ${r * NT}u;`);
    L(s.aKc ? `      let kk = e % ${BK}u; let mm = e / ${BK}u;` : `      let mm = e % ${BM}u; let kk = e / ${BM}u;`);
    L('      let k = k0 + kk; let m = min(mBase + mm, mEnd - 1u);');
    L(`      As[kk * ${BM}u + mm] = select(0.0, ld_a(aB + m * sAm + min(k, K - 1u) * sAk), k < K); }`);
  }
  for (let r = 0; r < LB; r++) {
    L(`    { let e = t + ${r * NT}u;`);
    L(s.bKc ? `      let kk = e % ${BK}u; let nn = e / ${BK}u;` : `      let nn = e % ${BN}u; let kk = e / ${BN}u;`);
    L('      let k = k0 + kk; let n = min(nBase + nn, nEnd - 1u);');
    L(`      Bs[kk * ${BN}u + nn] = select(0.0, ld_b(bB + min(k, K - 1u) * sBk + n * sBn), k < K); }`);
  }
  L('    workgroupBarrier();');
  L(`    for (var kk = 0u; kk < ${BK}u; kk++) {`);
  for (let j = 0; j < TN; j++) L(`      let b${j} = Bs[kk * ${BN}u + tx + ${T * j}u];`);
  for (let i = 0; i < TM; i++) {
    L(`      { let a = As[kk * ${BM}u + ty + ${T * i}u];`);
    L(`        ${[...Array(TN).keys()].map((j) => `c${i}_${j} = fma(a, b${j}, c${i}_${j});`).join(' ')} }`);
  }
  L('    }');
  L('    workgroupBarrier();');
  L('  }');
  L(`  let rSm = prm[${EPI + 4}u]; let rSn = prm[${EPI + 5}u];`);
  L(`  var acc = array<f32, ${TM * TN}>(${[...Array(TM).keys()].flatMap((i) => [...Array(TN).keys()].map((j) => `c${i}_${j}`)).join(', ')});`);
  L(`  for (var q = 0u; q < prm[${EPI + 8}u]; q++) {`);
  L(`    let m = mBase + ty + ${T}u * (q / ${TN}u); let n = nBase + tx + ${T}u * (q % ${TN}u);`);
  L('    if (m < mEnd && n < nEnd) { y[prm[11u] + (z * prm[13u] + m) * prm[12u] + n] = epi(acc[q], n, rB + m * rSm + n * rSn); }');
  L('  }');
  return `${wgslInput(0, 'a', s.dtA)}
${wgslInput(1, 'b', s.dtB)}
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${wgslMeta(5)}
${epilogueWgsl(2, EPI)}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(${T}, ${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
${lines.join('\n')}
}`;
}
