// Gradient of sum along an axis: the output gradient broadcast back over the axis (a view).
import { registerGrad } from '../tape.js';
import { keepAxis } from './util.js';

registerGrad<{ axis: number; keepDims: boolean }>('sum', {
  backward: (c, [g]) => [keepAxis(g!, c.attrs.axis, c.attrs.keepDims).broadcastTo([...c.inputs[0].shape])],
});
