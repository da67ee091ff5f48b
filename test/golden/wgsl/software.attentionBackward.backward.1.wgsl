// key: attnBwd:{"kind":"dq","D":16,"dq":"f32","dk":"f32","dv":"f32","ddo":"f32","db":null,"dm":"f32","dl":null,"sg":8,"wg":64}
enable subgroups;
diagnostic(off, subgroup_uniformity);
@group(0) @binding(0) var<storage, read> q: array<f32>;
fn ld_q(i: u32) -> f32 { return f32(q[i]); }
@group(0) @binding(1) var<storage, read> k: array<f32>;
fn ld_k(i: u32) -> f32 { return f32(k[i]); }
@group(0) @binding(2) var<storage, read> v: array<f32>;
fn ld_v(i: u32) -> f32 { return f32(v[i]); }
@group(0) @binding(3) var<storage, read> hm: array<f32>;
fn ld_hm(i: u32) -> f32 { return f32(hm[i]); }
@group(0) @binding(4) var<storage, read> dO: array<f32>;
fn ld_dO(i: u32) -> f32 { return f32(dO[i]); }
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> g1: array<f32>;
@group(0) @binding(7) var<storage, read_write> g2: array<f32>;
@group(0) @binding(8) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) ln: u32) {
  let b = wid.z; let h = wid.y; let bw = prm[39];
  let Tq = prm[2]; let Tk = prm[3]; let H = prm[1];
  let sc = metaf(4u); let qoff = bitcast<i32>(prm[5]);
  let mk = select(1.0, ld_hm(prm[26] + b * prm[27] + h * prm[28]), prm[36] != 0u);
  let mgrad = prm[bw + 16u] != 0u;
  let klen = min(Tk, prm[40u + b]);
  let row0 = (b * H + h);
  let own = wid.x * 8u + ln;
  let oc = min(own, Tq - 1u);
  let qbh = prm[6] + b * prm[7] + h * prm[8]; let qst = prm[9]; let qsd = prm[10];
  let kbh = prm[11] + b * prm[12] + h * prm[13]; let kst = prm[14]; let ksd = prm[15];
  let vbh = prm[16] + b * prm[17] + h * prm[18]; let vst = prm[19]; let vsd = prm[20];
  let gbh = prm[bw + 0u] + b * prm[bw + 1u] + h * prm[bw + 2u]; let gst = prm[bw + 3u]; let gsd = prm[bw + 4u];
  let lseb = prm[bw + 10u] + row0 * Tq; let dsb = prm[bw + 11u] + row0 * Tq;
  var ra: array<f32, 16>; var rb: array<f32, 16>;
  for (var d = 0u; d < prm[bw + 17u]; d++) { ra[d] = ld_q(qbh + oc * qst + d * qsd); rb[d] = ld_dO(gbh + oc * gst + d * gsd); }
  let lse2 = stats[lseb + oc] * 1.4426950408889634; let dsum = stats[dsb + oc];
  let ilast = min(wid.x * 8u + 7u, Tq - 1u);
  var jEnd = min(klen, u32(max(i32(ilast) + qoff + 1, 0)));
  if (mk == 0.0 && !mgrad) { jEnd = 0u; }
  var a_0 = 0.0; var c_0 = 0.0;
  var a_1 = 0.0; var c_1 = 0.0;
  var a_2 = 0.0; var c_2 = 0.0;
  var a_3 = 0.0; var c_3 = 0.0;
  var a_4 = 0.0; var c_4 = 0.0;
  var a_5 = 0.0; var c_5 = 0.0;
  var a_6 = 0.0; var c_6 = 0.0;
  var a_7 = 0.0; var c_7 = 0.0;
  var a_8 = 0.0; var c_8 = 0.0;
  var a_9 = 0.0; var c_9 = 0.0;
  var a_10 = 0.0; var c_10 = 0.0;
  var a_11 = 0.0; var c_11 = 0.0;
  var a_12 = 0.0; var c_12 = 0.0;
  var a_13 = 0.0; var c_13 = 0.0;
  var a_14 = 0.0; var c_14 = 0.0;
  var a_15 = 0.0; var c_15 = 0.0;
  for (var j = 0u; j < jEnd; j++) {
    let kl0 = ld_k(kbh + j * kst + min(0u + ln, 15u) * ksd);
    let kl1 = ld_k(kbh + j * kst + min(8u + ln, 15u) * ksd);
    let kb0 = subgroupBroadcast(kl0, 0u);
    let kb1 = subgroupBroadcast(kl0, 1u);
    let kb2 = subgroupBroadcast(kl0, 2u);
    let kb3 = subgroupBroadcast(kl0, 3u);
    let kb4 = subgroupBroadcast(kl0, 4u);
    let kb5 = subgroupBroadcast(kl0, 5u);
    let kb6 = subgroupBroadcast(kl0, 6u);
    let kb7 = subgroupBroadcast(kl0, 7u);
    let kb8 = subgroupBroadcast(kl1, 0u);
    let kb9 = subgroupBroadcast(kl1, 1u);
    let kb10 = subgroupBroadcast(kl1, 2u);
    let kb11 = subgroupBroadcast(kl1, 3u);
    let kb12 = subgroupBroadcast(kl1, 4u);
    let kb13 = subgroupBroadcast(kl1, 5u);
    let kb14 = subgroupBroadcast(kl1, 6u);
    let kb15 = subgroupBroadcast(kl1, 7u);
    let vl0 = ld_v(vbh + j * vst + min(0u + ln, 15u) * vsd);
    let vl1 = ld_v(vbh + j * vst + min(8u + ln, 15u) * vsd);
    let vb0 = subgroupBroadcast(vl0, 0u);
    let vb1 = subgroupBroadcast(vl0, 1u);
    let vb2 = subgroupBroadcast(vl0, 2u);
    let vb3 = subgroupBroadcast(vl0, 3u);
    let vb4 = subgroupBroadcast(vl0, 4u);
    let vb5 = subgroupBroadcast(vl0, 5u);
    let vb6 = subgroupBroadcast(vl0, 6u);
    let vb7 = subgroupBroadcast(vl0, 7u);
    let vb8 = subgroupBroadcast(vl1, 0u);
    let vb9 = subgroupBroadcast(vl1, 1u);
    let vb10 = subgroupBroadcast(vl1, 2u);
    let vb11 = subgroupBroadcast(vl1, 3u);
    let vb12 = subgroupBroadcast(vl1, 4u);
    let vb13 = subgroupBroadcast(vl1, 5u);
    let vb14 = subgroupBroadcast(vl1, 6u);
    let vb15 = subgroupBroadcast(vl1, 7u);
    var s = (ra[0] * kb0 + ra[1] * kb1 + ra[2] * kb2 + ra[3] * kb3 + ra[4] * kb4 + ra[5] * kb5 + ra[6] * kb6 + ra[7] * kb7 + ra[8] * kb8 + ra[9] * kb9 + ra[10] * kb10 + ra[11] * kb11 + ra[12] * kb12 + ra[13] * kb13 + ra[14] * kb14 + ra[15] * kb15) * sc;
    let valid = own < Tq && j < klen && i32(j) <= i32(oc) + qoff;
    let p = select(0.0, exp2(s - lse2), valid);
    let dp = mk * (rb[0] * vb0 + rb[1] * vb1 + rb[2] * vb2 + rb[3] * vb3 + rb[4] * vb4 + rb[5] * vb5 + rb[6] * vb6 + rb[7] * vb7 + rb[8] * vb8 + rb[9] * vb9 + rb[10] * vb10 + rb[11] * vb11 + rb[12] * vb12 + rb[13] * vb13 + rb[14] * vb14 + rb[15] * vb15);
    let ds = p * (dp - dsum);
    a_0 += ds * kb0;
    a_1 += ds * kb1;
    a_2 += ds * kb2;
    a_3 += ds * kb3;
    a_4 += ds * kb4;
    a_5 += ds * kb5;
    a_6 += ds * kb6;
    a_7 += ds * kb7;
    a_8 += ds * kb8;
    a_9 += ds * kb9;
    a_10 += ds * kb10;
    a_11 += ds * kb11;
    a_12 += ds * kb12;
    a_13 += ds * kb13;
    a_14 += ds * kb14;
    a_15 += ds * kb15;
    if (mgrad) {
      c_0 += p * vb0;
      c_1 += p * vb1;
      c_2 += p * vb2;
      c_3 += p * vb3;
      c_4 += p * vb4;
      c_5 += p * vb5;
      c_6 += p * vb6;
      c_7 += p * vb7;
      c_8 += p * vb8;
      c_9 += p * vb9;
      c_10 += p * vb10;
      c_11 += p * vb11;
      c_12 += p * vb12;
      c_13 += p * vb13;
      c_14 += p * vb14;
      c_15 += p * vb15;
    }
  }
  var oa: array<f32, 16>; var ob: array<f32, 16>;
  if (own < Tq) {
    let o1 = prm[bw + 12u] + (row0 * Tq + own) * 16u;
    oa[0] = a_0 * metaf(4u) / 1.4426950408889634;
    oa[1] = a_1 * metaf(4u) / 1.4426950408889634;
    oa[2] = a_2 * metaf(4u) / 1.4426950408889634;
    oa[3] = a_3 * metaf(4u) / 1.4426950408889634;
    oa[4] = a_4 * metaf(4u) / 1.4426950408889634;
    oa[5] = a_5 * metaf(4u) / 1.4426950408889634;
    oa[6] = a_6 * metaf(4u) / 1.4426950408889634;
    oa[7] = a_7 * metaf(4u) / 1.4426950408889634;
    oa[8] = a_8 * metaf(4u) / 1.4426950408889634;
    oa[9] = a_9 * metaf(4u) / 1.4426950408889634;
    oa[10] = a_10 * metaf(4u) / 1.4426950408889634;
    oa[11] = a_11 * metaf(4u) / 1.4426950408889634;
    oa[12] = a_12 * metaf(4u) / 1.4426950408889634;
    oa[13] = a_13 * metaf(4u) / 1.4426950408889634;
    oa[14] = a_14 * metaf(4u) / 1.4426950408889634;
    oa[15] = a_15 * metaf(4u) / 1.4426950408889634;
    for (var x = 0u; x < prm[bw + 17u]; x++) { g1[o1 + x] = oa[x]; }
    if (mgrad) { g2[prm[bw + 15u] + row0 * Tq + own] = rb[0] * c_0 + rb[1] * c_1 + rb[2] * c_2 + rb[3] * c_3 + rb[4] * c_4 + rb[5] * c_5 + rb[6] * c_6 + rb[7] * c_7 + rb[8] * c_8 + rb[9] * c_9 + rb[10] * c_10 + rb[11] * c_11 + rb[12] * c_12 + rb[13] * c_13 + rb[14] * c_14 + rb[15] * c_15; }
  }
}
