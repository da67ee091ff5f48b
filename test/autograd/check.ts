// Gradient checking helpers: finite differences on the CPU backend and GPU-vs-CPU gradient comparison.
import '../../src/index.js';
import '../../src/autograd/index.js';
import { backwardMany, noGrad } from '../../src/index.js';
import type { Device } from '../../src/index.js';
import type { DType } from '../../src/index.js';
import { Tensor, fromHost, tidy } from '../../src/index.js';
import { assertClose, randn, rng } from '../helpers/gpu.js';

export interface InputSpec {
  shape: number[];
  /** Values (default: N(0, scale²) rounded to multiples of 2^-10 so x ± 2h is exact in f32). */
  values?: ArrayLike<number>;
  scale?: number;
  dtype?: DType;
  /** Whether to check this input's gradient (default true for float inputs). */
  grad?: boolean;
}

export type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

function quantize(v: ArrayLike<number>): Float32Array {
  return Float32Array.from(v, (x) => Math.round(x * 1024) / 1024);
}

export function specValues(specs: InputSpec[], seed: number): ArrayLike<number>[] {
  return specs.map((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.values) return s.values;
    return quantize(randn(n, seed * 31 + i, s.scale ?? 1));
  });
}

function makeInputs(specs: InputSpec[], values: ArrayLike<number>[], target: 'cpu' | Device): Tensor[] {
  return specs.map((s, i) => {
    const t = fromHost(values[i], s.shape, s.dtype ?? 'f32', target);
    t.requiresGrad = (s.grad ?? true) && t.dtype !== 'i32';
    return t;
  });
}

function outputs(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/** Random output weights R (one array per output). */
function weightsFor(outs: Tensor[], seed: number): Float32Array[] {
  return outs.map((o, k) => quantize(randn(o.size, seed * 7 + 1000 + k)));
}

/** loss = Σ_k <out_k, R_k> in float64 on the host. */
async function lossOf(outs: Tensor[], R: Float32Array[]): Promise<number> {
  let s = 0;
  for (let k = 0; k < outs.length; k++) {
    const d = await outs[k].data();
    for (let i = 0; i < d.length; i++) s += d[i] * R[k][i];
  }
  return s;
}

/** Analytic gradients of Σ <f(xs)_k, R_k> for the inputs marked with grad. */
export async function analyticGrads(fn: Fn, specs: InputSpec[], values: ArrayLike<number>[], seed: number, target: 'cpu' | Device): Promise<(Float32Array | null)[]> {
  const xs = makeInputs(specs, values, target);
  // tidy() disposes the forward intermediates: the tape must hold what it needs on its own.
  const outs = outputs(tidy(() => fn(...xs)));
  const R = weightsFor(outs, seed);
  const tracked = outs.filter((o) => o.dtype !== 'i32');
  const gs = tracked.map((o) => fromHost(R[outs.indexOf(o)], o.shape, 'f32', target));
  backwardMany(tracked, gs);
  const res = await Promise.all(xs.map(async (x) => (x.requiresGrad ? (x.grad ? Float32Array.from(await x.grad.data()) : new Float32Array(x.size)) : null)));
  for (const t of [...xs, ...outs, ...gs]) t.dispose();
  for (const x of xs) x.grad?.dispose();
  return res;
}

/**
 * Checks the analytic gradient of Σ <f(xs), R> against 4-point central differences (h = 2^-5) on the CPU.
 * Returns the analytic gradients.
 */
export async function gradcheck(fn: Fn, specs: InputSpec[], opts: { seed?: number; atol?: number; rtol?: number; h?: number; what?: string } = {}): Promise<(Float32Array | null)[]> {
  const seed = opts.seed ?? 1;
  const h = opts.h ?? 1 / 32;
  const values = specValues(specs, seed);
  const analytic = await analyticGrads(fn, specs, values, seed, 'cpu');
  // Numeric: perturb the CPU storages in place.
  const xs = specs.map((s, i) => fromHost(values[i], s.shape, s.dtype ?? 'f32', 'cpu'));
  const R0 = noGrad(() => outputs(fn(...xs)));
  const R = weightsFor(R0, seed);
  for (const t of R0) t.dispose();
  const f = async () => {
    const outs = noGrad(() => outputs(fn(...xs)));
    const l = await lossOf(outs, R);
    for (const t of outs) t.dispose();
    return l;
  };
  for (let i = 0; i < specs.length; i++) {
    if (!analytic[i]) continue;
    const host = xs[i].storage.host!;
    const num = new Float64Array(host.length);
    for (let j = 0; j < host.length; j++) {
      const x0 = host[j];
      const at = async (d: number) => {
        host[j] = x0 + d * h;
        return f();
      };
      const fp1 = await at(1), fm1 = await at(-1), fp2 = await at(2), fm2 = await at(-2);
      host[j] = x0;
      num[j] = (8 * (fp1 - fm1) - (fp2 - fm2)) / (12 * h);
    }
    assertClose(analytic[i]!, num, opts.atol ?? 2e-3, opts.rtol ?? 2e-3, `${opts.what ?? 'grad'} input ${i}`);
  }
  for (const t of xs) t.dispose();
  return analytic;
}

/** The same gradients on the GPU and on the CPU. */
export async function gpuMatchesCpu(dev: Device, fn: Fn, specs: InputSpec[], opts: { seed?: number; atol?: number; rtol?: number; what?: string } = {}): Promise<void> {
  const seed = opts.seed ?? 1;
  const values = specValues(specs, seed);
  const c = await analyticGrads(fn, specs, values, seed, 'cpu');
  const g = await analyticGrads(fn, specs, values, seed, dev);
  for (let i = 0; i < specs.length; i++) {
    if (!c[i]) continue;
    assertClose(g[i]!, c[i]!, opts.atol ?? 1e-4, opts.rtol ?? 1e-4, `${opts.what ?? 'grad'} GPU vs CPU input ${i}`);
  }
}

export { rng };
