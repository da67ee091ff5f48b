// CPU reference kernels for the matmul group (registered on import): plain loops over strided views, float64
// accumulation, every option of the op (transposes, broadcast batches, bias, activation, residual, alpha).
import type { MatmulAttrs } from '../signatures.js';
import { matmulInputs, matmulShapes } from '../signatures.js';
import { broadcastStrides, contiguousStrides, sizeOf } from '../../tensor/shape.js';
import { Tensor, empty } from '../../tensor/tensor.js';
import { UNARY_CPU } from '../elementwise-defs.js';
import { registerKernel } from '../registry.js';

/** The activation functions of the matmul epilogue (the same definitions as the elementwise ops). */
export const MATMUL_ACT_CPU: Record<MatmulAttrs['activation'], (x: number) => number> = {
  none: (x) => x,
  relu: (x) => UNARY_CPU.relu(x, 0, 0),
  gelu: (x) => UNARY_CPU.gelu(x, 0, 0),
  silu: (x) => UNARY_CPU.silu(x, 0, 0),
};

export function matmulCpu(inputs: Tensor[], attrs: MatmulAttrs): Tensor {
  const { a, b, bias, residual } = matmulInputs(inputs, attrs);
  const { batch, M, K, N, out } = matmulShapes(a, b, attrs.transA, attrs.transB);
  const o = empty(out, 'f32', 'cpu');
  const y = o.storage.host!;
  const ah = a.storage.host!, bh = b.storage.host!;
  const ar = a.rank, br = b.rank;
  const sAm = attrs.transA ? a.strides[ar - 1] : a.strides[ar - 2];
  const sAk = attrs.transA ? a.strides[ar - 2] : a.strides[ar - 1];
  const sBk = attrs.transB ? b.strides[br - 1] : b.strides[br - 2];
  const sBn = attrs.transB ? b.strides[br - 2] : b.strides[br - 1];
  const aB = broadcastStrides(a.shape.slice(0, -2), a.strides.slice(0, -2), batch);
  const bB = broadcastStrides(b.shape.slice(0, -2), b.strides.slice(0, -2), batch);
  const biasV = bias ? bias.dataSync() : null;
  let resH: ArrayLike<number> | null = null, rS: number[] = [], rOff = 0;
  if (residual) {
    resH = residual.storage.host!;
    rS = broadcastStrides(residual.shape, residual.strides, out);
    rOff = residual.offset;
  }
  const act = MATMUL_ACT_CPU[attrs.activation];
  const alpha = attrs.alpha;
  const nb = sizeOf(batch);
  const bStr = contiguousStrides(batch);
  for (let z = 0; z < nb; z++) {
    let ao = a.offset, bo = b.offset, ro = rOff;
    for (let d = 0; d < batch.length; d++) {
      const i = Math.floor(z / bStr[d]) % batch[d];
      ao += i * aB[d];
      bo += i * bB[d];
      if (residual) ro += i * rS[d];
    }
    for (let m = 0; m < M; m++) {
      const am = ao + m * sAm;
      for (let n = 0; n < N; n++) {
        const bn = bo + n * sBn;
        let s = 0;
        for (let k = 0; k < K; k++) s += ah[am + k * sAk] * bh[bn + k * sBk];
        let v = alpha * s;
        if (biasV) v += biasV[n];
        v = act(v);
        if (resH) v += resH[ro + m * rS[batch.length] + n * rS[batch.length + 1]];
        y[(z * M + m) * N + n] = v;
      }
    }
  }
  return o;
}

registerKernel<MatmulAttrs>('matmul', 'cpu', (inputs, attrs) => matmulCpu(inputs, attrs));
