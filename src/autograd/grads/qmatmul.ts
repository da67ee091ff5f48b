// Gradient of a linear over a quantized, frozen weight ('qmatmul', src/ops/quant.ts): activation gradients only.
// dX = dZ · W over the dequantized weight (straight through LLM.int8's activation quantization, as
// bitsandbytes' backward); W is dequantized in row chunks of at most 32 MiB (f32), so the transient stays small
// whatever the layer, and the chunks' products are accumulated through the matmul residual. The packed weight
// never gets a gradient (it is i32); a trainable bias or residual gets the usual one.
import { matmul } from '../../ops/matmul.js';
import { dequantize, weightOf, type QMatmulAttrs } from '../../ops/quant.js';
import { sum } from '../../ops/reduce.js';
import { run1 } from '../../kernels/registry.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { activationGrad, sumTo } from './util.js';

/** f32 elements of one dequantized chunk of W in the backward (a field so tests can force several chunks). */
export const qmatmulGradChunk = { elements: 8 * 2 ** 20 };

registerGrad<QMatmulAttrs>('qmatmul', {
  save({ inputs, needs, attrs }) {
    const act = attrs.activation !== 'none';
    const ib = attrs.hasBias ? 3 : -1;
    return [act ? inputs[0] : null, inputs[1], inputs[2], act && ib >= 0 ? inputs[ib] : null];
  },
  backward(c, [g]) {
    const a = c.attrs;
    const [x, packed, scales, bias] = c.saved;
    const ib = a.hasBias ? 3 : -1, ir = a.hasResidual ? (a.hasBias ? 4 : 3) : -1;
    const out: (Tensor | null)[] = c.inputs.map(() => null);
    if (ir >= 0 && c.needs[ir]) out[ir] = sumTo(g!, c.inputs[ir].shape);
    const wantX = c.needs[0], wantBias = ib >= 0 && c.needs[ib];
    if (!wantX && !wantBias) return out;
    let dz = g!;
    if (a.activation !== 'none') {
      const zIn = bias ? [x!, packed!, scales!, bias] : [x!, packed!, scales!];
      const z = run1<QMatmulAttrs>('qmatmul', zIn, { ...a, activation: 'none', hasResidual: false });
      dz = activationGrad(a.activation, z, g!);
      z.dispose();
    }
    if (wantBias) out[ib] = sum(dz, 0, false).reshape([...c.inputs[ib].shape]);
    if (wantX) {
      const w = weightOf(packed!, scales!, a);
      const rows = Math.max(1, Math.floor(qmatmulGradChunk.elements / a.K));
      let dx: Tensor | null = null;
      for (let n0 = 0; n0 < a.N; n0 += rows) {
        const n1 = Math.min(a.N, n0 + rows);
        const wc = dequantize(w, n0, n1);
        const dzc = n0 === 0 && n1 === a.N ? dz : dz.slice(1, n0, n1);
        const next: Tensor = matmul(dzc, wc, dx ? { residual: dx } : {});
        if (dzc !== dz) dzc.dispose();
        wc.dispose();
        dx?.dispose();
        dx = next;
      }
      out[0] = dx;
    }
    if (dz !== g) dz.dispose();
    return out;
  },
});
