// The naive three-pass attention (the bench baseline) against the CPU reference of the fused op.
import { test } from 'uvu';
import * as ops from '../../src/ops/index.js';
import { assertTensorsClose, gpu, pair } from '../helpers/gpu.js';

test('naive attention matches the reference (odd sizes, causal with Tk > Tq, f16 and strided operands)', async () => {
  const dev = await gpu();
  for (const [causal, dt] of [[false, 'f32'], [true, 'f32'], [true, 'f16']] as const) {
    const [qc, qg] = pair(dev, [2, 3, 5, 8], 1, { dtype: dt });
    const [kc, kg] = pair(dev, [2, 3, 7, 8], 2, { dtype: dt });
    // v as a transposed view: non-contiguous strides reach the kernel's metadata
    const [vc, vg] = pair(dev, [2, 3, 8, 7], 3);
    const want = ops.attention(qc, kc, vc.transpose(2, 3), { causal, scale: 0.4 });
    await assertTensorsClose(ops.attentionNaive(qg, kg, vg.transpose(2, 3), { causal, scale: 0.4 }), want, 1e-5, 1e-5, `causal ${causal} ${dt}`);
  }
});

test.run();
