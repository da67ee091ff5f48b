// Ops of the matmul group: matmul (batched, transposes, fused bias/activation/residual/alpha epilogue) and linear.
import { ShapeError } from '../errors.js';
import { run1 } from '../kernels/registry.js';
import { matmulShapes } from '../kernels/signatures.js';
import type { MatmulActivation, MatmulAttrs } from '../kernels/signatures.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { QuantizedWeight, qlinear } from './quant.js';

export interface MatmulOptions {
  /** a is [..., K, M] (use its transpose). */
  transA?: boolean;
  /** b is [..., N, K] (use its transpose; PyTorch Linear weights are [out, in]). */
  transB?: boolean;
  /** [N], added after alpha scaling. */
  bias?: Tensor;
  /** Applied after the bias (GELU is the exact-erf one, as the elementwise op). */
  activation?: MatmulActivation;
  /** [..., M, N] (broadcast to the output), added after the activation. */
  residual?: Tensor;
  /** Scales a@b. */
  alpha?: number;
}

// The 'matmul' kernel's signature (attrs, input order, shapes) lives below the ops, with the kernels.
export type { MatmulActivation, MatmulAttrs } from '../kernels/signatures.js';
export { matmulInputs, matmulShapes } from '../kernels/signatures.js';

/**
 * out = act(alpha * a@b + bias) + residual. a [..., M, K] (or [..., K, M] with transA), b [..., K, N] (or
 * [..., N, K] with transB); batch dims broadcast (a rank-2 b is shared by every batch of a). f32 or f16
 * inputs, f32 output with f32 accumulation.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = !!opts.transA, transB = !!opts.transB;
  const { out, N } = matmulShapes(a, b, transA, transB);
  const inputs = [a, b];
  if (opts.bias) {
    const bs = opts.bias.shape;
    if (opts.bias.size !== N || (bs.length > 0 && bs[bs.length - 1] !== N)) {
      throw new ShapeError(`matmul bias must have ${N} elements (shape [${N}]), got [${bs}]`);
    }
    inputs.push(opts.bias);
  }
  if (opts.residual) {
    let ok = opts.residual.rank <= out.length;
    if (ok) {
      try {
        ok = broadcastShapes(opts.residual.shape, out).join() === out.join();
      } catch {
        ok = false;
      }
    }
    if (!ok) throw new ShapeError(`matmul residual [${opts.residual.shape}] does not broadcast to the output [${out}]`);
    inputs.push(opts.residual);
  }
  const activation = opts.activation ?? 'none';
  if (!['gelu', 'silu', 'relu', 'none'].includes(activation)) throw new ShapeError(`unknown matmul activation '${activation}'`);
  const attrs: MatmulAttrs = { transA, transB, activation, alpha: opts.alpha ?? 1, hasBias: !!opts.bias, hasResidual: !!opts.residual };
  return run1('matmul', inputs, attrs);
}

/** x [..., in] @ weight[out, in]^T + bias[out] (+ activation, + residual [..., out]); the weight may be quantized. */
export function linear(x: Tensor, weight: Tensor | QuantizedWeight, bias?: Tensor, opts: { activation?: MatmulActivation; residual?: Tensor } = {}): Tensor {
  if (weight instanceof QuantizedWeight) return qlinear(x, weight, bias, opts);
  if (weight.rank !== 2) throw new ShapeError(`linear weight must be [out, in], got [${weight.shape}]`);
  if (x.rank < 1) throw new ShapeError('linear input must have rank >= 1');
  const inF = weight.shape[1];
  if (x.shape[x.rank - 1] !== inF) throw new ShapeError(`linear input [${x.shape}] does not end in ${inF} (weight [${weight.shape}])`);
  const x2 = x.rank === 1 ? x.reshape([1, inF]) : x;
  const y = matmul(x2, weight, { transB: true, bias, activation: opts.activation, residual: opts.residual });
  if (x2 !== x) x2.dispose();
  if (x.rank === 1) {
    const r = y.reshape([weight.shape[0]]);
    y.dispose();
    return r;
  }
  return y;
}
