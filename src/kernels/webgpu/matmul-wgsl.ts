// WGSL pieces shared by the matmul kernels (register-blocked matmul.ts, tiled matmul-tiled.ts, GEMV): the
// meta layout's fixed part, the batch prologue and the fused epilogue. Kept apart so the kernels that share
// them do not import each other.
import { WGSL_ERF } from '../elementwise-defs.js';

// Meta layout of the register kernel: 0 mEnd, 1 nEnd, 2 K, 3 m0, 4 n0, 5 a offset, 6 sAm, 7 sAk, 8 b offset,
// 9 sBk, 10 sBn, 11 y offset, 12 N, 13 M, 14 first batch, 15 batch rank R, 16..23 epilogue block, then batch
// shape [R], a/b/residual batch strides [R] each. Word 24: outputs per thread (TM*TN).
export const EPI = 16;
export const META_FIXED = 25;

/** WGSL lines shared by the matmul kernels: batch offsets of A, B and the residual (runtime rank), sizes, strides. */
export function wgslBatchPrologue(L: (line: string) => void): void {
  L('  let z = wg.z + prm[14u];');
  L(`  var rem = z; var aB = prm[5u]; var bB = prm[8u]; var rB = prm[${EPI + 3}u];`);
  L('  let R = prm[15u];');
  L('  for (var d = i32(R) - 1; d >= 0; d--) {');
  L(`    let u = u32(d); let s = prm[${META_FIXED}u + u]; let i = rem % s; rem = rem / s;`);
  L(`    aB += i * prm[${META_FIXED}u + R + u]; bB += i * prm[${META_FIXED}u + 2u * R + u]; rB += i * prm[${META_FIXED}u + 3u * R + u];`);
  L('  }');
  L('  let mEnd = prm[0u]; let nEnd = prm[1u]; let K = prm[2u];');
  L('  let sAm = prm[6u]; let sAk = prm[7u]; let sBk = prm[9u]; let sBn = prm[10u];');
}

/**
 * The fused epilogue shared by the matmul kernels, selected at run time (uniform branches) so one pipeline
 * serves every bias/activation/residual combination: bindings `bias` and `res` (u32 words, f32 or packed f16;
 * a dummy buffer when absent) and `fn epi(acc, n, rIdx) -> f32`. Meta words from `E`: alpha, bias offset,
 * bias stride, residual offset, residual row/col strides, flags (1 bias, 2 bias f16, 4 residual,
 * 8 residual f16), activation (0 none, 1 relu, 2 gelu, 3 silu).
 */
export function epilogueWgsl(biasBinding: number, E: number): string {
  return `@group(0) @binding(${biasBinding}) var<storage, read> bias: array<u32>;
@group(0) @binding(${biasBinding + 1}) var<storage, read> res: array<u32>;
${WGSL_ERF}
fn ldh_bias(i: u32, h: bool) -> f32 { if (h) { return unpack2x16float(bias[i >> 1u])[i & 1u]; } return bitcast<f32>(bias[i]); }
fn ldh_res(i: u32, h: bool) -> f32 { if (h) { return unpack2x16float(res[i >> 1u])[i & 1u]; } return bitcast<f32>(res[i]); }
fn epi(acc: f32, n: u32, rIdx: u32) -> f32 {
  let f = prm[${E + 6}u];
  var x = acc * bitcast<f32>(prm[${E}u]);
  if ((f & 1u) != 0u) { x += ldh_bias(prm[${E + 1}u] + n * prm[${E + 2}u], (f & 2u) != 0u); }
  switch prm[${E + 7}u] {
    case 1u: { x = max(x, 0.0); }
    case 2u: { x = 0.5 * x * (1.0 + erf_(x * 0.70710678118654752)); }
    case 3u: { x = x / (1.0 + exp(-x)); }
    default: {}
  }
  if ((f & 4u) != 0u) { x += ldh_res(rIdx, (f & 8u) != 0u); }
  return x;
}`;
}
