// key: mm:16x2x2bg0k1:f32:f32
enable subgroups;
diagnostic(off, subgroup_uniformity);
@group(0) @binding(0) var<storage, read> a: array<f32>;
fn ld_a(i: u32) -> f32 { return f32(a[i]); }

@group(0) @binding(1) var<storage, read> b: array<f32>;
fn ld_b(i: u32) -> f32 { return f32(b[i]); }

@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
@group(0) @binding(2) var<storage, read> bias: array<u32>;
@group(0) @binding(3) var<storage, read> res: array<u32>;
fn erf_(x: f32) -> f32 {
  let s = sign(x);
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - p * exp(-z * z));
}
// A quiet NaN and +Inf at run time (as constant expressions they are shader-creation errors), built from x's bits.
fn nan_(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) | 0x7fc00000u); }
fn inf_(x: f32) -> f32 { return bitcast<f32>((bitcast<u32>(x) & 0u) | 0x7f800000u); }
// torch.pow(a, p) as the CPU reference (Math.pow): a^0 = 1 (even for NaN), 0^p = 0 or +Inf, and a negative base takes
// an integer exponent only (the sign of an odd power); any other exponent gives NaN.
fn pow_(a: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (a == 0.0) { return select(inf_(p), 0.0, p > 0.0); }
  let m = pow(abs(a), p);
  if (a > 0.0) { return m; }
  if (trunc(p) != p) { return nan_(p); }
  return select(m, -m, fract(p * 0.5) != 0.0);
}
fn ldh_bias(i: u32, h: bool) -> f32 { if (h) { return unpack2x16float(bias[i >> 1u])[i & 1u]; } return bitcast<f32>(bias[i]); }
fn ldh_res(i: u32, h: bool) -> f32 { if (h) { return unpack2x16float(res[i >> 1u])[i & 1u]; } return bitcast<f32>(res[i]); }
fn epi(acc: f32, n: u32, rIdx: u32) -> f32 {
  let f = prm[22u];
  var x = acc * bitcast<f32>(prm[16u]);
  if ((f & 1u) != 0u) { x += ldh_bias(prm[17u] + n * prm[18u], (f & 2u) != 0u); }
  switch prm[23u] {
    case 1u: { x = max(x, 0.0); }
    case 2u: { x = 0.5 * x * (1.0 + erf_(x * 0.70710678118654752)); }
    case 3u: { x = x / (1.0 + exp(-x)); }
    default: {}
  }
  if ((f & 4u) != 0u) { x += ldh_res(rIdx, (f & 8u) != 0u); }
  return x;
}
@compute @workgroup_size(8, 2)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wg.z + prm[14u];
  var rem = z; var aB = prm[5u]; var bB = prm[8u]; var rB = prm[19u];
  let R = prm[15u];
  for (var d = i32(R) - 1; d >= 0; d--) {
    let u = u32(d); let s = prm[25u + u]; let i = rem % s; rem = rem / s;
    aB += i * prm[25u + R + u]; bB += i * prm[25u + 2u * R + u]; rB += i * prm[25u + 3u * R + u];
  }
  let mEnd = prm[0u]; let nEnd = prm[1u]; let K = prm[2u];
  let sAm = prm[6u]; let sAk = prm[7u]; let sBk = prm[9u]; let sBn = prm[10u];
  let lx = lid.x;
  let ty = wg.y; let tx = wg.x;
  let mt = prm[3u] + ty * 32u + lid.y * 16u;
  let nt = prm[4u] + tx * 16u + lx;
  let ar0 = aB + min(mt + 0u, mEnd - 1u) * sAm;
  let ar1 = aB + min(mt + 1u, mEnd - 1u) * sAm;
  let ar2 = aB + min(mt + 2u, mEnd - 1u) * sAm;
  let ar3 = aB + min(mt + 3u, mEnd - 1u) * sAm;
  let ar4 = aB + min(mt + 4u, mEnd - 1u) * sAm;
  let ar5 = aB + min(mt + 5u, mEnd - 1u) * sAm;
  let ar6 = aB + min(mt + 6u, mEnd - 1u) * sAm;
  let ar7 = aB + min(mt + 7u, mEnd - 1u) * sAm;
  let ar8 = aB + min(mt + 8u, mEnd - 1u) * sAm;
  let ar9 = aB + min(mt + 9u, mEnd - 1u) * sAm;
  let ar10 = aB + min(mt + 10u, mEnd - 1u) * sAm;
  let ar11 = aB + min(mt + 11u, mEnd - 1u) * sAm;
  let ar12 = aB + min(mt + 12u, mEnd - 1u) * sAm;
  let ar13 = aB + min(mt + 13u, mEnd - 1u) * sAm;
  let ar14 = aB + min(mt + 14u, mEnd - 1u) * sAm;
  let ar15 = aB + min(mt + 15u, mEnd - 1u) * sAm;
  let bc0 = bB + min(nt + 0u, nEnd - 1u) * sBn;
  let bc1 = bB + min(nt + 8u, nEnd - 1u) * sBn;
  var c0_0 = 0.0; var c0_1 = 0.0;
  var c1_0 = 0.0; var c1_1 = 0.0;
  var c2_0 = 0.0; var c2_1 = 0.0;
  var c3_0 = 0.0; var c3_1 = 0.0;
  var c4_0 = 0.0; var c4_1 = 0.0;
  var c5_0 = 0.0; var c5_1 = 0.0;
  var c6_0 = 0.0; var c6_1 = 0.0;
  var c7_0 = 0.0; var c7_1 = 0.0;
  var c8_0 = 0.0; var c8_1 = 0.0;
  var c9_0 = 0.0; var c9_1 = 0.0;
  var c10_0 = 0.0; var c10_1 = 0.0;
  var c11_0 = 0.0; var c11_1 = 0.0;
  var c12_0 = 0.0; var c12_1 = 0.0;
  var c13_0 = 0.0; var c13_1 = 0.0;
  var c14_0 = 0.0; var c14_1 = 0.0;
  var c15_0 = 0.0; var c15_1 = 0.0;
  let Km = K - K % 8u;
  for (var k = 0u; k < Km; k += 8u) {
    let av0_0 = ld_a(ar0 + (k + 0u + lx) * sAk);
    let av1_0 = ld_a(ar1 + (k + 0u + lx) * sAk);
    let av2_0 = ld_a(ar2 + (k + 0u + lx) * sAk);
    let av3_0 = ld_a(ar3 + (k + 0u + lx) * sAk);
    let av4_0 = ld_a(ar4 + (k + 0u + lx) * sAk);
    let av5_0 = ld_a(ar5 + (k + 0u + lx) * sAk);
    let av6_0 = ld_a(ar6 + (k + 0u + lx) * sAk);
    let av7_0 = ld_a(ar7 + (k + 0u + lx) * sAk);
    let av8_0 = ld_a(ar8 + (k + 0u + lx) * sAk);
    let av9_0 = ld_a(ar9 + (k + 0u + lx) * sAk);
    let av10_0 = ld_a(ar10 + (k + 0u + lx) * sAk);
    let av11_0 = ld_a(ar11 + (k + 0u + lx) * sAk);
    let av12_0 = ld_a(ar12 + (k + 0u + lx) * sAk);
    let av13_0 = ld_a(ar13 + (k + 0u + lx) * sAk);
    let av14_0 = ld_a(ar14 + (k + 0u + lx) * sAk);
    let av15_0 = ld_a(ar15 + (k + 0u + lx) * sAk);
    let b0_0 = ld_b(bc0 + (k + 0u) * sBk);
    let b0_1 = ld_b(bc1 + (k + 0u) * sBk);
    { let a = subgroupBroadcast(av0_0, 0u);
      c0_0 = fma(a, b0_0, c0_0);
      c0_1 = fma(a, b0_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 0u);
      c1_0 = fma(a, b0_0, c1_0);
      c1_1 = fma(a, b0_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 0u);
      c2_0 = fma(a, b0_0, c2_0);
      c2_1 = fma(a, b0_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 0u);
      c3_0 = fma(a, b0_0, c3_0);
      c3_1 = fma(a, b0_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 0u);
      c4_0 = fma(a, b0_0, c4_0);
      c4_1 = fma(a, b0_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 0u);
      c5_0 = fma(a, b0_0, c5_0);
      c5_1 = fma(a, b0_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 0u);
      c6_0 = fma(a, b0_0, c6_0);
      c6_1 = fma(a, b0_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 0u);
      c7_0 = fma(a, b0_0, c7_0);
      c7_1 = fma(a, b0_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 0u);
      c8_0 = fma(a, b0_0, c8_0);
      c8_1 = fma(a, b0_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 0u);
      c9_0 = fma(a, b0_0, c9_0);
      c9_1 = fma(a, b0_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 0u);
      c10_0 = fma(a, b0_0, c10_0);
      c10_1 = fma(a, b0_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 0u);
      c11_0 = fma(a, b0_0, c11_0);
      c11_1 = fma(a, b0_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 0u);
      c12_0 = fma(a, b0_0, c12_0);
      c12_1 = fma(a, b0_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 0u);
      c13_0 = fma(a, b0_0, c13_0);
      c13_1 = fma(a, b0_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 0u);
      c14_0 = fma(a, b0_0, c14_0);
      c14_1 = fma(a, b0_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 0u);
      c15_0 = fma(a, b0_0, c15_0);
      c15_1 = fma(a, b0_1, c15_1);
    }
    let b1_0 = ld_b(bc0 + (k + 1u) * sBk);
    let b1_1 = ld_b(bc1 + (k + 1u) * sBk);
    { let a = subgroupBroadcast(av0_0, 1u);
      c0_0 = fma(a, b1_0, c0_0);
      c0_1 = fma(a, b1_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 1u);
      c1_0 = fma(a, b1_0, c1_0);
      c1_1 = fma(a, b1_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 1u);
      c2_0 = fma(a, b1_0, c2_0);
      c2_1 = fma(a, b1_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 1u);
      c3_0 = fma(a, b1_0, c3_0);
      c3_1 = fma(a, b1_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 1u);
      c4_0 = fma(a, b1_0, c4_0);
      c4_1 = fma(a, b1_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 1u);
      c5_0 = fma(a, b1_0, c5_0);
      c5_1 = fma(a, b1_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 1u);
      c6_0 = fma(a, b1_0, c6_0);
      c6_1 = fma(a, b1_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 1u);
      c7_0 = fma(a, b1_0, c7_0);
      c7_1 = fma(a, b1_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 1u);
      c8_0 = fma(a, b1_0, c8_0);
      c8_1 = fma(a, b1_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 1u);
      c9_0 = fma(a, b1_0, c9_0);
      c9_1 = fma(a, b1_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 1u);
      c10_0 = fma(a, b1_0, c10_0);
      c10_1 = fma(a, b1_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 1u);
      c11_0 = fma(a, b1_0, c11_0);
      c11_1 = fma(a, b1_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 1u);
      c12_0 = fma(a, b1_0, c12_0);
      c12_1 = fma(a, b1_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 1u);
      c13_0 = fma(a, b1_0, c13_0);
      c13_1 = fma(a, b1_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 1u);
      c14_0 = fma(a, b1_0, c14_0);
      c14_1 = fma(a, b1_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 1u);
      c15_0 = fma(a, b1_0, c15_0);
      c15_1 = fma(a, b1_1, c15_1);
    }
    let b2_0 = ld_b(bc0 + (k + 2u) * sBk);
    let b2_1 = ld_b(bc1 + (k + 2u) * sBk);
    { let a = subgroupBroadcast(av0_0, 2u);
      c0_0 = fma(a, b2_0, c0_0);
      c0_1 = fma(a, b2_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 2u);
      c1_0 = fma(a, b2_0, c1_0);
      c1_1 = fma(a, b2_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 2u);
      c2_0 = fma(a, b2_0, c2_0);
      c2_1 = fma(a, b2_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 2u);
      c3_0 = fma(a, b2_0, c3_0);
      c3_1 = fma(a, b2_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 2u);
      c4_0 = fma(a, b2_0, c4_0);
      c4_1 = fma(a, b2_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 2u);
      c5_0 = fma(a, b2_0, c5_0);
      c5_1 = fma(a, b2_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 2u);
      c6_0 = fma(a, b2_0, c6_0);
      c6_1 = fma(a, b2_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 2u);
      c7_0 = fma(a, b2_0, c7_0);
      c7_1 = fma(a, b2_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 2u);
      c8_0 = fma(a, b2_0, c8_0);
      c8_1 = fma(a, b2_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 2u);
      c9_0 = fma(a, b2_0, c9_0);
      c9_1 = fma(a, b2_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 2u);
      c10_0 = fma(a, b2_0, c10_0);
      c10_1 = fma(a, b2_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 2u);
      c11_0 = fma(a, b2_0, c11_0);
      c11_1 = fma(a, b2_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 2u);
      c12_0 = fma(a, b2_0, c12_0);
      c12_1 = fma(a, b2_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 2u);
      c13_0 = fma(a, b2_0, c13_0);
      c13_1 = fma(a, b2_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 2u);
      c14_0 = fma(a, b2_0, c14_0);
      c14_1 = fma(a, b2_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 2u);
      c15_0 = fma(a, b2_0, c15_0);
      c15_1 = fma(a, b2_1, c15_1);
    }
    let b3_0 = ld_b(bc0 + (k + 3u) * sBk);
    let b3_1 = ld_b(bc1 + (k + 3u) * sBk);
    { let a = subgroupBroadcast(av0_0, 3u);
      c0_0 = fma(a, b3_0, c0_0);
      c0_1 = fma(a, b3_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 3u);
      c1_0 = fma(a, b3_0, c1_0);
      c1_1 = fma(a, b3_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 3u);
      c2_0 = fma(a, b3_0, c2_0);
      c2_1 = fma(a, b3_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 3u);
      c3_0 = fma(a, b3_0, c3_0);
      c3_1 = fma(a, b3_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 3u);
      c4_0 = fma(a, b3_0, c4_0);
      c4_1 = fma(a, b3_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 3u);
      c5_0 = fma(a, b3_0, c5_0);
      c5_1 = fma(a, b3_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 3u);
      c6_0 = fma(a, b3_0, c6_0);
      c6_1 = fma(a, b3_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 3u);
      c7_0 = fma(a, b3_0, c7_0);
      c7_1 = fma(a, b3_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 3u);
      c8_0 = fma(a, b3_0, c8_0);
      c8_1 = fma(a, b3_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 3u);
      c9_0 = fma(a, b3_0, c9_0);
      c9_1 = fma(a, b3_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 3u);
      c10_0 = fma(a, b3_0, c10_0);
      c10_1 = fma(a, b3_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 3u);
      c11_0 = fma(a, b3_0, c11_0);
      c11_1 = fma(a, b3_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 3u);
      c12_0 = fma(a, b3_0, c12_0);
      c12_1 = fma(a, b3_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 3u);
      c13_0 = fma(a, b3_0, c13_0);
      c13_1 = fma(a, b3_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 3u);
      c14_0 = fma(a, b3_0, c14_0);
      c14_1 = fma(a, b3_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 3u);
      c15_0 = fma(a, b3_0, c15_0);
      c15_1 = fma(a, b3_1, c15_1);
    }
    let b4_0 = ld_b(bc0 + (k + 4u) * sBk);
    let b4_1 = ld_b(bc1 + (k + 4u) * sBk);
    { let a = subgroupBroadcast(av0_0, 4u);
      c0_0 = fma(a, b4_0, c0_0);
      c0_1 = fma(a, b4_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 4u);
      c1_0 = fma(a, b4_0, c1_0);
      c1_1 = fma(a, b4_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 4u);
      c2_0 = fma(a, b4_0, c2_0);
      c2_1 = fma(a, b4_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 4u);
      c3_0 = fma(a, b4_0, c3_0);
      c3_1 = fma(a, b4_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 4u);
      c4_0 = fma(a, b4_0, c4_0);
      c4_1 = fma(a, b4_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 4u);
      c5_0 = fma(a, b4_0, c5_0);
      c5_1 = fma(a, b4_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 4u);
      c6_0 = fma(a, b4_0, c6_0);
      c6_1 = fma(a, b4_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 4u);
      c7_0 = fma(a, b4_0, c7_0);
      c7_1 = fma(a, b4_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 4u);
      c8_0 = fma(a, b4_0, c8_0);
      c8_1 = fma(a, b4_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 4u);
      c9_0 = fma(a, b4_0, c9_0);
      c9_1 = fma(a, b4_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 4u);
      c10_0 = fma(a, b4_0, c10_0);
      c10_1 = fma(a, b4_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 4u);
      c11_0 = fma(a, b4_0, c11_0);
      c11_1 = fma(a, b4_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 4u);
      c12_0 = fma(a, b4_0, c12_0);
      c12_1 = fma(a, b4_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 4u);
      c13_0 = fma(a, b4_0, c13_0);
      c13_1 = fma(a, b4_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 4u);
      c14_0 = fma(a, b4_0, c14_0);
      c14_1 = fma(a, b4_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 4u);
      c15_0 = fma(a, b4_0, c15_0);
      c15_1 = fma(a, b4_1, c15_1);
    }
    let b5_0 = ld_b(bc0 + (k + 5u) * sBk);
    let b5_1 = ld_b(bc1 + (k + 5u) * sBk);
    { let a = subgroupBroadcast(av0_0, 5u);
      c0_0 = fma(a, b5_0, c0_0);
      c0_1 = fma(a, b5_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 5u);
      c1_0 = fma(a, b5_0, c1_0);
      c1_1 = fma(a, b5_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 5u);
      c2_0 = fma(a, b5_0, c2_0);
      c2_1 = fma(a, b5_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 5u);
      c3_0 = fma(a, b5_0, c3_0);
      c3_1 = fma(a, b5_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 5u);
      c4_0 = fma(a, b5_0, c4_0);
      c4_1 = fma(a, b5_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 5u);
      c5_0 = fma(a, b5_0, c5_0);
      c5_1 = fma(a, b5_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 5u);
      c6_0 = fma(a, b5_0, c6_0);
      c6_1 = fma(a, b5_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 5u);
      c7_0 = fma(a, b5_0, c7_0);
      c7_1 = fma(a, b5_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 5u);
      c8_0 = fma(a, b5_0, c8_0);
      c8_1 = fma(a, b5_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 5u);
      c9_0 = fma(a, b5_0, c9_0);
      c9_1 = fma(a, b5_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 5u);
      c10_0 = fma(a, b5_0, c10_0);
      c10_1 = fma(a, b5_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 5u);
      c11_0 = fma(a, b5_0, c11_0);
      c11_1 = fma(a, b5_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 5u);
      c12_0 = fma(a, b5_0, c12_0);
      c12_1 = fma(a, b5_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 5u);
      c13_0 = fma(a, b5_0, c13_0);
      c13_1 = fma(a, b5_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 5u);
      c14_0 = fma(a, b5_0, c14_0);
      c14_1 = fma(a, b5_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 5u);
      c15_0 = fma(a, b5_0, c15_0);
      c15_1 = fma(a, b5_1, c15_1);
    }
    let b6_0 = ld_b(bc0 + (k + 6u) * sBk);
    let b6_1 = ld_b(bc1 + (k + 6u) * sBk);
    { let a = subgroupBroadcast(av0_0, 6u);
      c0_0 = fma(a, b6_0, c0_0);
      c0_1 = fma(a, b6_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 6u);
      c1_0 = fma(a, b6_0, c1_0);
      c1_1 = fma(a, b6_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 6u);
      c2_0 = fma(a, b6_0, c2_0);
      c2_1 = fma(a, b6_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 6u);
      c3_0 = fma(a, b6_0, c3_0);
      c3_1 = fma(a, b6_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 6u);
      c4_0 = fma(a, b6_0, c4_0);
      c4_1 = fma(a, b6_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 6u);
      c5_0 = fma(a, b6_0, c5_0);
      c5_1 = fma(a, b6_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 6u);
      c6_0 = fma(a, b6_0, c6_0);
      c6_1 = fma(a, b6_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 6u);
      c7_0 = fma(a, b6_0, c7_0);
      c7_1 = fma(a, b6_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 6u);
      c8_0 = fma(a, b6_0, c8_0);
      c8_1 = fma(a, b6_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 6u);
      c9_0 = fma(a, b6_0, c9_0);
      c9_1 = fma(a, b6_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 6u);
      c10_0 = fma(a, b6_0, c10_0);
      c10_1 = fma(a, b6_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 6u);
      c11_0 = fma(a, b6_0, c11_0);
      c11_1 = fma(a, b6_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 6u);
      c12_0 = fma(a, b6_0, c12_0);
      c12_1 = fma(a, b6_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 6u);
      c13_0 = fma(a, b6_0, c13_0);
      c13_1 = fma(a, b6_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 6u);
      c14_0 = fma(a, b6_0, c14_0);
      c14_1 = fma(a, b6_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 6u);
      c15_0 = fma(a, b6_0, c15_0);
      c15_1 = fma(a, b6_1, c15_1);
    }
    let b7_0 = ld_b(bc0 + (k + 7u) * sBk);
    let b7_1 = ld_b(bc1 + (k + 7u) * sBk);
    { let a = subgroupBroadcast(av0_0, 7u);
      c0_0 = fma(a, b7_0, c0_0);
      c0_1 = fma(a, b7_1, c0_1);
    }
    { let a = subgroupBroadcast(av1_0, 7u);
      c1_0 = fma(a, b7_0, c1_0);
      c1_1 = fma(a, b7_1, c1_1);
    }
    { let a = subgroupBroadcast(av2_0, 7u);
      c2_0 = fma(a, b7_0, c2_0);
      c2_1 = fma(a, b7_1, c2_1);
    }
    { let a = subgroupBroadcast(av3_0, 7u);
      c3_0 = fma(a, b7_0, c3_0);
      c3_1 = fma(a, b7_1, c3_1);
    }
    { let a = subgroupBroadcast(av4_0, 7u);
      c4_0 = fma(a, b7_0, c4_0);
      c4_1 = fma(a, b7_1, c4_1);
    }
    { let a = subgroupBroadcast(av5_0, 7u);
      c5_0 = fma(a, b7_0, c5_0);
      c5_1 = fma(a, b7_1, c5_1);
    }
    { let a = subgroupBroadcast(av6_0, 7u);
      c6_0 = fma(a, b7_0, c6_0);
      c6_1 = fma(a, b7_1, c6_1);
    }
    { let a = subgroupBroadcast(av7_0, 7u);
      c7_0 = fma(a, b7_0, c7_0);
      c7_1 = fma(a, b7_1, c7_1);
    }
    { let a = subgroupBroadcast(av8_0, 7u);
      c8_0 = fma(a, b7_0, c8_0);
      c8_1 = fma(a, b7_1, c8_1);
    }
    { let a = subgroupBroadcast(av9_0, 7u);
      c9_0 = fma(a, b7_0, c9_0);
      c9_1 = fma(a, b7_1, c9_1);
    }
    { let a = subgroupBroadcast(av10_0, 7u);
      c10_0 = fma(a, b7_0, c10_0);
      c10_1 = fma(a, b7_1, c10_1);
    }
    { let a = subgroupBroadcast(av11_0, 7u);
      c11_0 = fma(a, b7_0, c11_0);
      c11_1 = fma(a, b7_1, c11_1);
    }
    { let a = subgroupBroadcast(av12_0, 7u);
      c12_0 = fma(a, b7_0, c12_0);
      c12_1 = fma(a, b7_1, c12_1);
    }
    { let a = subgroupBroadcast(av13_0, 7u);
      c13_0 = fma(a, b7_0, c13_0);
      c13_1 = fma(a, b7_1, c13_1);
    }
    { let a = subgroupBroadcast(av14_0, 7u);
      c14_0 = fma(a, b7_0, c14_0);
      c14_1 = fma(a, b7_1, c14_1);
    }
    { let a = subgroupBroadcast(av15_0, 7u);
      c15_0 = fma(a, b7_0, c15_0);
      c15_1 = fma(a, b7_1, c15_1);
    }
  }
  for (var k = Km; k < K; k++) {
    let b0 = ld_b(bc0 + k * sBk);
    let b1 = ld_b(bc1 + k * sBk);
    { let a = ld_a(ar0 + k * sAk);
      c0_0 = fma(a, b0, c0_0);
      c0_1 = fma(a, b1, c0_1);
    }
    { let a = ld_a(ar1 + k * sAk);
      c1_0 = fma(a, b0, c1_0);
      c1_1 = fma(a, b1, c1_1);
    }
    { let a = ld_a(ar2 + k * sAk);
      c2_0 = fma(a, b0, c2_0);
      c2_1 = fma(a, b1, c2_1);
    }
    { let a = ld_a(ar3 + k * sAk);
      c3_0 = fma(a, b0, c3_0);
      c3_1 = fma(a, b1, c3_1);
    }
    { let a = ld_a(ar4 + k * sAk);
      c4_0 = fma(a, b0, c4_0);
      c4_1 = fma(a, b1, c4_1);
    }
    { let a = ld_a(ar5 + k * sAk);
      c5_0 = fma(a, b0, c5_0);
      c5_1 = fma(a, b1, c5_1);
    }
    { let a = ld_a(ar6 + k * sAk);
      c6_0 = fma(a, b0, c6_0);
      c6_1 = fma(a, b1, c6_1);
    }
    { let a = ld_a(ar7 + k * sAk);
      c7_0 = fma(a, b0, c7_0);
      c7_1 = fma(a, b1, c7_1);
    }
    { let a = ld_a(ar8 + k * sAk);
      c8_0 = fma(a, b0, c8_0);
      c8_1 = fma(a, b1, c8_1);
    }
    { let a = ld_a(ar9 + k * sAk);
      c9_0 = fma(a, b0, c9_0);
      c9_1 = fma(a, b1, c9_1);
    }
    { let a = ld_a(ar10 + k * sAk);
      c10_0 = fma(a, b0, c10_0);
      c10_1 = fma(a, b1, c10_1);
    }
    { let a = ld_a(ar11 + k * sAk);
      c11_0 = fma(a, b0, c11_0);
      c11_1 = fma(a, b1, c11_1);
    }
    { let a = ld_a(ar12 + k * sAk);
      c12_0 = fma(a, b0, c12_0);
      c12_1 = fma(a, b1, c12_1);
    }
    { let a = ld_a(ar13 + k * sAk);
      c13_0 = fma(a, b0, c13_0);
      c13_1 = fma(a, b1, c13_1);
    }
    { let a = ld_a(ar14 + k * sAk);
      c14_0 = fma(a, b0, c14_0);
      c14_1 = fma(a, b1, c14_1);
    }
    { let a = ld_a(ar15 + k * sAk);
      c15_0 = fma(a, b0, c15_0);
      c15_1 = fma(a, b1, c15_1);
    }
  }
  let rSm = prm[20u]; let rSn = prm[21u];
  var acc = array<f32, 32>(c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1, c6_0, c6_1, c7_0, c7_1, c8_0, c8_1, c9_0, c9_1, c10_0, c10_1, c11_0, c11_1, c12_0, c12_1, c13_0, c13_1, c14_0, c14_1, c15_0, c15_1);
  for (var t = 0u; t < prm[24u]; t++) {
    let m = mt + t / 2u; let n = nt + (t % 2u) * 8u;
    if (m < mEnd && n < nEnd) { y[prm[11u] + (z * prm[13u] + m) * prm[12u] + n] = epi(acc[t], n, rB + m * rSm + n * rSn); }
  }
}
