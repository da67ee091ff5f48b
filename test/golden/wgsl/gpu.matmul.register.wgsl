// key: mmt:4x4x16:f32k:f32n
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
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let z = wg.z + prm[14u];
  var rem = z; var aB = prm[5u]; var bB = prm[8u]; var rB = prm[19u];
  let R = prm[15u];
  for (var d = i32(R) - 1; d >= 0; d--) {
    let u = u32(d); let s = prm[25u + u]; let i = rem % s; rem = rem / s;
    aB += i * prm[25u + R + u]; bB += i * prm[25u + 2u * R + u]; rB += i * prm[25u + 3u * R + u];
  }
  let mEnd = prm[0u]; let nEnd = prm[1u]; let K = prm[2u];
  let sAm = prm[6u]; let sAk = prm[7u]; let sBk = prm[9u]; let sBn = prm[10u];
  let tx = lid.x; let ty = lid.y; let t = li;
  let mBase = prm[3u] + wg.y * 64u; let nBase = prm[4u] + wg.x * 64u;
  var c0_0 = 0.0; var c0_1 = 0.0; var c0_2 = 0.0; var c0_3 = 0.0;
  var c1_0 = 0.0; var c1_1 = 0.0; var c1_2 = 0.0; var c1_3 = 0.0;
  var c2_0 = 0.0; var c2_1 = 0.0; var c2_2 = 0.0; var c2_3 = 0.0;
  var c3_0 = 0.0; var c3_1 = 0.0; var c3_2 = 0.0; var c3_3 = 0.0;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    { let e = t + 0u;
      let kk = e % 16u; let mm = e / 16u;
      let k = k0 + kk; let m = min(mBase + mm, mEnd - 1u);
      As[kk * 64u + mm] = select(0.0, ld_a(aB + m * sAm + min(k, K - 1u) * sAk), k < K); }
    { let e = t + 256u;
      let kk = e % 16u; let mm = e / 16u;
      let k = k0 + kk; let m = min(mBase + mm, mEnd - 1u);
      As[kk * 64u + mm] = select(0.0, ld_a(aB + m * sAm + min(k, K - 1u) * sAk), k < K); }
    { let e = t + 512u;
      let kk = e % 16u; let mm = e / 16u;
      let k = k0 + kk; let m = min(mBase + mm, mEnd - 1u);
      As[kk * 64u + mm] = select(0.0, ld_a(aB + m * sAm + min(k, K - 1u) * sAk), k < K); }
    { let e = t + 768u;
      let kk = e % 16u; let mm = e / 16u;
      let k = k0 + kk; let m = min(mBase + mm, mEnd - 1u);
      As[kk * 64u + mm] = select(0.0, ld_a(aB + m * sAm + min(k, K - 1u) * sAk), k < K); }
    { let e = t + 0u;
      let nn = e % 64u; let kk = e / 64u;
      let k = k0 + kk; let n = min(nBase + nn, nEnd - 1u);
      Bs[kk * 64u + nn] = select(0.0, ld_b(bB + min(k, K - 1u) * sBk + n * sBn), k < K); }
    { let e = t + 256u;
      let nn = e % 64u; let kk = e / 64u;
      let k = k0 + kk; let n = min(nBase + nn, nEnd - 1u);
      Bs[kk * 64u + nn] = select(0.0, ld_b(bB + min(k, K - 1u) * sBk + n * sBn), k < K); }
    { let e = t + 512u;
      let nn = e % 64u; let kk = e / 64u;
      let k = k0 + kk; let n = min(nBase + nn, nEnd - 1u);
      Bs[kk * 64u + nn] = select(0.0, ld_b(bB + min(k, K - 1u) * sBk + n * sBn), k < K); }
    { let e = t + 768u;
      let nn = e % 64u; let kk = e / 64u;
      let k = k0 + kk; let n = min(nBase + nn, nEnd - 1u);
      Bs[kk * 64u + nn] = select(0.0, ld_b(bB + min(k, K - 1u) * sBk + n * sBn), k < K); }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b0 = Bs[kk * 64u + tx + 0u];
      let b1 = Bs[kk * 64u + tx + 16u];
      let b2 = Bs[kk * 64u + tx + 32u];
      let b3 = Bs[kk * 64u + tx + 48u];
      { let a = As[kk * 64u + ty + 0u];
        c0_0 = fma(a, b0, c0_0); c0_1 = fma(a, b1, c0_1); c0_2 = fma(a, b2, c0_2); c0_3 = fma(a, b3, c0_3); }
      { let a = As[kk * 64u + ty + 16u];
        c1_0 = fma(a, b0, c1_0); c1_1 = fma(a, b1, c1_1); c1_2 = fma(a, b2, c1_2); c1_3 = fma(a, b3, c1_3); }
      { let a = As[kk * 64u + ty + 32u];
        c2_0 = fma(a, b0, c2_0); c2_1 = fma(a, b1, c2_1); c2_2 = fma(a, b2, c2_2); c2_3 = fma(a, b3, c2_3); }
      { let a = As[kk * 64u + ty + 48u];
        c3_0 = fma(a, b0, c3_0); c3_1 = fma(a, b1, c3_1); c3_2 = fma(a, b2, c3_2); c3_3 = fma(a, b3, c3_3); }
    }
    workgroupBarrier();
  }
  let rSm = prm[20u]; let rSn = prm[21u];
  var acc = array<f32, 16>(c0_0, c0_1, c0_2, c0_3, c1_0, c1_1, c1_2, c1_3, c2_0, c2_1, c2_2, c2_3, c3_0, c3_1, c3_2, c3_3);
  for (var q = 0u; q < prm[24u]; q++) {
    let m = mBase + ty + 16u * (q / 4u); let n = nBase + tx + 16u * (q % 4u);
    if (m < mEnd && n < nEnd) { y[prm[11u] + (z * prm[13u] + m) * prm[12u] + n] = epi(acc[q], n, rB + m * rSm + n * rSn); }
  }
}
