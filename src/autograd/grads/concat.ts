// Gradient of concat: each input gets its slice of the output gradient.
import { registerGrad } from '../tape.js';

registerGrad<{ axis: number }>('concat', {
  backward(c, [g]) {
    const { axis } = c.attrs;
    let at = 0;
    return c.inputs.map((m, i) => {
      const n = m.shape[axis];
      const r = c.needs[i] ? g!.slice(axis, at, at + n) : null;
      at += n;
      return r;
    });
  },
});
