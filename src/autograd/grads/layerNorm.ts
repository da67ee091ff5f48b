// Gradient of LayerNorm over the last dim (biased variance, as torch): with x̂ = (x - μ)·r, r = 1/sqrt(var + eps),
// dx̂ = g ⊙ w; dx = r ⊙ (dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂)); dw = Σ_rows g ⊙ x̂; db = Σ_rows g.
import { addScalar, mul, rsqrt, square, sub } from '../../ops/elementwise.js';
import { mean, sum } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { rows } from './util.js';

interface Attrs {
  eps: number;
  hasWeight: boolean;
  hasBias: boolean;
}

registerGrad<Attrs>('layerNorm', {
  save: ({ inputs, needs, attrs }) => {
    const needX = needs[0] || (attrs.hasWeight && needs[1]);
    return [needX ? inputs[0] : null, attrs.hasWeight && needs[0] ? inputs[1] : null];
  },
  backward(c, [g]) {
    const { eps, hasWeight, hasBias } = c.attrs;
    const [x, w] = c.saved;
    const iw = hasWeight ? 1 : -1, ib = hasBias ? (hasWeight ? 2 : 1) : -1;
    const out: (Tensor | null)[] = c.inputs.map(() => null);
    const G = rows(g!);
    if (ib >= 0 && c.needs[ib]) out[ib] = sum(G, 0, false);
    if (!c.needs[0] && !(iw >= 0 && c.needs[iw])) return out;
    const mu = mean(x!, -1, true);
    const xc = sub(x!, mu);
    const r = rsqrt(addScalar(mean(square(xc), -1, true), eps));
    const xhat = mul(xc, r);
    if (iw >= 0 && c.needs[iw]) out[iw] = sum(rows(mul(g!, xhat)), 0, false);
    if (c.needs[0]) {
      const dxhat = w ? mul(g!, w) : g!;
      const inner = sub(sub(dxhat, mean(dxhat, -1, true)), mul(xhat, mean(mul(dxhat, xhat), -1, true)));
      out[0] = mul(r, inner);
    }
    return out;
  },
});
