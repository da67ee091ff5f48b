// Gradient of permute (also transpose): the gradient permuted by the inverse permutation (a view).
import { registerGrad } from '../tape.js';
import { invertPerm } from './util.js';

registerGrad<{ dims: number[] }>('permute', {
  backward: (c, [g]) => [g!.permute(invertPerm(c.attrs.dims))],
});
