// key: layernorm:f32:f32:f32:1:32s
enable subgroups;
@group(0) @binding(0) var<storage, read> x: array<f32>;
fn ld_x(i: u32) -> f32 { return f32(x[i]); }
@group(0) @binding(1) var<storage, read> w: array<f32>;
fn ld_w(i: u32) -> f32 { return f32(w[i]); }
@group(0) @binding(2) var<storage, read> bv: array<f32>;
fn ld_bv(i: u32) -> f32 { return f32(bv[i]); }
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
fn row_offsets(r: u32) -> vec2<u32> {
  var rem = r;
  var xo = prm[5];
  var yo = prm[6];
  for (var d: i32 = 0; d >= 0; d--) {
    let s = prm[8u + u32(d)];
    let i = rem % s;
    rem = rem / s;
    xo += i * prm[9u + u32(d)];
    yo += i * prm[10u + u32(d)];
  }
  return vec2<u32>(xo, yo);
}
fn ninf() -> f32 { return bitcast<f32>(0xff800000u + (prm[0] & 0u)); }
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u + (prm[0] & 0u)); }
fn isnan_(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
var<private> lid_: u32;
var<private> sl_: u32;
var<private> ss_: u32;
var<workgroup> sh_s: array<f32, 32>;
fn wg_s(v: f32) -> f32 {
  let a0 = subgroupAdd(v);
  sh_s[lid_] = select(0.0, a0, sl_ == 0u);
  workgroupBarrier();
  var p = 0.0;
  for (var i = sl_; i < 32u; i += ss_) { p = (p + sh_s[i]); }
  let res = subgroupAdd(p);
  workgroupBarrier();
  return res;
}
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
  let wid = wg.x + wg.y * nwg.x;
  if (wid >= prm[0]) { return; }
  lid_ = lid;
  sl_ = sl; ss_ = ss;
  let o = row_offsets(prm[1] + wid);
  let R = prm[2];
  let xk = prm[3];
  let yk = prm[4];
  let eps = metaf(11u);
  var p = 0.0;
  for (var k = lid; k < R; k += 32u) { p += ld_x(o.x + k * xk); }
  let mean = wg_s(p) / f32(R);
  var q = 0.0;
  for (var k = lid; k < R; k += 32u) { let d = ld_x(o.x + k * xk) - mean; q += d * d; }
  let rstd = inverseSqrt(wg_s(q) / f32(R) + eps);
  for (var k = lid; k < R; k += 32u) {
    var v = (ld_x(o.x + k * xk) - mean) * rstd;
    v = v * ld_w(prm[12u] + k * prm[13u]);
    v = v + ld_bv(prm[14u] + k * prm[15u]);
    y[o.y + k * yk] = v;
  }
}
