// key: attn:{"D":16,"dq":"f32","dk":"f32","dv":"f32","db":null,"dm":"f32","dl":null,"unitD":[true,true,true],"vec4":false,"qvec4":false,"cfg":{"wg":64,"qpt":1,"bk":4,"tile":32}}
@group(0) @binding(0) var<storage, read> q: array<f32>;
fn ld_q(i: u32) -> f32 { return f32(q[i]); }
@group(0) @binding(1) var<storage, read> k: array<f32>;
fn ld_k(i: u32) -> f32 { return f32(k[i]); }
@group(0) @binding(2) var<storage, read> v: array<f32>;
fn ld_v(i: u32) -> f32 { return f32(v[i]); }
@group(0) @binding(3) var<storage, read> hm: array<f32>;
fn ld_hm(i: u32) -> f32 { return f32(hm[i]); }
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
var<workgroup> tk: array<f32, 512>;
var<workgroup> tv: array<f32, 512>;
var<workgroup> wEnd: u32;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z; let h = wid.y;
  let Tq = prm[2]; let Tk = prm[3]; let H = prm[1];
  let sc = metaf(4u); let qoff = bitcast<i32>(prm[5]);
  let qbase = wid.x * 64u;
  let obase = (b * H + h) * Tq;
  let ob0 = prm[31]; let lb0 = prm[32];
  let i0 = qbase + 0u + lid; let ic0 = min(i0, Tq - 1u);
  let qlast = min(qbase + 63u, Tq - 1u);
  let mk = select(1.0, ld_hm(prm[26] + b * prm[27] + h * prm[28]), prm[36] != 0u);
  var jEnd = min(Tk, prm[40u + b]);
  jEnd = min(jEnd, u32(max(i32(qlast) + qoff + 1, 0)));
  if (prm[38] != 0u && mk == 0.0) { jEnd = 0u; }
  let qsd = prm[10]; let ksd = prm[15]; let vsd = prm[20];
  let kbh = prm[11] + b * prm[12] + h * prm[13]; let kst = prm[14];
  let vbh = prm[16] + b * prm[17] + h * prm[18]; let vst = prm[19];
  let qb0 = prm[6] + b * prm[7] + h * prm[8] + ic0 * prm[9];
  let q0_0 = ld_q(qb0) * sc;
  let q0_1 = ld_q(qb0 + 1u) * sc;
  let q0_2 = ld_q(qb0 + 2u) * sc;
  let q0_3 = ld_q(qb0 + 3u) * sc;
  let q0_4 = ld_q(qb0 + 4u) * sc;
  let q0_5 = ld_q(qb0 + 5u) * sc;
  let q0_6 = ld_q(qb0 + 6u) * sc;
  let q0_7 = ld_q(qb0 + 7u) * sc;
  let q0_8 = ld_q(qb0 + 8u) * sc;
  let q0_9 = ld_q(qb0 + 9u) * sc;
  let q0_10 = ld_q(qb0 + 10u) * sc;
  let q0_11 = ld_q(qb0 + 11u) * sc;
  let q0_12 = ld_q(qb0 + 12u) * sc;
  let q0_13 = ld_q(qb0 + 13u) * sc;
  let q0_14 = ld_q(qb0 + 14u) * sc;
  let q0_15 = ld_q(qb0 + 15u) * sc;
  var a0_0 = 0.0;
  var a0_1 = 0.0;
  var a0_2 = 0.0;
  var a0_3 = 0.0;
  var a0_4 = 0.0;
  var a0_5 = 0.0;
  var a0_6 = 0.0;
  var a0_7 = 0.0;
  var a0_8 = 0.0;
  var a0_9 = 0.0;
  var a0_10 = 0.0;
  var a0_11 = 0.0;
  var a0_12 = 0.0;
  var a0_13 = 0.0;
  var a0_14 = 0.0;
  var a0_15 = 0.0;
  var m0 = -1.0e38; var l0 = 0.0;
  if (lid == 0u) { wEnd = jEnd; }
  let jEndU = workgroupUniformLoad(&wEnd);
  for (var t0 = 0u; t0 < jEndU; t0 += 32u) {
    workgroupBarrier();
    for (var x = lid; x < 512u; x += 64u) {
      let jr = min(t0 + x / 16u, jEnd - 1u); let dd = x % 16u;
      tk[x] = ld_k(kbh + jr * kst + dd * ksd); tv[x] = ld_v(vbh + jr * vst + dd * vsd);
    }
    workgroupBarrier();
    for (var jt = 0u; jt < min(32u, jEnd - t0); jt += 4u) {
      let j0 = t0 + jt + 0u; let jc0 = min(j0, jEnd - 1u); let jt0 = min(jt + 0u, 31u) * 16u;
      let j1 = t0 + jt + 1u; let jc1 = min(j1, jEnd - 1u); let jt1 = min(jt + 1u, 31u) * 16u;
      let j2 = t0 + jt + 2u; let jc2 = min(j2, jEnd - 1u); let jt2 = min(jt + 2u, 31u) * 16u;
      let j3 = t0 + jt + 3u; let jc3 = min(j3, jEnd - 1u); let jt3 = min(jt + 3u, 31u) * 16u;
      var s0_0 = q0_0 * tk[jt0 + 0u] + q0_1 * tk[jt0 + 1u] + q0_2 * tk[jt0 + 2u] + q0_3 * tk[jt0 + 3u] + q0_4 * tk[jt0 + 4u] + q0_5 * tk[jt0 + 5u] + q0_6 * tk[jt0 + 6u] + q0_7 * tk[jt0 + 7u] + q0_8 * tk[jt0 + 8u] + q0_9 * tk[jt0 + 9u] + q0_10 * tk[jt0 + 10u] + q0_11 * tk[jt0 + 11u] + q0_12 * tk[jt0 + 12u] + q0_13 * tk[jt0 + 13u] + q0_14 * tk[jt0 + 14u] + q0_15 * tk[jt0 + 15u];
      var s0_1 = q0_0 * tk[jt1 + 0u] + q0_1 * tk[jt1 + 1u] + q0_2 * tk[jt1 + 2u] + q0_3 * tk[jt1 + 3u] + q0_4 * tk[jt1 + 4u] + q0_5 * tk[jt1 + 5u] + q0_6 * tk[jt1 + 6u] + q0_7 * tk[jt1 + 7u] + q0_8 * tk[jt1 + 8u] + q0_9 * tk[jt1 + 9u] + q0_10 * tk[jt1 + 10u] + q0_11 * tk[jt1 + 11u] + q0_12 * tk[jt1 + 12u] + q0_13 * tk[jt1 + 13u] + q0_14 * tk[jt1 + 14u] + q0_15 * tk[jt1 + 15u];
      var s0_2 = q0_0 * tk[jt2 + 0u] + q0_1 * tk[jt2 + 1u] + q0_2 * tk[jt2 + 2u] + q0_3 * tk[jt2 + 3u] + q0_4 * tk[jt2 + 4u] + q0_5 * tk[jt2 + 5u] + q0_6 * tk[jt2 + 6u] + q0_7 * tk[jt2 + 7u] + q0_8 * tk[jt2 + 8u] + q0_9 * tk[jt2 + 9u] + q0_10 * tk[jt2 + 10u] + q0_11 * tk[jt2 + 11u] + q0_12 * tk[jt2 + 12u] + q0_13 * tk[jt2 + 13u] + q0_14 * tk[jt2 + 14u] + q0_15 * tk[jt2 + 15u];
      var s0_3 = q0_0 * tk[jt3 + 0u] + q0_1 * tk[jt3 + 1u] + q0_2 * tk[jt3 + 2u] + q0_3 * tk[jt3 + 3u] + q0_4 * tk[jt3 + 4u] + q0_5 * tk[jt3 + 5u] + q0_6 * tk[jt3 + 6u] + q0_7 * tk[jt3 + 7u] + q0_8 * tk[jt3 + 8u] + q0_9 * tk[jt3 + 9u] + q0_10 * tk[jt3 + 10u] + q0_11 * tk[jt3 + 11u] + q0_12 * tk[jt3 + 12u] + q0_13 * tk[jt3 + 13u] + q0_14 * tk[jt3 + 14u] + q0_15 * tk[jt3 + 15u];
      s0_0 = select(-3.0e38, s0_0, j0 < jEnd && i32(j0) <= i32(i0) + qoff);
      s0_1 = select(-3.0e38, s0_1, j1 < jEnd && i32(j1) <= i32(i0) + qoff);
      s0_2 = select(-3.0e38, s0_2, j2 < jEnd && i32(j2) <= i32(i0) + qoff);
      s0_3 = select(-3.0e38, s0_3, j3 < jEnd && i32(j3) <= i32(i0) + qoff);
      let mn0 = max(max(max(max(m0, s0_0), s0_1), s0_2), s0_3);
      if (mn0 > m0) {
        let al = exp2(m0 - mn0); m0 = mn0; l0 = l0 * al;
        a0_0 = a0_0 * al;
        a0_1 = a0_1 * al;
        a0_2 = a0_2 * al;
        a0_3 = a0_3 * al;
        a0_4 = a0_4 * al;
        a0_5 = a0_5 * al;
        a0_6 = a0_6 * al;
        a0_7 = a0_7 * al;
        a0_8 = a0_8 * al;
        a0_9 = a0_9 * al;
        a0_10 = a0_10 * al;
        a0_11 = a0_11 * al;
        a0_12 = a0_12 * al;
        a0_13 = a0_13 * al;
        a0_14 = a0_14 * al;
        a0_15 = a0_15 * al;
      }
      let p0_0 = exp2(s0_0 - m0);
      let p0_1 = exp2(s0_1 - m0);
      let p0_2 = exp2(s0_2 - m0);
      let p0_3 = exp2(s0_3 - m0);
      l0 = l0 + p0_0 + p0_1 + p0_2 + p0_3;
      let v0_0 = tv[jt0 + 0u];
      let v1_0 = tv[jt1 + 0u];
      let v2_0 = tv[jt2 + 0u];
      let v3_0 = tv[jt3 + 0u];
      a0_0 = a0_0 + p0_0 * v0_0 + p0_1 * v1_0 + p0_2 * v2_0 + p0_3 * v3_0;
      let v0_1 = tv[jt0 + 1u];
      let v1_1 = tv[jt1 + 1u];
      let v2_1 = tv[jt2 + 1u];
      let v3_1 = tv[jt3 + 1u];
      a0_1 = a0_1 + p0_0 * v0_1 + p0_1 * v1_1 + p0_2 * v2_1 + p0_3 * v3_1;
      let v0_2 = tv[jt0 + 2u];
      let v1_2 = tv[jt1 + 2u];
      let v2_2 = tv[jt2 + 2u];
      let v3_2 = tv[jt3 + 2u];
      a0_2 = a0_2 + p0_0 * v0_2 + p0_1 * v1_2 + p0_2 * v2_2 + p0_3 * v3_2;
      let v0_3 = tv[jt0 + 3u];
      let v1_3 = tv[jt1 + 3u];
      let v2_3 = tv[jt2 + 3u];
      let v3_3 = tv[jt3 + 3u];
      a0_3 = a0_3 + p0_0 * v0_3 + p0_1 * v1_3 + p0_2 * v2_3 + p0_3 * v3_3;
      let v0_4 = tv[jt0 + 4u];
      let v1_4 = tv[jt1 + 4u];
      let v2_4 = tv[jt2 + 4u];
      let v3_4 = tv[jt3 + 4u];
      a0_4 = a0_4 + p0_0 * v0_4 + p0_1 * v1_4 + p0_2 * v2_4 + p0_3 * v3_4;
      let v0_5 = tv[jt0 + 5u];
      let v1_5 = tv[jt1 + 5u];
      let v2_5 = tv[jt2 + 5u];
      let v3_5 = tv[jt3 + 5u];
      a0_5 = a0_5 + p0_0 * v0_5 + p0_1 * v1_5 + p0_2 * v2_5 + p0_3 * v3_5;
      let v0_6 = tv[jt0 + 6u];
      let v1_6 = tv[jt1 + 6u];
      let v2_6 = tv[jt2 + 6u];
      let v3_6 = tv[jt3 + 6u];
      a0_6 = a0_6 + p0_0 * v0_6 + p0_1 * v1_6 + p0_2 * v2_6 + p0_3 * v3_6;
      let v0_7 = tv[jt0 + 7u];
      let v1_7 = tv[jt1 + 7u];
      let v2_7 = tv[jt2 + 7u];
      let v3_7 = tv[jt3 + 7u];
      a0_7 = a0_7 + p0_0 * v0_7 + p0_1 * v1_7 + p0_2 * v2_7 + p0_3 * v3_7;
      let v0_8 = tv[jt0 + 8u];
      let v1_8 = tv[jt1 + 8u];
      let v2_8 = tv[jt2 + 8u];
      let v3_8 = tv[jt3 + 8u];
      a0_8 = a0_8 + p0_0 * v0_8 + p0_1 * v1_8 + p0_2 * v2_8 + p0_3 * v3_8;
      let v0_9 = tv[jt0 + 9u];
      let v1_9 = tv[jt1 + 9u];
      let v2_9 = tv[jt2 + 9u];
      let v3_9 = tv[jt3 + 9u];
      a0_9 = a0_9 + p0_0 * v0_9 + p0_1 * v1_9 + p0_2 * v2_9 + p0_3 * v3_9;
      let v0_10 = tv[jt0 + 10u];
      let v1_10 = tv[jt1 + 10u];
      let v2_10 = tv[jt2 + 10u];
      let v3_10 = tv[jt3 + 10u];
      a0_10 = a0_10 + p0_0 * v0_10 + p0_1 * v1_10 + p0_2 * v2_10 + p0_3 * v3_10;
      let v0_11 = tv[jt0 + 11u];
      let v1_11 = tv[jt1 + 11u];
      let v2_11 = tv[jt2 + 11u];
      let v3_11 = tv[jt3 + 11u];
      a0_11 = a0_11 + p0_0 * v0_11 + p0_1 * v1_11 + p0_2 * v2_11 + p0_3 * v3_11;
      let v0_12 = tv[jt0 + 12u];
      let v1_12 = tv[jt1 + 12u];
      let v2_12 = tv[jt2 + 12u];
      let v3_12 = tv[jt3 + 12u];
      a0_12 = a0_12 + p0_0 * v0_12 + p0_1 * v1_12 + p0_2 * v2_12 + p0_3 * v3_12;
      let v0_13 = tv[jt0 + 13u];
      let v1_13 = tv[jt1 + 13u];
      let v2_13 = tv[jt2 + 13u];
      let v3_13 = tv[jt3 + 13u];
      a0_13 = a0_13 + p0_0 * v0_13 + p0_1 * v1_13 + p0_2 * v2_13 + p0_3 * v3_13;
      let v0_14 = tv[jt0 + 14u];
      let v1_14 = tv[jt1 + 14u];
      let v2_14 = tv[jt2 + 14u];
      let v3_14 = tv[jt3 + 14u];
      a0_14 = a0_14 + p0_0 * v0_14 + p0_1 * v1_14 + p0_2 * v2_14 + p0_3 * v3_14;
      let v0_15 = tv[jt0 + 15u];
      let v1_15 = tv[jt1 + 15u];
      let v2_15 = tv[jt2 + 15u];
      let v3_15 = tv[jt3 + 15u];
      a0_15 = a0_15 + p0_0 * v0_15 + p0_1 * v1_15 + p0_2 * v2_15 + p0_3 * v3_15;
    }
  }
  if (i0 < Tq) {
    let ob = ob0 + (obase + i0) * 16u;
    let inv = select(0.0, mk / l0, l0 > 0.0);
    o[ob + 0u] = a0_0 * inv;
    o[ob + 1u] = a0_1 * inv;
    o[ob + 2u] = a0_2 * inv;
    o[ob + 3u] = a0_3 * inv;
    o[ob + 4u] = a0_4 * inv;
    o[ob + 5u] = a0_5 * inv;
    o[ob + 6u] = a0_6 * inv;
    o[ob + 7u] = a0_7 * inv;
    o[ob + 8u] = a0_8 * inv;
    o[ob + 9u] = a0_9 * inv;
    o[ob + 10u] = a0_10 * inv;
    o[ob + 11u] = a0_11 * inv;
    o[ob + 12u] = a0_12 * inv;
    o[ob + 13u] = a0_13 * inv;
    o[ob + 14u] = a0_14 * inv;
    o[ob + 15u] = a0_15 * inv;
    if (prm[37] != 0u) { lse[lb0 + obase + i0] = select(bitcast<f32>(prm[33]), (m0 + log2(l0)) * 0.6931471805599453, l0 > 0.0); }
  }
}
