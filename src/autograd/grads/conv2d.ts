// Gradient of conv2d: y = conv(x, w) + bias, x [B, Cin, H, W], w [Cout, Cin, kh, kw], y [B, Cout, Ho, Wo].
// Only the wanted inputs get a gradient (a frozen weight never computes dW, a frozen input never computes dx).
//  - db: Σ over batch and space of dy.
//  - dW: im2col of the zero-padded x as one strided view [Cin·kh·kw, B·Ho·Wo] (for BEATs' patch embedding,
//        stride = kernel and no padding, that is a plain permuted copy of x), then dy [Cout, B·Ho·Wo] @ colsᵀ.
//  - dx, stride = kernel (non-overlapping patches): wᵀ @ dy gives every patch's gradient, permuted back into
//        place (col2im without overlap), zero-filled where no window reached, cropped by the padding.
//  - dx, general: transposed convolution: dy zero-inserted between steps, windowed (padded/cropped) in
//        both dims so that a stride-1 conv2d with the spatially flipped, in/out-swapped weight gives H × W.
import { conv2d } from '../../ops/conv.js';
import { add } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { IM2COL_CHUNK, flipRows, windowAxis, zeroInsert } from './conv1d.js';

export interface Conv2dGradAttrs {
  stride: [number, number];
  padding: [number, number];
  hasBias?: boolean;
}

registerGrad<Conv2dGradAttrs>('conv2d', {
  save: ({ inputs, needs }) => [needs[1] ? inputs[0] : null, needs[0] ? inputs[1] : null],
  backward(c, [g]) {
    const { stride: [sh, sw], padding: [ph, pw], hasBias } = c.attrs;
    const [x, w] = c.saved;
    const [B, Cin, H, W] = c.inputs[0].shape;
    const [Cout, , kh, kw] = c.inputs[1].shape;
    const [, , Ho, Wo] = c.outputs[0].shape;
    const dy = g!;
    const out: (Tensor | null)[] = c.inputs.map(() => null);
    if (hasBias && c.needs[2]) out[2] = sum(sum(sum(dy, 3, false), 2, false), 0, false);
    if (c.needs[1]) {
      // Only the rows/columns the windows reach, zero-padded where they leave x.
      const xp = windowAxis(windowAxis(x!, 2, -ph, (Ho - 1) * sh + kh), 3, -pw, (Wo - 1) * sw + kw);
      const per = Cin * kh * kw * Ho * Wo;
      const chunk = Math.max(1, Math.min(B, Math.floor(IM2COL_CHUNK / Math.max(1, per))));
      let dw: Tensor | null = null;
      for (let b0 = 0; b0 < B; b0 += chunk) {
        const nb = Math.min(chunk, B - b0);
        const xb = nb === B ? xp : xp.slice(0, b0, b0 + nb);
        const [sB, sC, sH, sW] = xb.strides;
        const cols = xb
          .view([Cin, kh, kw, nb, Ho, Wo], [sC, sH, sW, sB, sH * sh, sW * sw], xb.offset)
          .contiguous()
          .reshape([Cin * kh * kw, nb * Ho * Wo]);
        const dyb = (nb === B ? dy : dy.slice(0, b0, b0 + nb)).permute([1, 0, 2, 3]).reshape([Cout, nb * Ho * Wo]);
        const part = matmul(dyb, cols, { transB: true }); // [Cout, Cin·kh·kw]
        dw = dw ? add(dw, part) : part;
      }
      out[1] = dw!.reshape([Cout, Cin, kh, kw]);
    }
    if (c.needs[0]) {
      if (sh === kh && sw === kw) {
        // Patch gradients [B, Cin·kh·kw, Ho·Wo] -> [B, Cin, Ho, kh, Wo, kw] -> [B, Cin, Ho·kh, Wo·kw] (padded coords).
        const cols = matmul(w!.reshape([Cout, Cin * kh * kw]), dy.reshape([B, Cout, Ho * Wo]), { transA: true });
        const img = cols.reshape([B, Cin, kh, kw, Ho, Wo]).permute([0, 1, 4, 2, 5, 3]).reshape([B, Cin, Ho * kh, Wo * kw]);
        out[0] = windowAxis(windowAxis(img, 2, ph, H), 3, pw, W);
      } else {
        // wT [Cin, Cout, kh, kw]: wT[ci, co, i, j] = w[co, ci, kh−1−i, kw−1−j] (one row flip over kh·kw).
        const wk = w!.reshape([Cout, Cin, kh * kw]).permute([2, 1, 0]).reshape([kh * kw, Cin * Cout]);
        const wT = flipRows(wk).reshape([kh, kw, Cin, Cout]).permute([2, 3, 0, 1]).contiguous();
        const du = zeroInsert(zeroInsert(dy, 2, sh), 3, sw);
        const v = windowAxis(windowAxis(du, 2, ph - (kh - 1), H + kh - 1), 3, pw - (kw - 1), W + kw - 1);
        out[0] = conv2d(v, wT);
      }
    }
    return out;
  },
});
