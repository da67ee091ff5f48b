// Helpers shared by the gradient definitions (all written with ops, so every backend has them).
import { AhamaskError } from '../../errors.js';
import * as reduceOps from '../../ops/reduce.js';
import type { Device } from '../../tensor/device.js';
import { Tensor, fromHost, keep } from '../../tensor/tensor.js';

type SumFn = (x: Tensor, axis: number, keepDims?: boolean) => Tensor;
function sumOp(): SumFn {
  const f = (reduceOps as unknown as { sum?: SumFn }).sum;
  if (!f) throw new AhamaskError('autograd: the reduce group (sum) is not available yet');
  return f;
}

/** Sums `g` down to `shape` (undoing NumPy broadcasting: leading axes and size-1 axes). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const sum = sumOp();
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

const consts = new Map<Device | 'cpu', Map<number, Tensor>>();
/** A cached rank-0 f32 constant on the backend of `like` (never disposed). */
export function constant(like: Tensor, v: number): Tensor {
  const key = like.backend === 'cpu' ? 'cpu' : like.device!;
  let m = consts.get(key);
  if (!m) consts.set(key, (m = new Map()));
  let t = m.get(v);
  if (!t || t.isDisposed) {
    t = keep(fromHost([v], [], 'f32', key));
    m.set(v, t);
  }
  return t;
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
