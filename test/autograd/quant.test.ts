// Backward of a linear over a quantized, frozen weight: dX (and a trainable bias / residual) equal the gradients
// of the same linear over the dequantized f32 weight (q4 with bias + SiLU + residual; int8 straight through the
// activation quantization), on the CPU and the GPU, with W dequantized in one chunk or several; W gets no gradient.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../src/index.js';
import { backward, requiresGrad } from '../../src/autograd/index.js';
import { qmatmulGradChunk } from '../../src/autograd/grads/qmatmul.js';
import { mul } from '../../src/ops/elementwise.js';
import { linear } from '../../src/ops/matmul.js';
import { dequantize, quantizeWeight, type QuantFormat } from '../../src/ops/quant.js';
import { sum } from '../../src/ops/reduce.js';
import type { Device } from '../../src/tensor/device.js';
import { fromHost, type Tensor } from '../../src/tensor/tensor.js';
import { assertClose, gpu, randn } from '../helpers/gpu.js';

async function grads(target: 'cpu' | Device, f: QuantFormat, quantized: boolean, act: 'silu' | 'none'): Promise<Float32Array[]> {
  const B = 2, T = 3, K = 45, N = 19;
  const q = quantizeWeight(randn(N * K, 1, 0.2), [N, K], f, target, 32);
  const wd = dequantize(q);
  const x = requiresGrad(fromHost(randn(B * T * K, 2), [B, T, K], 'f32', target));
  const b = requiresGrad(fromHost(randn(N, 3), [N], 'f32', target));
  const r = requiresGrad(fromHost(randn(B * T * N, 4), [B, T, N], 'f32', target));
  const y = linear(x, quantized ? q : wd, b, { activation: act, residual: r });
  const loss = sum(mul(y, fromHost(randn(B * T * N, 5), [B, T, N], 'f32', target)).reshape([-1]), 0);
  backward(loss);
  assert.is(q.packed.grad, null);
  const out = [x, b, r].map((t: Tensor) => t.grad!);
  const v = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  q.dispose();
  return v;
}

test('dX, dBias, dResidual over quantized weights equal those over the dequantized weight', async () => {
  const dev = await gpu();
  for (const target of ['cpu', dev] as const) {
    for (const chunk of [8 * 2 ** 20, 45 * 4]) {
      qmatmulGradChunk.elements = chunk; // 4 rows per chunk: 5 chunks of W
      try {
        const tag = `${target === 'cpu' ? 'cpu' : 'gpu'} chunk ${chunk}`;
        const q = await grads(target, 'q4', true, 'silu'), r = await grads(target, 'q4', false, 'silu');
        ['dx', 'dbias', 'dres'].forEach((n, i) => assertClose(q[i], r[i], 2e-5, 1e-4, `q4 ${n} ${tag}`));
        const q8 = await grads(target, 'int8', true, 'none'), r8 = await grads(target, 'int8', false, 'none');
        ['dx', 'dbias', 'dres'].forEach((n, i) => assertClose(q8[i], r8[i], 2e-5, 1e-4, `int8 ${n} ${tag}`));
      } finally {
        qmatmulGradChunk.elements = 8 * 2 ** 20;
      }
    }
  }
});

test.run();
