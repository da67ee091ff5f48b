// key: attnDec:{"dq":"f32","dk":"f32","dv":"f32","db":null,"dm":"f32","dl":null,"chunk":256}
@group(0) @binding(0) var<storage, read> q: array<f32>;
fn ld_q(i: u32) -> f32 { return f32(q[i]); }
@group(0) @binding(1) var<storage, read> k: array<f32>;
fn ld_k(i: u32) -> f32 { return f32(k[i]); }
@group(0) @binding(2) var<storage, read> v: array<f32>;
fn ld_v(i: u32) -> f32 { return f32(v[i]); }
@group(0) @binding(3) var<storage, read> hm: array<f32>;
fn ld_hm(i: u32) -> f32 { return f32(hm[i]); }
@group(0) @binding(4) var<storage, read_write> part: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
var<workgroup> sc: array<f32, 256>;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let b = wid.z; let h = wid.y; let sp = wid.x;
  let H = prm[1]; let Tk = prm[3]; let D = prm[34];
  let sc2 = metaf(4u); let qoff = bitcast<i32>(prm[5]);
  let nsplit = prm[35];
  let row = b * H + h;
  let mk = select(1.0, ld_hm(prm[26] + b * prm[27] + h * prm[28]), prm[36] != 0u);
  var jEnd = min(Tk, prm[40u + b]);
  jEnd = min(jEnd, u32(max(qoff + 1, 0)));
  if (prm[38] != 0u && mk == 0.0) { jEnd = 0u; }
  let j0 = sp * 256u;
  let j1 = max(min(j0 + 256u, jEnd), j0);
  let qo = prm[6] + b * prm[7] + h * prm[8];
  let ko = prm[11] + b * prm[12] + h * prm[13];
  let vo = prm[16] + b * prm[17] + h * prm[18];
  
  // scores of this chunk (log2 units); masked keys are never read
  var lm = -3.0e38;
  for (var j = j0 + t; j < j1; j += 64u) {
    var acc = 0.0;
    for (var d = 0u; d < D; d++) { acc += ld_q(qo + d * prm[10]) * ld_k(ko + j * prm[14] + d * prm[15]); }
    let sv = acc * sc2;
    sc[j - j0] = sv;
    lm = max(lm, sv);
  }
  red[t] = lm;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = max(red[t], red[t + w]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var ls = 0.0;
  for (var j = j0 + t; j < j1; j += 64u) {
    let p = exp2(sc[j - j0] - mx);
    sc[j - j0] = p;
    ls += p;
  }
  red[t] = ls;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = red[t] + red[t + w]; }
    workgroupBarrier();
  }
  let l = red[0];
  let n = j1 - j0;
  let direct = nsplit == 1u;
  let pb = prm[39] + (row * nsplit + sp) * (D + 2u);
  for (var d = t; d < D; d += 64u) {
    var acc = 0.0;
    for (var jj = 0u; jj < n; jj++) { acc += sc[jj] * ld_v(vo + (j0 + jj) * prm[19] + d * prm[20]); }
    if (direct) { o[prm[31] + row * D + d] = select(0.0, acc * mk / l, l > 0.0); }
    else { part[pb + 2u + d] = acc; }
  }
  if (t == 0u) {
    if (direct) {
      if (prm[37] != 0u) { lse[prm[32] + row] = select(bitcast<f32>(prm[33]), (mx + log2(l)) * 0.6931471805599453, l > 0.0); }
    } else { part[pb] = mx; part[pb + 1u] = l; }
  }
}
