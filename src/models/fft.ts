// Small complex FFT in float64 for the audio front-ends (any length; fast for lengths whose factors are 2, 3, 4, 5).
// Self-sorting mixed-radix Stockham decimation in time: after the stage that completes a block length L, the
// L-point DFT of the subsequence x[q + R·t] (R = n/L, t = 0..L-1) is held at index k·R + q (k = 0..L-1).
// The L' = L·p stage combines p such blocks:  A'[k + L·s][q'] = Σ_j W_p^{js} · W_{L'}^{jk} · A[k][q' + R'·j].
// Twiddles come from one table cos/sin(2π e/n) computed in float64, so results are accurate to ~1e-15 relative.

interface Stage {
  p: number; // radix
  L: number; // block length before this stage
  R2: number; // n / (L·p)
  twRe: Float64Array; // [j·L + k] = Re W_{L·p}^{j·k}
  twIm: Float64Array;
}

function factorize(n: number): number[] {
  const out: number[] = [];
  let m = n;
  while (m % 4 === 0) { out.push(4); m /= 4; }
  while (m % 2 === 0) { out.push(2); m /= 2; }
  for (let f = 3; f * f <= m; f += 2) while (m % f === 0) { out.push(f); m /= f; }
  if (m > 1) out.push(m);
  return out;
}

export class FFT {
  readonly n: number;
  private readonly stages: Stage[] = [];
  private readonly cosT: Float64Array;
  private readonly sinT: Float64Array;
  private readonly bufRe: Float64Array;
  private readonly bufIm: Float64Array;
  private readonly r5Re = new Float64Array(5);
  private readonly r5Im = new Float64Array(5);

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be a positive integer, got ${n}`);
    this.n = n;
    // W_n^e = cos(2πe/n) - i·sin(2πe/n), exact at multiples of a quarter turn.
    this.cosT = new Float64Array(n);
    this.sinT = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      const quarter = (4 * e) % n === 0 ? (4 * e) / n : -1;
      if (quarter >= 0) {
        this.cosT[e] = [1, 0, -1, 0][quarter];
        this.sinT[e] = [0, 1, 0, -1][quarter];
      } else {
        const a = (2 * Math.PI * e) / n;
        this.cosT[e] = Math.cos(a);
        this.sinT[e] = Math.sin(a);
      }
    }
    let L = 1;
    for (const p of factorize(n)) {
      const Lp = L * p;
      const R2 = n / Lp;
      const twRe = new Float64Array(p * L), twIm = new Float64Array(p * L);
      for (let j = 0; j < p; j++) {
        for (let k = 0; k < L; k++) {
          const e = ((j * k) % Lp) * R2; // W_{Lp}^{jk} = W_n^{jk·R2}
          twRe[j * L + k] = this.cosT[e];
          twIm[j * L + k] = -this.sinT[e];
        }
      }
      this.stages.push({ p, L, R2, twRe, twIm });
      L = Lp;
    }
    this.bufRe = new Float64Array(n);
    this.bufIm = new Float64Array(n);
  }

  /** Forward DFT X[k] = Σ x[t]·exp(-2πi·k·t/n), in place on (re, im). */
  forward(re: Float64Array, im: Float64Array): void {
    // Ping-pong between the caller's arrays and one scratch pair; copy back if the result ends in scratch.
    let aRe = re, aIm = im, bRe = this.bufRe, bIm = this.bufIm;
    for (const st of this.stages) {
      this.stage(st, aRe, aIm, bRe, bIm);
      [aRe, bRe] = [bRe, aRe];
      [aIm, bIm] = [bIm, aIm];
    }
    if (aRe !== re) { re.set(aRe); im.set(aIm); }
  }

  private stage(st: Stage, aRe: Float64Array, aIm: Float64Array, bRe: Float64Array, bIm: Float64Array): void {
    const { p, L, R2, twRe, twIm } = st;
    const R = R2 * p; // stride of A (before the stage)
    const n = this.n;
    if (p === 2) {
      for (let k = 0; k < L; k++) {
        const wr = twRe[L + k], wi = twIm[L + k];
        const in0 = k * R, out0 = k * R2, out1 = (k + L) * R2;
        for (let q = 0; q < R2; q++) {
          const x0r = aRe[in0 + q], x0i = aIm[in0 + q];
          const yr = aRe[in0 + q + R2], yi = aIm[in0 + q + R2];
          const x1r = yr * wr - yi * wi, x1i = yr * wi + yi * wr;
          bRe[out0 + q] = x0r + x1r; bIm[out0 + q] = x0i + x1i;
          bRe[out1 + q] = x0r - x1r; bIm[out1 + q] = x0i - x1i;
        }
      }
      return;
    }
    if (p === 4) {
      for (let k = 0; k < L; k++) {
        const w1r = twRe[L + k], w1i = twIm[L + k];
        const w2r = twRe[2 * L + k], w2i = twIm[2 * L + k];
        const w3r = twRe[3 * L + k], w3i = twIm[3 * L + k];
        const in0 = k * R;
        const o0 = k * R2, o1 = (k + L) * R2, o2 = (k + 2 * L) * R2, o3 = (k + 3 * L) * R2;
        for (let q = 0; q < R2; q++) {
          const i0 = in0 + q;
          const x0r = aRe[i0], x0i = aIm[i0];
          let yr = aRe[i0 + R2], yi = aIm[i0 + R2];
          const x1r = yr * w1r - yi * w1i, x1i = yr * w1i + yi * w1r;
          yr = aRe[i0 + 2 * R2]; yi = aIm[i0 + 2 * R2];
          const x2r = yr * w2r - yi * w2i, x2i = yr * w2i + yi * w2r;
          yr = aRe[i0 + 3 * R2]; yi = aIm[i0 + 3 * R2];
          const x3r = yr * w3r - yi * w3i, x3i = yr * w3i + yi * w3r;
          const s02r = x0r + x2r, s02i = x0i + x2i, d02r = x0r - x2r, d02i = x0i - x2i;
          const s13r = x1r + x3r, s13i = x1i + x3i, d13r = x1r - x3r, d13i = x1i - x3i;
          // W_4 = -i
          bRe[o0 + q] = s02r + s13r; bIm[o0 + q] = s02i + s13i;
          bRe[o1 + q] = d02r + d13i; bIm[o1 + q] = d02i - d13r;
          bRe[o2 + q] = s02r - s13r; bIm[o2 + q] = s02i - s13i;
          bRe[o3 + q] = d02r - d13i; bIm[o3 + q] = d02i + d13r;
        }
      }
      return;
    }
    if (p === 5) {
      const c1 = this.cosT[n / 5], c2 = this.cosT[(2 * n) / 5], s1 = this.sinT[n / 5], s2 = this.sinT[(2 * n) / 5];
      const xr = this.r5Re, xi = this.r5Im;
      for (let k = 0; k < L; k++) {
        const in0 = k * R;
        for (let q = 0; q < R2; q++) {
          const i0 = in0 + q;
          const x0r = aRe[i0], x0i = aIm[i0];
          for (let j = 1; j < 5; j++) {
            const yr = aRe[i0 + j * R2], yi = aIm[i0 + j * R2];
            const wr = twRe[j * L + k], wi = twIm[j * L + k];
            xr[j] = yr * wr - yi * wi;
            xi[j] = yr * wi + yi * wr;
          }
          const a1r = xr[1] + xr[4], a1i = xi[1] + xi[4], b1r = xr[1] - xr[4], b1i = xi[1] - xi[4];
          const a2r = xr[2] + xr[3], a2i = xi[2] + xi[3], b2r = xr[2] - xr[3], b2i = xi[2] - xi[3];
          const t1r = x0r + c1 * a1r + c2 * a2r, t1i = x0i + c1 * a1i + c2 * a2i;
          const t2r = x0r + c2 * a1r + c1 * a2r, t2i = x0i + c2 * a1i + c1 * a2i;
          const u1r = s1 * b1r + s2 * b2r, u1i = s1 * b1i + s2 * b2i;
          const u2r = s2 * b1r - s1 * b2r, u2i = s2 * b1i - s1 * b2i;
          bRe[k * R2 + q] = x0r + a1r + a2r; bIm[k * R2 + q] = x0i + a1i + a2i;
          bRe[(k + L) * R2 + q] = t1r + u1i; bIm[(k + L) * R2 + q] = t1i - u1r;
          bRe[(k + 2 * L) * R2 + q] = t2r + u2i; bIm[(k + 2 * L) * R2 + q] = t2i - u2r;
          bRe[(k + 3 * L) * R2 + q] = t2r - u2i; bIm[(k + 3 * L) * R2 + q] = t2i + u2r;
          bRe[(k + 4 * L) * R2 + q] = t1r - u1i; bIm[(k + 4 * L) * R2 + q] = t1i + u1r;
        }
      }
      return;
    }
    // Generic radix: direct p-point DFT with W_p^{m} = W_n^{m·n/p}.
    const step = n / p;
    const xr = new Float64Array(p), xi = new Float64Array(p);
    for (let k = 0; k < L; k++) {
      for (let q = 0; q < R2; q++) {
        const i0 = k * R + q;
        for (let j = 0; j < p; j++) {
          const yr = aRe[i0 + j * R2], yi = aIm[i0 + j * R2];
          const wr = twRe[j * L + k], wi = twIm[j * L + k];
          xr[j] = yr * wr - yi * wi;
          xi[j] = yr * wi + yi * wr;
        }
        for (let s = 0; s < p; s++) {
          let sr = 0, si = 0;
          for (let j = 0; j < p; j++) {
            const e = ((j * s) % p) * step;
            const wr = this.cosT[e], wi = -this.sinT[e];
            sr += xr[j] * wr - xi[j] * wi;
            si += xr[j] * wi + xi[j] * wr;
          }
          const o = (k + L * s) * R2 + q;
          bRe[o] = sr; bIm[o] = si;
        }
      }
    }
  }
}

/**
 * Power spectrum |rfft(x)|² of a real frame (length ≤ n, zero-padded to n), bins 0..n/2, float64.
 * `scratchRe`/`scratchIm` must have length n; `out` length ⌊n/2⌋+1.
 */
export function realPowerSpectrum(fft: FFT, frame: ArrayLike<number>, out: Float64Array,
  scratchRe: Float64Array, scratchIm: Float64Array): void {
  const n = fft.n;
  const m = Math.min(frame.length, n);
  for (let i = 0; i < m; i++) scratchRe[i] = frame[i];
  scratchRe.fill(0, m);
  scratchIm.fill(0);
  fft.forward(scratchRe, scratchIm);
  const nb = (n >> 1) + 1;
  for (let k = 0; k < nb; k++) out[k] = scratchRe[k] * scratchRe[k] + scratchIm[k] * scratchIm[k];
}
