// key: attnBwd:{"kind":"dkv","D":16,"dq":"f32","dk":"f32","dv":"f32","ddo":"f32","db":null,"dm":"f32","dl":null,"sg":8,"wg":64}
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
  let oc = min(own, Tk - 1u);
  let qbh = prm[6] + b * prm[7] + h * prm[8]; let qst = prm[9]; let qsd = prm[10];
  let kbh = prm[11] + b * prm[12] + h * prm[13]; let kst = prm[14]; let ksd = prm[15];
  let vbh = prm[16] + b * prm[17] + h * prm[18]; let vst = prm[19]; let vsd = prm[20];
  let gbh = prm[bw + 0u] + b * prm[bw + 1u] + h * prm[bw + 2u]; let gst = prm[bw + 3u]; let gsd = prm[bw + 4u];
  let lseb = prm[bw + 10u] + row0 * Tq; let dsb = prm[bw + 11u] + row0 * Tq;
  var ra: array<f32, 16>; var rb: array<f32, 16>;
  for (var d = 0u; d < prm[bw + 17u]; d++) { ra[d] = ld_k(kbh + oc * kst + d * ksd); rb[d] = ld_v(vbh + oc * vst + d * vsd); }
  let jlo = wid.x * 8u;
  var iBeg = u32(max(i32(jlo) - qoff, 0));
  if (jlo >= klen || (mk == 0.0)) { iBeg = Tq; }
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
  for (var i = iBeg; i < Tq; i++) {
    let ql0 = ld_q(qbh + i * qst + min(0u + ln, 15u) * qsd);
    let ql1 = ld_q(qbh + i * qst + min(8u + ln, 15u) * qsd);
    let qb0 = subgroupBroadcast(ql0, 0u);
    let qb1 = subgroupBroadcast(ql0, 1u);
    let qb2 = subgroupBroadcast(ql0, 2u);
    let qb3 = subgroupBroadcast(ql0, 3u);
    let qb4 = subgroupBroadcast(ql0, 4u);
    let qb5 = subgroupBroadcast(ql0, 5u);
    let qb6 = subgroupBroadcast(ql0, 6u);
    let qb7 = subgroupBroadcast(ql0, 7u);
    let qb8 = subgroupBroadcast(ql1, 0u);
    let qb9 = subgroupBroadcast(ql1, 1u);
    let qb10 = subgroupBroadcast(ql1, 2u);
    let qb11 = subgroupBroadcast(ql1, 3u);
    let qb12 = subgroupBroadcast(ql1, 4u);
    let qb13 = subgroupBroadcast(ql1, 5u);
    let qb14 = subgroupBroadcast(ql1, 6u);
    let qb15 = subgroupBroadcast(ql1, 7u);
    let dOl0 = ld_dO(gbh + i * gst + min(0u + ln, 15u) * gsd);
    let dOl1 = ld_dO(gbh + i * gst + min(8u + ln, 15u) * gsd);
    let dOb0 = subgroupBroadcast(dOl0, 0u);
    let dOb1 = subgroupBroadcast(dOl0, 1u);
    let dOb2 = subgroupBroadcast(dOl0, 2u);
    let dOb3 = subgroupBroadcast(dOl0, 3u);
    let dOb4 = subgroupBroadcast(dOl0, 4u);
    let dOb5 = subgroupBroadcast(dOl0, 5u);
    let dOb6 = subgroupBroadcast(dOl0, 6u);
    let dOb7 = subgroupBroadcast(dOl0, 7u);
    let dOb8 = subgroupBroadcast(dOl1, 0u);
    let dOb9 = subgroupBroadcast(dOl1, 1u);
    let dOb10 = subgroupBroadcast(dOl1, 2u);
    let dOb11 = subgroupBroadcast(dOl1, 3u);
    let dOb12 = subgroupBroadcast(dOl1, 4u);
    let dOb13 = subgroupBroadcast(dOl1, 5u);
    let dOb14 = subgroupBroadcast(dOl1, 6u);
    let dOb15 = subgroupBroadcast(dOl1, 7u);
    var s = (qb0 * ra[0] + qb1 * ra[1] + qb2 * ra[2] + qb3 * ra[3] + qb4 * ra[4] + qb5 * ra[5] + qb6 * ra[6] + qb7 * ra[7] + qb8 * ra[8] + qb9 * ra[9] + qb10 * ra[10] + qb11 * ra[11] + qb12 * ra[12] + qb13 * ra[13] + qb14 * ra[14] + qb15 * ra[15]) * sc;
    let valid = own < Tk && oc < klen && i32(oc) <= i32(i) + qoff;
    let lse2 = stats[lseb + i] * 1.4426950408889634; let dsum = stats[dsb + i];
    let p = select(0.0, exp2(s - lse2), valid);
    let dp = mk * (dOb0 * rb[0] + dOb1 * rb[1] + dOb2 * rb[2] + dOb3 * rb[3] + dOb4 * rb[4] + dOb5 * rb[5] + dOb6 * rb[6] + dOb7 * rb[7] + dOb8 * rb[8] + dOb9 * rb[9] + dOb10 * rb[10] + dOb11 * rb[11] + dOb12 * rb[12] + dOb13 * rb[13] + dOb14 * rb[14] + dOb15 * rb[15]);
    let ds = p * (dp - dsum);
    a_0 += ds * qb0;
    a_1 += ds * qb1;
    a_2 += ds * qb2;
    a_3 += ds * qb3;
    a_4 += ds * qb4;
    a_5 += ds * qb5;
    a_6 += ds * qb6;
    a_7 += ds * qb7;
    a_8 += ds * qb8;
    a_9 += ds * qb9;
    a_10 += ds * qb10;
    a_11 += ds * qb11;
    a_12 += ds * qb12;
    a_13 += ds * qb13;
    a_14 += ds * qb14;
    a_15 += ds * qb15;
    c_0 += p * dOb0;
    c_1 += p * dOb1;
    c_2 += p * dOb2;
    c_3 += p * dOb3;
    c_4 += p * dOb4;
    c_5 += p * dOb5;
    c_6 += p * dOb6;
    c_7 += p * dOb7;
    c_8 += p * dOb8;
    c_9 += p * dOb9;
    c_10 += p * dOb10;
    c_11 += p * dOb11;
    c_12 += p * dOb12;
    c_13 += p * dOb13;
    c_14 += p * dOb14;
    c_15 += p * dOb15;
  }
  var oa: array<f32, 16>; var ob: array<f32, 16>;
  if (own < Tk) {
    let o1 = prm[bw + 13u] + (row0 * Tk + own) * 16u;
    let o2 = prm[bw + 14u] + (row0 * Tk + own) * 16u;
    oa[0] = a_0 * metaf(4u) / 1.4426950408889634; ob[0] = c_0 * mk;
    oa[1] = a_1 * metaf(4u) / 1.4426950408889634; ob[1] = c_1 * mk;
    oa[2] = a_2 * metaf(4u) / 1.4426950408889634; ob[2] = c_2 * mk;
    oa[3] = a_3 * metaf(4u) / 1.4426950408889634; ob[3] = c_3 * mk;
    oa[4] = a_4 * metaf(4u) / 1.4426950408889634; ob[4] = c_4 * mk;
    oa[5] = a_5 * metaf(4u) / 1.4426950408889634; ob[5] = c_5 * mk;
    oa[6] = a_6 * metaf(4u) / 1.4426950408889634; ob[6] = c_6 * mk;
    oa[7] = a_7 * metaf(4u) / 1.4426950408889634; ob[7] = c_7 * mk;
    oa[8] = a_8 * metaf(4u) / 1.4426950408889634; ob[8] = c_8 * mk;
    oa[9] = a_9 * metaf(4u) / 1.4426950408889634; ob[9] = c_9 * mk;
    oa[10] = a_10 * metaf(4u) / 1.4426950408889634; ob[10] = c_10 * mk;
    oa[11] = a_11 * metaf(4u) / 1.4426950408889634; ob[11] = c_11 * mk;
    oa[12] = a_12 * metaf(4u) / 1.4426950408889634; ob[12] = c_12 * mk;
    oa[13] = a_13 * metaf(4u) / 1.4426950408889634; ob[13] = c_13 * mk;
    oa[14] = a_14 * metaf(4u) / 1.4426950408889634; ob[14] = c_14 * mk;
    oa[15] = a_15 * metaf(4u) / 1.4426950408889634; ob[15] = c_15 * mk;
    for (var x = 0u; x < prm[bw + 17u]; x++) { g1[o1 + x] = oa[x]; g2[o2 + x] = ob[x]; }
  }
}
