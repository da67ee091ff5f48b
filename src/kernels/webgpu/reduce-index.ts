// WebGPU kernels for the reduce group (registered on import).
import { registerKernel } from '../registry.js';
import { optionalInputs } from '../signatures.js';
import { argmax } from './argmax.js';
import { concat } from './concat.js';
import { crossEntropy, crossEntropyPerRow } from './cross-entropy.js';
import { gather } from './gather.js';
import { layerNorm } from './layernorm.js';
import { reduce, ReduceOp } from './reduce.js';
import { rmsNorm } from './rmsnorm.js';
import { rope, RopeLayout } from './rope.js';
import { softmax } from './softmax.js';

for (const op of ['sum', 'mean', 'max'] as ReduceOp[]) {
  registerKernel<{ axis: number; keepDims: boolean }>(op, 'webgpu', ([x], a) => reduce(x, op, a.axis, a.keepDims));
}
registerKernel<{ axis: number }>('softmax', 'webgpu', ([x], a) => softmax(x, a.axis, false));
registerKernel<{ axis: number }>('logSoftmax', 'webgpu', ([x], a) => softmax(x, a.axis, true));
registerKernel<{ eps: number; hasWeight: boolean; hasBias: boolean }>('layerNorm', 'webgpu', (ins, a) => {
  const [w, b] = optionalInputs(ins, 1, [a.hasWeight, a.hasBias]);
  return layerNorm(ins[0], w ?? null, b ?? null, a.eps);
});
registerKernel<{ eps: number; halfCast?: boolean }>('rmsNorm', 'webgpu', ([x, w], a) => rmsNorm(x, w, a.eps, a.halfCast ?? false));
registerKernel<{ theta: number; layout?: RopeLayout; maxPosition?: number }>('rope', 'webgpu', ([x, p], a) =>
  rope(x, p, a.theta, a.layout ?? 'bhtd', a.maxPosition ?? 0),
);
registerKernel('gather', 'webgpu', ([t, ids]) => gather(t, ids));
registerKernel<{ axis: number }>('concat', 'webgpu', (ins, a) => concat(ins, a.axis));
registerKernel<{ axis: number; keepDims?: boolean }>('argmax', 'webgpu', ([x], a) => argmax(x, a.axis, a.keepDims ?? false));
registerKernel<{ ignoreIndex: number }>('crossEntropy', 'webgpu', ([l, t], a) => crossEntropy(l, t, a.ignoreIndex));
registerKernel<{ ignoreIndex: number }>('crossEntropyPerRow', 'webgpu', ([l, t], a) => crossEntropyPerRow(l, t, a.ignoreIndex));
