// key: gemv:1:8x8x4:f32:f32:true
enable subgroups;
diagnostic(off, subgroup_uniformity);
@group(0) @binding(0) var<storage, read> x: array<f32>;
fn ld_x(i: u32) -> f32 { return f32(x[i]); }
@group(0) @binding(1) var<storage, read> w: array<f32>;
fn ld_w(i: u32) -> f32 { return f32(w[i]); }

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
  let f = prm[15u];
  var x = acc * bitcast<f32>(prm[9u]);
  if ((f & 1u) != 0u) { x += ldh_bias(prm[10u] + n * prm[11u], (f & 2u) != 0u); }
  switch prm[16u] {
    case 1u: { x = max(x, 0.0); }
    case 2u: { x = 0.5 * x * (1.0 + erf_(x * 0.70710678118654752)); }
    case 3u: { x = x / (1.0 + exp(-x)); }
    default: {}
  }
  if ((f & 4u) != 0u) { x += ldh_res(rIdx, (f & 8u) != 0u); }
  return x;
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let nEnd = prm[0u]; let K = prm[1u]; let sXk = prm[3u]; let sWn = prm[5u]; let sWk = prm[6u]; let sXm = prm[18u];
  let nt = prm[2u] + (wg.x + wg.y * nwg.x) * 8u;
  let lx = lid.x;
  let w0 = prm[4u] + min(nt + 0u, nEnd - 1u) * sWn;
  let w1 = prm[4u] + min(nt + 1u, nEnd - 1u) * sWn;
  let w2 = prm[4u] + min(nt + 2u, nEnd - 1u) * sWn;
  let w3 = prm[4u] + min(nt + 3u, nEnd - 1u) * sWn;
  let w4 = prm[4u] + min(nt + 4u, nEnd - 1u) * sWn;
  let w5 = prm[4u] + min(nt + 5u, nEnd - 1u) * sWn;
  let w6 = prm[4u] + min(nt + 6u, nEnd - 1u) * sWn;
  let w7 = prm[4u] + min(nt + 7u, nEnd - 1u) * sWn;
  let x0 = prm[7u] + min(0u, prm[20u] - 1u) * sXm;
  var c0_0 = 0.0;
  var c0_1 = 0.0;
  var c0_2 = 0.0;
  var c0_3 = 0.0;
  var c0_4 = 0.0;
  var c0_5 = 0.0;
  var c0_6 = 0.0;
  var c0_7 = 0.0;
  let Km = K - K % 32u;
  for (var k0 = 0u; k0 < Km; k0 += 32u) {
    { let k = k0 + 0u + 1u * lx;
      let xa0 = ld_x(x0 + k * sXk);
      { let w = ld_w(w0 + k * sWk);
        c0_0 = fma(xa0, w, c0_0);
      }
      { let w = ld_w(w1 + k * sWk);
        c0_1 = fma(xa0, w, c0_1);
      }
      { let w = ld_w(w2 + k * sWk);
        c0_2 = fma(xa0, w, c0_2);
      }
      { let w = ld_w(w3 + k * sWk);
        c0_3 = fma(xa0, w, c0_3);
      }
      { let w = ld_w(w4 + k * sWk);
        c0_4 = fma(xa0, w, c0_4);
      }
      { let w = ld_w(w5 + k * sWk);
        c0_5 = fma(xa0, w, c0_5);
      }
      { let w = ld_w(w6 + k * sWk);
        c0_6 = fma(xa0, w, c0_6);
      }
      { let w = ld_w(w7 + k * sWk);
        c0_7 = fma(xa0, w, c0_7);
      }
    }
    { let k = k0 + 8u + 1u * lx;
      let xa0 = ld_x(x0 + k * sXk);
      { let w = ld_w(w0 + k * sWk);
        c0_0 = fma(xa0, w, c0_0);
      }
      { let w = ld_w(w1 + k * sWk);
        c0_1 = fma(xa0, w, c0_1);
      }
      { let w = ld_w(w2 + k * sWk);
        c0_2 = fma(xa0, w, c0_2);
      }
      { let w = ld_w(w3 + k * sWk);
        c0_3 = fma(xa0, w, c0_3);
      }
      { let w = ld_w(w4 + k * sWk);
        c0_4 = fma(xa0, w, c0_4);
      }
      { let w = ld_w(w5 + k * sWk);
        c0_5 = fma(xa0, w, c0_5);
      }
      { let w = ld_w(w6 + k * sWk);
        c0_6 = fma(xa0, w, c0_6);
      }
      { let w = ld_w(w7 + k * sWk);
        c0_7 = fma(xa0, w, c0_7);
      }
    }
    { let k = k0 + 16u + 1u * lx;
      let xa0 = ld_x(x0 + k * sXk);
      { let w = ld_w(w0 + k * sWk);
        c0_0 = fma(xa0, w, c0_0);
      }
      { let w = ld_w(w1 + k * sWk);
        c0_1 = fma(xa0, w, c0_1);
      }
      { let w = ld_w(w2 + k * sWk);
        c0_2 = fma(xa0, w, c0_2);
      }
      { let w = ld_w(w3 + k * sWk);
        c0_3 = fma(xa0, w, c0_3);
      }
      { let w = ld_w(w4 + k * sWk);
        c0_4 = fma(xa0, w, c0_4);
      }
      { let w = ld_w(w5 + k * sWk);
        c0_5 = fma(xa0, w, c0_5);
      }
      { let w = ld_w(w6 + k * sWk);
        c0_6 = fma(xa0, w, c0_6);
      }
      { let w = ld_w(w7 + k * sWk);
        c0_7 = fma(xa0, w, c0_7);
      }
    }
    { let k = k0 + 24u + 1u * lx;
      let xa0 = ld_x(x0 + k * sXk);
      { let w = ld_w(w0 + k * sWk);
        c0_0 = fma(xa0, w, c0_0);
      }
      { let w = ld_w(w1 + k * sWk);
        c0_1 = fma(xa0, w, c0_1);
      }
      { let w = ld_w(w2 + k * sWk);
        c0_2 = fma(xa0, w, c0_2);
      }
      { let w = ld_w(w3 + k * sWk);
        c0_3 = fma(xa0, w, c0_3);
      }
      { let w = ld_w(w4 + k * sWk);
        c0_4 = fma(xa0, w, c0_4);
      }
      { let w = ld_w(w5 + k * sWk);
        c0_5 = fma(xa0, w, c0_5);
      }
      { let w = ld_w(w6 + k * sWk);
        c0_6 = fma(xa0, w, c0_6);
      }
      { let w = ld_w(w7 + k * sWk);
        c0_7 = fma(xa0, w, c0_7);
      }
    }
  }
  for (var k = Km + lx; k < K; k += 8u) {
    let xa0 = ld_x(x0 + k * sXk);
    { let w = ld_w(w0 + k * sWk);
      c0_0 = fma(xa0, w, c0_0);
    }
    { let w = ld_w(w1 + k * sWk);
      c0_1 = fma(xa0, w, c0_1);
    }
    { let w = ld_w(w2 + k * sWk);
      c0_2 = fma(xa0, w, c0_2);
    }
    { let w = ld_w(w3 + k * sWk);
      c0_3 = fma(xa0, w, c0_3);
    }
    { let w = ld_w(w4 + k * sWk);
      c0_4 = fma(xa0, w, c0_4);
    }
    { let w = ld_w(w5 + k * sWk);
      c0_5 = fma(xa0, w, c0_5);
    }
    { let w = ld_w(w6 + k * sWk);
      c0_6 = fma(xa0, w, c0_6);
    }
    { let w = ld_w(w7 + k * sWk);
      c0_7 = fma(xa0, w, c0_7);
    }
  }
  var sums = array<f32, 8>(subgroupAdd(c0_0), subgroupAdd(c0_1), subgroupAdd(c0_2), subgroupAdd(c0_3), subgroupAdd(c0_4), subgroupAdd(c0_5), subgroupAdd(c0_6), subgroupAdd(c0_7));
  for (var t = 0u; t < prm[17u]; t++) {
    let m = t / 8u; let n = nt + t % 8u;
    if (lx == t % 8u && n < nEnd && m < prm[20u]) { y[prm[8u] + m * prm[19u] + n] = epi(sums[t], n, prm[12u] + m * prm[13u] + n * prm[14u]); }
  }
}
