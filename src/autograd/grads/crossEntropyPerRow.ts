// Gradient of crossEntropyPerRow (reduction 'none', 0 for ignored rows):
// dlogits = g[row] · (softmax(logits) - onehot(target)) for rows whose target is not ignoreIndex.
import { equal, mul, sub, affine } from '../../ops/elementwise.js';
import { softmax } from '../../ops/reduce.js';
import { registerGrad } from '../tape.js';
import { arangeOf, constant } from './util.js';

registerGrad<{ ignoreIndex: number }>('crossEntropyPerRow', {
  save: ({ inputs: [logits, t] }) => [logits, t],
  backward(c, [g]) {
    const [logits, t] = c.saved;
    const V = c.inputs[0].shape[1];
    const tc = t!.reshape([-1, 1]);
    const onehot = equal(tc, arangeOf(logits!, V));
    const valid = affine(equal(tc, constant(logits!, c.attrs.ignoreIndex)), -1, 1);
    return [mul(sub(softmax(logits!, -1), onehot), mul(valid, g!.reshape([-1, 1]))), null];
  },
});
