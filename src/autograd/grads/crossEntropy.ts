// Gradient of crossEntropy (mean over rows whose target is not ignoreIndex, as torch):
// dlogits = g · (softmax(logits) - onehot(target)) · valid / count(valid). Targets get no gradient.
import { div, equal, mul, sub, affine } from '../../ops/elementwise.js';
import { softmax, sum } from '../../ops/reduce.js';
import { registerGrad } from '../tape.js';
import { arangeOf, constant } from './util.js';

registerGrad<{ ignoreIndex: number }>('crossEntropy', {
  save: ({ inputs: [logits, t] }) => [logits, t],
  backward(c, [g]) {
    const [logits, t] = c.saved;
    const V = c.inputs[0].shape[1];
    const tc = t!.reshape([-1, 1]);
    const onehot = equal(tc, arangeOf(logits!, V));
    const valid = affine(equal(tc, constant(logits!, c.attrs.ignoreIndex)), -1, 1); // [N, 1]
    const count = sum(valid, 0, true); // [1, 1]
    const w = div(mul(valid, g!), count); // [N, 1]
    return [mul(sub(softmax(logits!, -1), onehot), w), null];
  },
});
