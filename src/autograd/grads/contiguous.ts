// Gradient of contiguous: identity.
import { registerGrad } from '../tape.js';

registerGrad('contiguous', {
  backward: (_c, [g]) => [g],
});
