// Gradient of broadcastTo: the gradient summed over the broadcast axes.
import { registerGrad } from '../tape.js';
import { sumTo } from './util.js';

registerGrad('broadcastTo', {
  backward: (c, [g]) => [sumTo(g!, c.inputs[0].shape)],
});
