// Helpers shared by the gradient definitions (all written with ops, so every backend has them).
import * as o from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import type { Device } from '../../tensor/device.js';
import { Tensor, fromHost, keep } from '../../tensor/tensor.js';

/** Sums `g` down to `shape` (undoing NumPy broadcasting: leading axes and size-1 axes). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  let x = g;
  const lead = g.rank - shape.length;
  // Reduce from the last axis so earlier axis numbers stay valid.
  for (let ax = g.rank - 1; ax >= 0; ax--) {
    const want = ax < lead ? 1 : shape[ax - lead];
    if (want === 1 && x.shape[ax] !== 1) {
      const y = sum(x, ax, true);
      if (x !== g) x.dispose();
      x = y;
    }
  }
  const r = x.reshape([...shape]);
  if (x !== g && r !== x) x.dispose();
  return r;
}

const caches = new Map<Device | 'cpu', Map<string, Tensor>>();
/** A cached f32 constant tensor on the backend of `like`, built once per key (never disposed). */
export function cachedConstant(like: Tensor, key: string, shape: number[], values: () => ArrayLike<number>): Tensor {
  const target = targetOf(like);
  let m = caches.get(target);
  if (!m) caches.set(target, (m = new Map()));
  let t = m.get(key);
  if (!t || t.isDisposed) {
    t = keep(fromHost(values(), shape, 'f32', target));
    m.set(key, t);
  }
  return t;
}

/** A cached rank-0 f32 constant on the backend of `like`. */
export function constant(like: Tensor, v: number): Tensor {
  return cachedConstant(like, `c:${v}`, [], () => [v]);
}

export function targetOf(like: Tensor): 'cpu' | Device {
  return like.backend === 'cpu' ? 'cpu' : like.device!;
}

/** Inverse of a permutation. */
export function invertPerm(dims: readonly number[]): number[] {
  const inv = new Array<number>(dims.length);
  dims.forEach((d, i) => (inv[d] = i));
  return inv;
}

/** A contiguous f32 zero tensor of `shape` on the backend of `like` (computed by a kernel, pooled). */
export function zerosOf(like: Tensor, shape: readonly number[]): Tensor {
  return constant(like, 0).broadcastTo([...shape]).contiguous();
}

/** A cached f32 [n] tensor 0, 1, ..., n-1 on the backend of `like`. */
export function arangeOf(like: Tensor, n: number): Tensor {
  return cachedConstant(like, `arange:${n}`, [n], () => Float32Array.from({ length: n }, (_, i) => i));
}

/** `g` of a reduction's output seen with the reduced axis kept (size 1). */
export function keepAxis(g: Tensor, axis: number, keepDims: boolean): Tensor {
  return keepDims ? g : g.unsqueeze(axis);
}

/** Rows of the last axis: [..., D] -> [N, D] (a view when possible). */
export function rows(t: Tensor): Tensor {
  return t.reshape([-1, t.shape[t.rank - 1]]);
}

/** d gelu(x)/dx for the exact-erf GELU: Φ(x) + x·φ(x), with Φ(x) = gelu(x)/x (no erf op), 1/2 near 0. */
export function geluDeriv(x: Tensor): Tensor {
  return o.geluGrad(x);
}

/** d silu(x)/dx, fused. */
export function siluDeriv(x: Tensor): Tensor {
  return o.siluGrad(x);
}

/** g ⊙ act'(z) for the matmul epilogue activations. */
export function activationGrad(act: 'gelu' | 'silu' | 'relu' | 'none', z: Tensor, g: Tensor): Tensor {
  if (act === 'none') return g;
  if (act === 'relu') return o.mul(g, o.greater(z, constant(z, 0)));
  return o.mul(g, act === 'gelu' ? geluDeriv(z) : siluDeriv(z));
}
