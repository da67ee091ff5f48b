// WebGPU kernels for the matmul group (registered on import): builds a strided plan of the problem (folding
// the batch into M when b is shared), then picks the GEMV kernel for M == 1 with a K-contiguous weight and
// the register-blocked kernel otherwise.
import type { MatmulAttrs } from '../signatures.js';
import { matmulInputs, matmulShapes } from '../signatures.js';
import { broadcastStrides } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerKernel } from '../registry.js';
import { GEMV_MAX_ROWS, gemv } from './gemv.js';
import { MatmulPlan, MatView, matmulRegister } from './matmul.js';
import { newOutput } from './util.js';

/**
 * Row stride of the batch dims and M folded into one dimension when a view allows it (null otherwise).
 * `bs` are the batch strides over `batch`, `sm` the row stride.
 */
function foldedRowStride(batch: number[], bs: number[], M: number, sm: number): number | null {
  let rowStride = sm;
  let expected = M === 1 ? null : sm * M;
  for (let d = batch.length - 1; d >= 0; d--) {
    if (batch[d] === 1) continue;
    if (expected === null) {
      // M == 1: the innermost non-trivial batch dim sets the row stride
      rowStride = bs[d];
      expected = bs[d] * batch[d];
      continue;
    }
    if (bs[d] !== expected) return null;
    expected *= batch[d];
  }
  return rowStride;
}

export function makePlan(inputs: Tensor[], attrs: MatmulAttrs): MatmulPlan {
  const { a, b, bias, residual } = matmulInputs(inputs, attrs);
  const dev = a.device!;
  const { batch, M, K, N, out } = matmulShapes(a, b, attrs.transA, attrs.transB);
  const y = newOutput(dev, out);
  const ar = a.rank, br = b.rank;
  const view = (t: Tensor): MatView => ({ t, off: t.offset, bs: broadcastStrides(t.shape.slice(0, -2), t.strides.slice(0, -2), batch) });
  const plan: MatmulPlan = {
    dev,
    batch: [...batch],
    M,
    N,
    K,
    a: view(a),
    sAm: attrs.transA ? a.strides[ar - 1] : a.strides[ar - 2],
    sAk: attrs.transA ? a.strides[ar - 2] : a.strides[ar - 1],
    b: view(b),
    sBk: attrs.transB ? b.strides[br - 1] : b.strides[br - 2],
    sBn: attrs.transB ? b.strides[br - 2] : b.strides[br - 1],
    bias,
    res: null,
    y,
    alpha: attrs.alpha,
    act: attrs.activation,
  };
  // Size-1 dims may carry any stride: normalise so layout checks see the canonical one.
  if (M === 1) plan.sAm = 0;
  if (N === 1) plan.sBn = 0;
  if (K === 1) (plan.sAk = 0), (plan.sBk = 0);
  if (residual) {
    const rs = broadcastStrides(residual.shape, residual.strides, out);
    const R = batch.length;
    plan.res = { t: residual, off: residual.offset, bs: rs.slice(0, R), sm: M === 1 ? 0 : rs[R], sn: N === 1 ? 0 : rs[R + 1] };
  }
  // Fold the batch into M when b is shared by every batch and a, the output (contiguous) and the residual can
  // be walked as one [batch*M] row dimension.
  if (batch.length && plan.b.bs.every((s) => s === 0)) {
    const fa = foldedRowStride(batch, plan.a.bs, M, plan.sAm);
    const fr = plan.res ? foldedRowStride(batch, plan.res.bs, M, plan.res.sm) : 0;
    if (fa !== null && fr !== null) {
      const nb = batch.reduce((x, v) => x * v, 1);
      plan.M = nb * M;
      plan.sAm = plan.M === 1 ? 0 : fa;
      plan.a.bs = [];
      plan.b.bs = [];
      if (plan.res) {
        plan.res.sm = plan.M === 1 ? 0 : fr;
        plan.res.bs = [];
      }
      plan.batch = [];
    }
  }
  return plan;
}

/**
 * GEMV is used for a few output rows against a weight contiguous along K (decoding), where the register
 * kernel's row tiles would be mostly idle.
 */
export function useGemv(p: MatmulPlan): boolean {
  return p.M >= 1 && p.M <= GEMV_MAX_ROWS && p.batch.length === 0 && (p.sBk === 1 || p.K === 1) && p.N >= 8;
}

export function matmulGpu(inputs: Tensor[], attrs: MatmulAttrs): Tensor {
  const plan = makePlan(inputs, attrs);
  if (useGemv(plan)) gemv(plan);
  else matmulRegister(plan);
  return plan.y;
}

registerKernel<MatmulAttrs>('matmul', 'webgpu', (inputs, attrs) => matmulGpu(inputs, attrs));
