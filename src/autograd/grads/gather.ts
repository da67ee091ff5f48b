// Gradient of gather (embedding lookup): scatter-add of the row gradients into the table, written as
// onehot(ids)ᵀ @ g (one matmul; O(N·V·D), fine for small vocabularies; frozen tables never compute it).
// Ids get no gradient.
import { equal } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { registerGrad } from '../tape.js';
import { arangeOf } from './util.js';

registerGrad('gather', {
  save: ({ inputs: [, ids], needs }) => [needs[0] ? ids : null],
  backward(c, [g]) {
    const [V, D] = c.inputs[0].shape;
    const ids = c.saved[0]!;
    const onehot = equal(ids.reshape([-1, 1]), arangeOf(g!, V)); // [N, V]
    return [matmul(onehot, g!.reshape([-1, D]), { transA: true }), null];
  },
});
