// Gradient of mean along an axis: the output gradient / n broadcast back over the axis.
import { scale } from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { keepAxis } from './util.js';

registerGrad<{ axis: number; keepDims: boolean }>('mean', {
  backward(c, [g]) {
    const n = c.inputs[0].shape[c.attrs.axis];
    return [scale(keepAxis(g!, c.attrs.axis, c.attrs.keepDims), 1 / n).broadcastTo([...c.inputs[0].shape])];
  },
});
