// CPU reference kernels for the conv group (registered on import): direct convolution in float64.
import { Tensor, empty } from '../../tensor/tensor.js';
import { erf } from '../elementwise-defs.js';
import { registerKernel } from '../registry.js';

function dense(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** conv1d: x [B, Cin, T], w [Cout, Cin/groups, K], bias [Cout]? -> [B, Cout, Tout], optional exact GELU. */
export function conv1dRef(
  x: Float64Array, xs: readonly number[], w: Float64Array, ws: readonly number[], bias: Float64Array | null,
  a: { stride: number; padding: number; groups: number; activation: 'gelu' | 'none' },
): { y: Float64Array; shape: number[] } {
  const [B, Cin, T] = xs;
  const [Cout, cig, K] = ws;
  const G = a.groups, cog = Cout / G;
  const Tout = Math.max(0, Math.floor((T + 2 * a.padding - K) / a.stride) + 1);
  const y = new Float64Array(B * Cout * Tout);
  for (let b = 0; b < B; b++)
    for (let co = 0; co < Cout; co++) {
      const g = Math.floor(co / cog);
      for (let t = 0; t < Tout; t++) {
        let acc = bias ? bias[co] : 0;
        for (let ci = 0; ci < cig; ci++) {
          const xo = (b * Cin + g * cig + ci) * T, wo = (co * cig + ci) * K;
          for (let k = 0; k < K; k++) {
            const p = t * a.stride - a.padding + k;
            if (p >= 0 && p < T) acc += w[wo + k] * x[xo + p];
          }
        }
        y[(b * Cout + co) * Tout + t] = a.activation === 'gelu' ? 0.5 * acc * (1 + erf(acc / Math.SQRT2)) : acc;
      }
    }
  return { y, shape: [B, Cout, Tout] };
}

/** conv2d: x [B, Cin, H, W], w [Cout, Cin, kh, kw], bias? -> [B, Cout, Ho, Wo]. */
export function conv2dRef(
  x: Float64Array, xs: readonly number[], w: Float64Array, ws: readonly number[], bias: Float64Array | null,
  a: { stride: [number, number]; padding: [number, number] },
): { y: Float64Array; shape: number[] } {
  const [B, Cin, H, W] = xs;
  const [Cout, , kh, kw] = ws;
  const Ho = Math.max(0, Math.floor((H + 2 * a.padding[0] - kh) / a.stride[0]) + 1);
  const Wo = Math.max(0, Math.floor((W + 2 * a.padding[1] - kw) / a.stride[1]) + 1);
  const y = new Float64Array(B * Cout * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let co = 0; co < Cout; co++)
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          let acc = bias ? bias[co] : 0;
          for (let ci = 0; ci < Cin; ci++)
            for (let i = 0; i < kh; i++) {
              const r = oh * a.stride[0] - a.padding[0] + i;
              if (r < 0 || r >= H) continue;
              for (let j = 0; j < kw; j++) {
                const c = ow * a.stride[1] - a.padding[1] + j;
                if (c >= 0 && c < W) acc += w[((co * Cin + ci) * kh + i) * kw + j] * x[((b * Cin + ci) * H + r) * W + c];
              }
            }
          y[((b * Cout + co) * Ho + oh) * Wo + ow] = acc;
        }
  return { y, shape: [B, Cout, Ho, Wo] };
}

function toTensor(y: Float64Array, shape: number[]): Tensor {
  const t = empty(shape, 'f32', 'cpu');
  (t.storage.host as Float32Array).set(y);
  return t;
}

registerKernel<{ stride: number; padding: number; groups: number; activation: 'gelu' | 'none'; hasBias?: boolean }>('conv1d', 'cpu', ([x, w, bias], a) => {
  const r = conv1dRef(dense(x), x.shape, dense(w), w.shape, a.hasBias ? dense(bias) : null, a);
  return toTensor(r.y, r.shape);
});

registerKernel<{ stride: [number, number]; padding: [number, number]; hasBias?: boolean }>('conv2d', 'cpu', ([x, w, bias], a) => {
  const r = conv2dRef(dense(x), x.shape, dense(w), w.shape, a.hasBias ? dense(bias) : null, a);
  return toTensor(r.y, r.shape);
});
