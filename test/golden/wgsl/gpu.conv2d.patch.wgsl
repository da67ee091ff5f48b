// key: conv2d:{"dx":"f32","dw":"f32","db":"f32","sg":0,"co":8,"tpl":4,"wg":64}
@group(0) @binding(0) var<storage, read> x: array<f32>;
fn ld_x(i: u32) -> f32 { return f32(x[i]); }
@group(0) @binding(1) var<storage, read> w: array<f32>;
fn ld_w(i: u32) -> f32 { return f32(w[i]); }
@group(0) @binding(2) var<storage, read> bias: array<f32>;
fn ld_bias(i: u32) -> f32 { return f32(bias[i]); }
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z; let co0 = wid.y * 8u;
  let H = i32(prm[2]); let Wd = i32(prm[3]); let Cout = prm[4]; let Ho = prm[5]; let Wo = prm[6];
  let nb0 = (wid.x * 64u + lid) * 4u; let N = Ho * Wo;
  let sxc = prm[15]; let sxh = prm[16]; let sxw = prm[17];
  let wo = prm[18]; let swo = prm[19]; let swi = prm[20]; let swh = prm[21]; let sww = prm[22];
  let n0 = min(nb0 + 0u, N - 1u);
  let ih0 = i32(n0 / Wo) * i32(prm[9]) - i32(prm[11]); let iw0 = i32(n0 % Wo) * i32(prm[10]) - i32(prm[12]);
  let n1 = min(nb0 + 1u, N - 1u);
  let ih1 = i32(n1 / Wo) * i32(prm[9]) - i32(prm[11]); let iw1 = i32(n1 % Wo) * i32(prm[10]) - i32(prm[12]);
  let n2 = min(nb0 + 2u, N - 1u);
  let ih2 = i32(n2 / Wo) * i32(prm[9]) - i32(prm[11]); let iw2 = i32(n2 % Wo) * i32(prm[10]) - i32(prm[12]);
  let n3 = min(nb0 + 3u, N - 1u);
  let ih3 = i32(n3 / Wo) * i32(prm[9]) - i32(prm[11]); let iw3 = i32(n3 % Wo) * i32(prm[10]) - i32(prm[12]);
  var a0_0 = 0.0;
  var a0_1 = 0.0;
  var a0_2 = 0.0;
  var a0_3 = 0.0;
  var a1_0 = 0.0;
  var a1_1 = 0.0;
  var a1_2 = 0.0;
  var a1_3 = 0.0;
  var a2_0 = 0.0;
  var a2_1 = 0.0;
  var a2_2 = 0.0;
  var a2_3 = 0.0;
  var a3_0 = 0.0;
  var a3_1 = 0.0;
  var a3_2 = 0.0;
  var a3_3 = 0.0;
  var a4_0 = 0.0;
  var a4_1 = 0.0;
  var a4_2 = 0.0;
  var a4_3 = 0.0;
  var a5_0 = 0.0;
  var a5_1 = 0.0;
  var a5_2 = 0.0;
  var a5_3 = 0.0;
  var a6_0 = 0.0;
  var a6_1 = 0.0;
  var a6_2 = 0.0;
  var a6_3 = 0.0;
  var a7_0 = 0.0;
  var a7_1 = 0.0;
  var a7_2 = 0.0;
  var a7_3 = 0.0;
  let wr0 = wo + min(co0 + 0u, Cout - 1u) * swo;
  let wr1 = wo + min(co0 + 1u, Cout - 1u) * swo;
  let wr2 = wo + min(co0 + 2u, Cout - 1u) * swo;
  let wr3 = wo + min(co0 + 3u, Cout - 1u) * swo;
  let wr4 = wo + min(co0 + 4u, Cout - 1u) * swo;
  let wr5 = wo + min(co0 + 5u, Cout - 1u) * swo;
  let wr6 = wo + min(co0 + 6u, Cout - 1u) * swo;
  let wr7 = wo + min(co0 + 7u, Cout - 1u) * swo;
  for (var ci = 0u; ci < prm[1]; ci++) {
    let xb = prm[13] + b * prm[14] + ci * sxc;
    for (var i = 0; i < i32(prm[7]); i++) {
      for (var j = 0; j < i32(prm[8]); j++) {
        let r0 = ih0 + i; let q0 = iw0 + j;
        let x0 = select(0.0, ld_x(xb + u32(clamp(r0, 0, H - 1)) * sxh + u32(clamp(q0, 0, Wd - 1)) * sxw), r0 >= 0 && r0 < H && q0 >= 0 && q0 < Wd);
        let r1 = ih1 + i; let q1 = iw1 + j;
        let x1 = select(0.0, ld_x(xb + u32(clamp(r1, 0, H - 1)) * sxh + u32(clamp(q1, 0, Wd - 1)) * sxw), r1 >= 0 && r1 < H && q1 >= 0 && q1 < Wd);
        let r2 = ih2 + i; let q2 = iw2 + j;
        let x2 = select(0.0, ld_x(xb + u32(clamp(r2, 0, H - 1)) * sxh + u32(clamp(q2, 0, Wd - 1)) * sxw), r2 >= 0 && r2 < H && q2 >= 0 && q2 < Wd);
        let r3 = ih3 + i; let q3 = iw3 + j;
        let x3 = select(0.0, ld_x(xb + u32(clamp(r3, 0, H - 1)) * sxh + u32(clamp(q3, 0, Wd - 1)) * sxw), r3 >= 0 && r3 < H && q3 >= 0 && q3 < Wd);
        let wt = ci * swi + u32(i) * swh + u32(j) * sww;
        let wv0 = ld_w(wr0 + wt);
        let wv1 = ld_w(wr1 + wt);
        let wv2 = ld_w(wr2 + wt);
        let wv3 = ld_w(wr3 + wt);
        let wv4 = ld_w(wr4 + wt);
        let wv5 = ld_w(wr5 + wt);
        let wv6 = ld_w(wr6 + wt);
        let wv7 = ld_w(wr7 + wt);
        a0_0 += wv0 * x0;
        a0_1 += wv0 * x1;
        a0_2 += wv0 * x2;
        a0_3 += wv0 * x3;
        a1_0 += wv1 * x0;
        a1_1 += wv1 * x1;
        a1_2 += wv1 * x2;
        a1_3 += wv1 * x3;
        a2_0 += wv2 * x0;
        a2_1 += wv2 * x1;
        a2_2 += wv2 * x2;
        a2_3 += wv2 * x3;
        a3_0 += wv3 * x0;
        a3_1 += wv3 * x1;
        a3_2 += wv3 * x2;
        a3_3 += wv3 * x3;
        a4_0 += wv4 * x0;
        a4_1 += wv4 * x1;
        a4_2 += wv4 * x2;
        a4_3 += wv4 * x3;
        a5_0 += wv5 * x0;
        a5_1 += wv5 * x1;
        a5_2 += wv5 * x2;
        a5_3 += wv5 * x3;
        a6_0 += wv6 * x0;
        a6_1 += wv6 * x1;
        a6_2 += wv6 * x2;
        a6_3 += wv6 * x3;
        a7_0 += wv7 * x0;
        a7_1 += wv7 * x1;
        a7_2 += wv7 * x2;
        a7_3 += wv7 * x3;
      }
    }
  }
  var oa: array<f32, 32>;
  oa[0] = a0_0;
  oa[1] = a0_1;
  oa[2] = a0_2;
  oa[3] = a0_3;
  oa[4] = a1_0;
  oa[5] = a1_1;
  oa[6] = a1_2;
  oa[7] = a1_3;
  oa[8] = a2_0;
  oa[9] = a2_1;
  oa[10] = a2_2;
  oa[11] = a2_3;
  oa[12] = a3_0;
  oa[13] = a3_1;
  oa[14] = a3_2;
  oa[15] = a3_3;
  oa[16] = a4_0;
  oa[17] = a4_1;
  oa[18] = a4_2;
  oa[19] = a4_3;
  oa[20] = a5_0;
  oa[21] = a5_1;
  oa[22] = a5_2;
  oa[23] = a5_3;
  oa[24] = a6_0;
  oa[25] = a6_1;
  oa[26] = a6_2;
  oa[27] = a6_3;
  oa[28] = a7_0;
  oa[29] = a7_1;
  oa[30] = a7_2;
  oa[31] = a7_3;
  let yb = prm[25] + b * Cout * N;
  for (var x = 0u; x < prm[26]; x++) {
    let c = x / 4u; let n = nb0 + x % 4u; let co = co0 + c;
    if (co < Cout && n < N) {
      y[yb + co * N + n] = oa[x] + ld_bias(prm[23] + co * prm[24]);
    }
  }
}
