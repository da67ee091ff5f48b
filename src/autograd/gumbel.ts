// Hard Gumbel-sigmoid with a straight-through gradient, exactly as AHAMask trains its head mask (spec §5):
//   θ_b = θ repeated to (batch, n);  G = log(E), E ~ Exp(1) independent per batch row and entry
//   y_soft = sigmoid((θ_b + G) / τ);  forward y_hard = 1[y_soft > 0.5];  backward through y_soft.
import { AhamaskError } from '../errors.js';
import { div, greater, log, sigmoid, add, sub } from '../ops/elementwise.js';
import { Tensor, fromHost } from '../tensor/tensor.js';
import { constant, targetOf } from './grads/util.js';
import { Rng } from './rng.js';
import { detach, isGradEnabled, recordOp } from './tape.js';

export interface GumbelSigmoidOptions {
  /** Temperature τ > 0; or a scalar tensor holding it on θ's target (uploaded by the caller with its other inputs). */
  tau: number | Tensor;
  /** Rows of independent noise; the result is [batch, ...θ.shape]. Default 1. */
  batch?: number;
  /**
   * The Exp(1) draws E: 'sample' (default, from `rng`), 'none' (E = 1, i.e. G = 0: no noise), or given values
   * (batch·n numbers or a tensor of that size, row-major [batch, n]) to replay reference noise.
   */
  noise?: 'sample' | 'none' | ArrayLike<number> | Tensor;
  rng?: Rng;
  /** false: return y_soft itself (no hard threshold). Default true. */
  hard?: boolean;
  /**
   * Compute the forward value as PyTorch does, y_hard - y_soft.detach() + y_soft in f32 (may differ from 0/1 by
   * an ulp). Default false: the forward value is exactly y_hard.
   */
  torchArithmetic?: boolean;
}

/** E ~ Exp(1) draws for `n` entries (f32, as torch's exponential_ on a float tensor). */
export function sampleExponential(rng: Rng, n: number): Float32Array {
  return rng.exponentialArray(n);
}

/** The hard Gumbel-sigmoid sample m [batch, ...θ.shape]; its gradient reaches θ through y_soft. */
export function gumbelSigmoid(theta: Tensor, opts: GumbelSigmoidOptions): Tensor {
  const { tau } = opts;
  if (tau instanceof Tensor) {
    if (tau.size !== 1) throw new AhamaskError(`gumbelSigmoid: a tau tensor must hold one value, got [${tau.shape}]`);
  } else if (!(tau > 0)) throw new AhamaskError(`gumbelSigmoid: tau must be > 0, got ${tau}`);
  const batch = opts.batch ?? 1;
  const n = theta.size;
  const shape = [batch, ...theta.shape];
  const target = targetOf(theta);
  const noise = opts.noise ?? 'sample';
  const tmp: Tensor[] = [];
  let z: Tensor;
  // uploaded before any dispatch of this op (an upload after recorded work ends the command buffer)
  const tauT = tau instanceof Tensor ? tau.reshape([]) : fromHost([tau], [], 'f32', target);
  const u = theta.unsqueeze(0);
  const thetaB = u.broadcastTo(shape);
  u.dispose();
  tmp.push(thetaB);
  if (noise === 'none') {
    z = thetaB;
  } else {
    let e: Tensor;
    if (noise instanceof Tensor) {
      if (noise.size !== batch * n) throw new AhamaskError(`gumbelSigmoid: noise has ${noise.size} values, need ${batch * n}`);
      e = noise.reshape(shape);
    } else {
      let values: ArrayLike<number>;
      if (noise === 'sample') {
        if (!opts.rng) throw new AhamaskError("gumbelSigmoid: noise 'sample' needs an rng");
        values = sampleExponential(opts.rng, batch * n);
      } else {
        if (noise.length !== batch * n) throw new AhamaskError(`gumbelSigmoid: noise has ${noise.length} values, need ${batch * n}`);
        values = noise;
      }
      e = fromHost(values, shape, 'f32', target);
    }
    tmp.push(e);
    const gNoise = log(e);
    tmp.push(gNoise);
    z = add(thetaB, gNoise);
    tmp.push(z);
  }
  const scaled = div(z, tauT);
  const soft = sigmoid(scaled);
  for (const t of [...tmp, tauT, scaled]) if (t !== theta) t.dispose();
  if (opts.hard === false) return soft;
  const hard = greater(soft, constant(soft, 0.5));
  if (opts.torchArithmetic) {
    const d = detach(soft);
    const a = sub(hard, d);
    const m = add(a, soft);
    for (const t of [d, a, hard, soft]) t.dispose();
    return m;
  }
  // Forward value: the hard sample; gradient: identity to y_soft.
  if (isGradEnabled()) recordOp('straightThrough', [soft], {}, [hard]);
  soft.dispose();
  return hard;
}

/** AHAMask's temperature schedule: linear from `start` to `end` over `decaySteps` global steps, then `end`. */
export function gumbelTau(step: number, opts: { start?: number; end?: number; decaySteps: number }): number {
  const start = opts.start ?? 4.0, end = opts.end ?? 0.05;
  if (step >= opts.decaySteps) return end;
  return start - (step / opts.decaySteps) * (start - end);
}

/** τ for AHAMask's run config: 4.0 → 0.05 over the first 30 % of `totalSteps` (27 000 of 90 000). */
export function ahamaskTau(step: number, totalSteps = 90000, fraction = 0.3): number {
  return gumbelTau(step, { decaySteps: fraction * totalSteps });
}
