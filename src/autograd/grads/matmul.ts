// Gradient of matmul: out = act(alpha·op(a)@op(b) + bias) + residual, op = transpose when transA/transB.
// Only the wanted operands get a gradient (a frozen weight never gets dW, and is all that is saved for dx).
// With an activation the pre-activation is recomputed from the saved operands (no extra activation memory).
// Broadcast batch dims are summed back; a rank-2 b shared by a batched a gets dB from one flattened matmul.
import { matmul, MatmulAttrs } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { activationGrad, sumTo } from './util.js';

registerGrad<MatmulAttrs>('matmul', {
  save({ inputs, needs, attrs }) {
    const act = attrs.activation !== 'none';
    const ib = attrs.hasBias ? 2 : -1;
    return [needs[1] || act ? inputs[0] : null, needs[0] || act ? inputs[1] : null, act && ib >= 0 ? inputs[ib] : null];
  },
  backward(c, [g]) {
    const { transA, transB, alpha, activation, hasBias, hasResidual } = c.attrs;
    const [a, b, bias] = c.saved;
    const ib = hasBias ? 2 : -1, ir = hasResidual ? (hasBias ? 3 : 2) : -1;
    const out: (Tensor | null)[] = c.inputs.map(() => null);
    if (ir >= 0 && c.needs[ir]) out[ir] = sumTo(g!, c.inputs[ir].shape);
    const wantA = c.needs[0], wantB = c.needs[1], wantBias = ib >= 0 && c.needs[ib];
    if (!wantA && !wantB && !wantBias) return out;
    let dz = g!;
    if (activation !== 'none') {
      const z = matmul(a!, b!, { transA, transB, alpha, bias: bias ?? undefined });
      dz = activationGrad(activation, z, g!);
    }
    const N = dz.shape[dz.rank - 1];
    if (wantBias) out[ib] = sum(dz.reshape([-1, N]), 0, false).reshape([...c.inputs[ib].shape]);
    const aShape = c.inputs[0].shape, bShape = c.inputs[1].shape;
    if (wantA) {
      // d op(a) = dz @ op(b)^T
      const da = transA
        ? matmul(b!, dz, { transA: transB, transB: true, alpha }) // (dz op(b)^T)^T = op(b) dz^T
        : matmul(dz, b!, { transB: !transB, alpha });
      out[0] = sumTo(da, aShape);
    }
    if (wantB) {
      // d op(b) = op(a)^T @ dz
      if (bShape.length === 2 && aShape.length > 2 && !transA) {
        const K = aShape[aShape.length - 1];
        const a2 = a!.reshape([-1, K]), dz2 = dz.reshape([-1, N]);
        out[1] = transB ? matmul(dz2, a2, { transA: true, alpha }) : matmul(a2, dz2, { transA: true, alpha });
      } else {
        const db = transB
          ? matmul(dz, a!, { transA: true, transB: transA, alpha }) // dz^T op(a)
          : matmul(a!, dz, { transA: !transA, alpha });
        out[1] = sumTo(db, bShape);
      }
    }
    return out;
  },
});
