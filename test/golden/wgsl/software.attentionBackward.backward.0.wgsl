// key: attnRowdot:f32:f32
@group(0) @binding(0) var<storage, read> g: array<f32>;
fn ld_g(i: u32) -> f32 { return f32(g[i]); }
@group(0) @binding(1) var<storage, read> o: array<f32>;
fn ld_o(i: u32) -> f32 { return f32(o[i]); }
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let gi_ = gid.x + gid.y * nwg.x * 256u;
  let H = prm[1]; let Tq = prm[2]; let D = prm[3];
  if (gi_ >= prm[0] * H * Tq) { return; }
  let i = gi_ % Tq; let h = (gi_ / Tq) % H; let b = gi_ / (Tq * H);
  let go = prm[4] + b * prm[5] + h * prm[6] + i * prm[7];
  let oo = prm[9] + b * prm[10] + h * prm[11] + i * prm[12];
  var acc = 0.0;
  for (var d = 0u; d < D; d++) { acc += ld_g(go + d * prm[8]) * ld_o(oo + d * prm[13]); }
  y[prm[14] + gi_] = acc;
}
