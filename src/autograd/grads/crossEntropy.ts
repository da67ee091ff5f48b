// Gradients of crossEntropy (mean over rows whose target is not ignoreIndex, as torch) and crossEntropyPerRow
// (reduction 'none', 0 for ignored rows): dlogits = (softmax(logits) - onehot(target)) · valid · w, with
// w = g / count(valid) for the mean and g[row] per row. Targets get no gradient.
import { affine, div, equal, mul, sub } from '../../ops/elementwise.js';
import { softmax, sum } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { arangeOf, constant } from './util.js';

/** softmax(logits) - onehot(targets) [N, V] and the valid-row indicator [N, 1]. */
function rowGrad(logits: Tensor, targets: Tensor, ignoreIndex: number): [Tensor, Tensor] {
  const tc = targets.reshape([-1, 1]);
  const onehot = equal(tc, arangeOf(logits, logits.shape[1]));
  const valid = affine(equal(tc, constant(logits, ignoreIndex)), -1, 1);
  return [sub(softmax(logits, -1), onehot), valid];
}

registerGrad<{ ignoreIndex: number }>('crossEntropy', {
  save: ({ inputs: [logits, t] }) => [logits, t],
  backward(c, [g]) {
    const [d, valid] = rowGrad(c.saved[0]!, c.saved[1]!, c.attrs.ignoreIndex);
    return [mul(d, div(mul(valid, g!), sum(valid, 0, true))), null];
  },
});

registerGrad<{ ignoreIndex: number }>('crossEntropyPerRow', {
  save: ({ inputs: [logits, t] }) => [logits, t],
  backward(c, [g]) {
    const [d, valid] = rowGrad(c.saved[0]!, c.saved[1]!, c.attrs.ignoreIndex);
    return [mul(d, mul(valid, g!.reshape([-1, 1]))), null];
  },
});
