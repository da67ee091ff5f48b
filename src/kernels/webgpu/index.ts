import type { DType } from '../../tensor/dtype.js';
import { BINARY_WGSL, UNARY_WGSL } from '../elementwise-defs.js';
import { registerKernel } from '../registry.js';
import { copy } from './copy.js';
import { elementwise } from './elementwise.js';

for (const op of Object.keys(UNARY_WGSL)) {
  registerKernel<{ alpha?: number; beta?: number }>(op, 'webgpu', ([x], a) => elementwise(op, [x], a.alpha ?? 0, a.beta ?? 0));
}
for (const op of Object.keys(BINARY_WGSL)) {
  registerKernel<{ alpha?: number }>(op, 'webgpu', ([x, y], a) => elementwise(op, [x, y], a.alpha ?? 0));
}
registerKernel('contiguous', 'webgpu', ([x]) => copy(x));
registerKernel<{ dtype: DType }>('cast', 'webgpu', ([x], { dtype }) => copy(x, dtype));
import './matmul-index.js';
import './reduce-index.js';
import './attention-index.js';
import './conv-index.js';
import './quant-index.js';
