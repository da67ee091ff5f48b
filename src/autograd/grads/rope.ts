// Gradient of rotary embedding. y = R(θ)x with R(θ) = cos·I + sin·P (P = rotate_half, P² = -I) is orthogonal,
// so dx = R(-θ)g = S·R(θ)·S·g with S = diag(+1 first half, -1 second half) (S·P·S = -P): the same kernel with
// the same positions, between two sign flips.
import { mul } from '../../ops/elementwise.js';
import { run1 } from '../../kernels/registry.js';
import { registerGrad } from '../tape.js';
import { cachedConstant } from './util.js';

registerGrad('rope', {
  save: ({ inputs: [, p] }) => [p],
  backward(c, [g]) {
    const D = c.inputs[0].shape[3];
    const s = cachedConstant(g!, `ropeSign:${D}`, [D], () => Float32Array.from({ length: D }, (_, i) => (i < D / 2 ? 1 : -1)));
    return [mul(run1('rope', [mul(g!, s), c.saved[0]!], c.attrs), s), null];
  },
});
