// Gradient of the straight-through estimator recorded by gumbelSigmoid: the forward value is the hard
// sample, the gradient passes unchanged to the soft value (input 0).
import { registerGrad } from '../tape.js';

registerGrad('straightThrough', {
  backward: (_c, [g]) => [g],
});
