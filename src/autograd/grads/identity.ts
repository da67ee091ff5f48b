// Gradient of identity: d/dx x = 1
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('identity', {
  backward(c, [g]) {
    return [g];
  },
});
