// The elementwise op set, written once for WGSL and once for the CPU reference.

/** exact-erf GELU needs erf, which WGSL lacks: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
export const WGSL_ERF = `fn erf_(x: f32) -> f32 {
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
}`;

/** Unary ops: `a` is the input; `alpha`, `beta` are scalar attributes. */
export const UNARY_WGSL: Record<string, string> = {
  identity: 'a',
  affine: 'a * alpha + beta',
  exp: 'exp(a)',
  log: 'log(a)',
  sqrt: 'sqrt(a)',
  rsqrt: 'inverseSqrt(a)',
  neg: '-a',
  abs: 'abs(a)',
  square: 'a * a',
  relu: 'max(a, 0.0)',
  gelu: '0.5 * a * (1.0 + erf_(a * 0.70710678118654752))',
  /** d gelu / da = Φ(a) + a·φ(a) (the gradient, fused). */
  geluGrad: '0.5 * (1.0 + erf_(a * 0.70710678118654752)) + a * 0.3989422804014327 * exp(-0.5 * a * a)',
  erf: 'erf_(a)',
  silu: 'a / (1.0 + exp(-a))',
  /** d silu / da = s·(1 + a·(1 − s)), s = sigmoid(a). */
  siluGrad: '(1.0 / (1.0 + exp(-a))) * (1.0 + a * (1.0 - 1.0 / (1.0 + exp(-a))))',
  sigmoid: '1.0 / (1.0 + exp(-a))',
  tanh: 'tanh(clamp(a, -15.0, 15.0))',
  /** torch.pow(a, alpha) (pow_ above); WGSL's own pow is undefined for a ≤ 0. */
  powScalar: 'pow_(a, alpha)',
  clamp: 'clamp(a, alpha, beta)',
};

export const BINARY_WGSL: Record<string, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  /** a + alpha * b (fused axpy, used by optimizers and residuals). */
  axpy: 'a + alpha * b',
  greater: 'select(0.0, 1.0, a > b)',
  equal: 'select(0.0, 1.0, a == b)',
};

export function erf(x: number): number {
  // High-precision erf for the CPU reference (W. J. Cody's rational approximations via series/continued fraction).
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series converges fast here.
    let sum = x, term = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

export const UNARY_CPU: Record<string, (a: number, alpha: number, beta: number) => number> = {
  identity: (a) => a,
  affine: (a, al, be) => a * al + be,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (a) => 1 / Math.sqrt(a),
  neg: (a) => -a,
  abs: Math.abs,
  square: (a) => a * a,
  relu: (a) => Math.max(a, 0),
  gelu: (a) => 0.5 * a * (1 + erf(a / Math.SQRT2)),
  geluGrad: (a) => 0.5 * (1 + erf(a / Math.SQRT2)) + (a * Math.exp(-0.5 * a * a)) / Math.sqrt(2 * Math.PI),
  erf: (a) => erf(a),
  silu: (a) => a / (1 + Math.exp(-a)),
  siluGrad: (a) => {
    const s = 1 / (1 + Math.exp(-a));
    return s * (1 + a * (1 - s));
  },
  sigmoid: (a) => 1 / (1 + Math.exp(-a)),
  tanh: Math.tanh,
  powScalar: (a, al) => Math.pow(a, al),
  clamp: (a, al, be) => Math.min(Math.max(a, al), be),
};

export const BINARY_CPU: Record<string, (a: number, b: number, alpha: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  axpy: (a, b, al) => a + al * b,
  greater: (a, b) => (a > b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
};
