// Gradient of reshape (also unsqueeze/squeeze): the gradient reshaped back.
import { registerGrad } from '../tape.js';

registerGrad('reshape', {
  backward: (c, [g]) => [g!.reshape([...c.inputs[0].shape])],
});
