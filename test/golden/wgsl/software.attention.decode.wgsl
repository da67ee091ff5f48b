// key: attnDecSg:8:16:{"dq":"f32","dk":"f32","dv":"f32","db":null,"dm":"f32","dl":null,"chunk":64}
enable subgroups;
diagnostic(off, subgroup_uniformity);
@group(0) @binding(0) var<storage, read> q: array<f32>;
fn ld_q(i: u32) -> f32 { return f32(q[i]); }
@group(0) @binding(1) var<storage, read> k4: array<vec4<f32>>;
fn ld4_k(i: u32) -> vec4<f32> { return k4[i]; }
@group(0) @binding(2) var<storage, read> v4: array<vec4<f32>>;
fn ld4_v(i: u32) -> vec4<f32> { return v4[i]; }
@group(0) @binding(3) var<storage, read> hm: array<f32>;
fn ld_hm(i: u32) -> f32 { return f32(hm[i]); }
@group(0) @binding(4) var<storage, read_write> part: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) ln: u32) {
  let b = wid.z; let h = wid.y; let sp = wid.x;
  let H = prm[1]; let Tk = prm[3]; let D = prm[34];
  let sc2 = metaf(4u); let qoff = bitcast<i32>(prm[5]);
  let nsplit = prm[35];
  let row = b * H + h;
  let mk = select(1.0, ld_hm(prm[26] + b * prm[27] + h * prm[28]), prm[36] != 0u);
  var jEnd = min(Tk, prm[40u + b]);
  jEnd = min(jEnd, u32(max(qoff + 1, 0)));
  if (prm[38] != 0u && mk == 0.0) { jEnd = 0u; }
  let j0 = sp * 64u;
  let j1 = max(min(j0 + 64u, jEnd), j0);
  let qo = prm[6] + b * prm[7] + h * prm[8]; let qsd = prm[10];
  let ko = (prm[11] + b * prm[12] + h * prm[13]) / 4u; let kst = prm[14] / 4u;
  let vo = (prm[16] + b * prm[17] + h * prm[18]) / 4u; let vst = prm[19] / 4u;
  
  let d4_0 = 0u + ln; let ok0 = d4_0 < 4u; let dc0 = min(d4_0, 3u);
  let qd0 = 4u * dc0;
  let q0 = select(vec4<f32>(0.0), vec4<f32>(ld_q(qo + qd0 * qsd), ld_q(qo + (qd0 + 1u) * qsd), ld_q(qo + (qd0 + 2u) * qsd), ld_q(qo + (qd0 + 3u) * qsd)) * sc2, ok0);
  var a0 = vec4<f32>(0.0);
  var m = -1.0e38; var l = 0.0;
  for (var j = j0; j < j1; j++) {
    var part_s = dot(q0, ld4_k(ko + j * kst + dc0));
    var sv = subgroupAdd(part_s);
    if (sv > m) { let al = exp2(m - sv); l = l * al; m = sv; a0 = a0 * al; }
    let p = exp2(sv - m);
    l += p;
    a0 += p * ld4_v(vo + j * vst + dc0);
  }
  let direct = nsplit == 1u;
  let pb = prm[39] + (row * nsplit + sp) * (D + 2u);
  let inv = select(0.0, mk / l, l > 0.0);
  var oa: array<vec4<f32>, 1>;
  oa[0] = a0;
  for (var c = 0u; c < 1u; c++) {
    let d4 = c * 8u + ln;
    if (d4 < 4u) {
      for (var w = 0u; w < 4u; w++) {
        if (direct) { o[prm[31] + row * D + 4u * d4 + w] = oa[c][w] * inv; } else { part[pb + 2u + 4u * d4 + w] = oa[c][w]; }
      }
    }
  }
  if (ln == 0u) {
    if (direct) {
      if (prm[37] != 0u) { lse[prm[32] + row] = select(bitcast<f32>(prm[33]), (m + log2(l)) * 0.6931471805599453, l > 0.0); }
    } else { part[pb] = m; part[pb + 1u] = l; }
  }
}
