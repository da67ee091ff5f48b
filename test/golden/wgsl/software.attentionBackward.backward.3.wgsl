// key: attnMaskGrad
@group(0) @binding(0) var<storage, read> r: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let gi_ = gid.x + gid.y * nwg.x * 256u;
  let B = prm[0]; let H = prm[1]; let Tq = prm[2]; let mb = prm[3]; let mh = prm[4];
  if (gi_ >= mb * mh) { return; }
  let bm = gi_ / mh; let hm = gi_ % mh;
  var acc = 0.0;
  for (var b = 0u; b < B; b++) {
    if (mb != 1u && b != bm) { continue; }
    for (var h = 0u; h < H; h++) {
      if (mh != 1u && h != hm) { continue; }
      for (var i = 0u; i < Tq; i++) { acc += r[(b * H + h) * Tq + i]; }
    }
  }
  y[gi_] = acc;
}
